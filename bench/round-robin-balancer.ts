/**
 * The tests' TCP round-robin balancer (tests/helpers/round-robin-balancer.ts: HAProxy's
 * `mode tcp`, `balance roundrobin`, `option redispatch`) as a process of its own, for the
 * ingest bench's two-process PostgreSQL target (issue 15). With autocannon's keep-alive
 * connections it splits the connections evenly over the servers.
 *
 * Run as its own process so its CPU time is measured apart from the load generator's:
 *   node --import tsx bench/round-robin-balancer.ts 127.0.0.1:PORT 127.0.0.1:PORT
 * prints `balancing on http://127.0.0.1:PORT` and runs until SIGTERM.
 */
import { startRoundRobinBalancer, type Backend } from '../tests/helpers/round-robin-balancer.js';
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export class BackendAddressError extends Error {}

/** "host:port" as given on the command line; a clear error for anything else. */
export function parseBackend(text: string): Backend {
  const m = /^([^:\s]+):(\d{1,5})$/.exec(text);
  const port = m ? Number(m[2]) : NaN;
  if (!m || port < 1 || port > 65535) throw new BackendAddressError(`backend "${text}" is not host:port (port 1-65535)`);
  return { host: m[1]!, port };
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
