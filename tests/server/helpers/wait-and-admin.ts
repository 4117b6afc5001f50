/**
 * Two things the server tests with background work (notifications) need: a bounded wait
 * for a condition, and the admin API with the server's admin token.
 */

/** Polls `fn` every 25 ms until it returns a truthy value (returned), for at most `ms`. */
export async function until<T>(what: string, fn: () => T | undefined | false, ms = 10_000): Promise<T> {
  const end = Date.now() + ms;
  for (let i = 0; i < 10_000; i++) {
    const v = fn();
    if (v) return v;
    if (Date.now() > end) break;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** A request to the admin API; a string body is sent as it is, anything else as JSON. */
export function adminApi(server: () => { url: string; adminToken: string }) {
  return async (method: string, path: string, body?: unknown): Promise<{ status: number; body: Record<string, unknown> }> => {
    const srv = server();
    const res = await fetch(srv.url + path, {
      method,
      headers: { authorization: `Bearer ${srv.adminToken}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
}
