/**
 * A TCP round-robin balancer on loopback for the ingest bench's two-process PostgreSQL
 * target (issue 15): each accepted connection goes to the next backend in turn and its bytes
 * are piped both ways, as a partner's HAProxy or nginx `stream` would in TCP mode. With
 * autocannon's keep-alive connections that splits the connections evenly over the servers.
 *
 * Run as its own process so its CPU time is measured apart from the load generator's:
 *   node --import tsx bench/round-robin-balancer.ts 127.0.0.1:PORT 127.0.0.1:PORT
 * prints `balancing on http://127.0.0.1:PORT` and runs until SIGTERM.
 */
import { createConnection, createServer, type AddressInfo, type Socket } from 'node:net';
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export interface Backend {
  host: string;
  port: number;
}

export interface Balancer {
  port: number;
  close(): Promise<void>;
}

export class BackendAddressError extends Error {}

/** "host:port" as given on the command line; a clear error for anything else. */
export function parseBackend(text: string): Backend {
  const m = /^([^:\s]+):(\d{1,5})$/.exec(text);
  const port = m ? Number(m[2]) : NaN;
  if (!m || port < 1 || port > 65535) throw new BackendAddressError(`backend "${text}" is not host:port (port 1-65535)`);
  return { host: m[1]!, port };
}

export function startRoundRobinBalancer(backends: readonly Backend[], listenPort = 0): Promise<Balancer> {
  if (backends.length === 0) throw new BackendAddressError('a balancer needs at least one backend');
  let next = 0;
  const open = new Set<Socket>();
  const server = createServer((client) => {
    const backend = backends[next++ % backends.length]!;
    const upstream = createConnection(backend.port, backend.host);
    open.add(client).add(upstream);
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    // Either side failing or closing ends the pair: the load generator then sees an error.
    const end = () => {
      client.destroy();
      upstream.destroy();
      open.delete(client);
      open.delete(upstream);
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(listenPort, '127.0.0.1', () => {
      resolve({
        port: (server.address() as AddressInfo).port,
        close: () =>
          new Promise<void>((r) => {
            for (const s of open) s.destroy();
            server.close(() => r());
          }),
      });
    });
  });
}

async function processMain(): Promise<void> {
  const backends = process.argv.slice(2).map(parseBackend);
  const balancer = await startRoundRobinBalancer(backends);
  process.stdout.write(`balancing on http://127.0.0.1:${balancer.port}\n`);
  const stop = () => void balancer.close().then(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

if (process.argv[1] && realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url))) {
  processMain().catch((err: Error) => {
    process.stderr.write(`round-robin-balancer: ${err.message}\n`);
    process.exit(64);
  });
}
