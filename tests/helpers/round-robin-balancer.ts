/**
 * A TCP load balancer for tests (issue 15): what HAProxy does in `mode tcp` with
 * `balance roundrobin` and `option redispatch`, and nothing more. Each new client
 * connection goes to the next backend in turn; when connecting to that backend fails
 * (a killed server process: ECONNREFUSED), the connection is tried on the next one, each
 * backend at most once. No stickiness: a client's kept-alive connection stays where it was
 * put, its next connection may land anywhere. When either side closes or breaks, so does
 * the other (a client sees the backend's death as a reset, as behind a real balancer).
 *
 * It counts, per backend, the connections it carried and the connects that failed, so a
 * test can prove that every backend served traffic and that dead ones were skipped.
 */
import { connect, createServer, type Socket } from 'node:net';

export interface Backend {
  host: string;
  port: number;
}

export interface BackendCounts {
  /** Client connections carried to this backend. */
  connections: number;
  /** Connects to this backend that failed (the client was redispatched, or refused). */
  failedConnects: number;
  /** Bytes this backend sent back to clients (proof that it answered, not only accepted). */
  bytesFromBackend: number;
}

export interface RoundRobinBalancer {
  port: number;
  /** http://127.0.0.1:PORT */
  url: string;
  /** Counts per backend, in the order given. */
  counts(): BackendCounts[];
  /** Client connections no backend would take (closed at once). */
  refused(): number;
  /** Stops listening and destroys every connection; resolves when the listener is closed. */
  close(): Promise<void>;
}

/** Bounds a connect to a backend that neither answers nor refuses (a dropped SYN). */
const CONNECT_TIMEOUT_MS = 2_000;

export function backendOf(url: string): Backend {
  const u = new URL(url);
  return { host: u.hostname, port: Number(u.port) };
}

export async function startRoundRobinBalancer(backends: Backend[]): Promise<RoundRobinBalancer> {
  if (backends.length === 0) throw new Error('a balancer needs at least one backend');
  const counts: BackendCounts[] = backends.map(() => ({ connections: 0, failedConnects: 0, bytesFromBackend: 0 }));
  const sockets = new Set<Socket>();
  let next = 0;
  let refused = 0;
  const track = (s: Socket) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  };

  const server = createServer({ pauseOnConnect: true }, (client) => {
    track(client);
    client.on('error', () => {}); // a client reset: the close handler below ends the pair
    const first = next;
    next = (next + 1) % backends.length;
    const attempt = (tried: number) => {
      if (client.destroyed) return;
      if (tried === backends.length) {
        refused++;
        client.destroy();
        return;
      }
      const i = (first + tried) % backends.length;
      const upstream = connect({ host: backends[i]!.host, port: backends[i]!.port });
      track(upstream);
      upstream.setTimeout(CONNECT_TIMEOUT_MS, () => upstream.destroy(new Error('connect timed out')));
      const failed = () => {
        counts[i]!.failedConnects++;
        attempt(tried + 1);
      };
      upstream.once('error', failed);
      upstream.once('connect', () => {
        upstream.setTimeout(0);
        upstream.removeListener('error', failed);
        counts[i]!.connections++;
        upstream.on('error', () => {});
        upstream.on('data', (d: Buffer) => (counts[i]!.bytesFromBackend += d.length));
        // Either side gone: end the other at once (a reset, not a half-close).
        upstream.once('close', () => client.destroy());
        client.once('close', () => upstream.destroy());
        client.pipe(upstream);
        upstream.pipe(client);
        client.resume();
      });
    };
    attempt(0);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const addr = server.address();
  if (typeof addr !== 'object' || !addr) throw new Error('the balancer has no address');
  return {
    port: addr.port,
    url: `http://127.0.0.1:${addr.port}`,
    counts: () => counts.map((c) => ({ ...c })),
    refused: () => refused,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      }),
  };
}
