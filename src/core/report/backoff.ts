/**
 * When to try again after a failed delivery: exponential backoff with full jitter
 * (a random delay between 0 and min(cap, base * 2^attempt)), so that a fleet of agents
 * that lost the backend at the same moment does not come back at the same moment.
 * A server's Retry-After wins when it asks for longer.
 */
export interface BackoffPolicy {
  baseMs: number;
  capMs: number;
  /** The shortest delay ever returned, so a zero draw does not become a busy loop. */
  floorMs: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { baseMs: 2_000, capMs: 15 * 60_000, floorMs: 500 };

/**
 * Delay before retry number `attempt` (0 for the first retry). `random` returns [0, 1).
 */
export function backoffDelayMs(attempt: number, policy: BackoffPolicy = DEFAULT_BACKOFF, random: () => number = Math.random, retryAfterMs?: number): number {
  const a = Math.max(0, Math.min(Math.floor(attempt), 52));
  const ceiling = Math.min(policy.capMs, policy.baseMs * 2 ** a);
  const r = Math.min(Math.max(random(), 0), 1);
  const jittered = Math.max(policy.floorMs, Math.floor(r * ceiling));
  if (retryAfterMs !== undefined && Number.isFinite(retryAfterMs) && retryAfterMs > jittered) {
    return Math.min(retryAfterMs, policy.capMs);
  }
  return jittered;
}

/** Parses a Retry-After header (delta-seconds or an HTTP date) into milliseconds from now. */
export function parseRetryAfter(value: string | null | undefined, nowMs: number): number | undefined {
  if (!value) return undefined;
  const v = value.trim();
  if (/^\d{1,9}$/.test(v)) return Number(v) * 1000;
  // IMF-fixdate (RFC 9110), the only date form servers send: "Sun, 06 Nov 1994 08:49:37 GMT".
  if (!/^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$/.test(v)) return undefined;
  const at = Date.parse(v);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - nowMs);
}
