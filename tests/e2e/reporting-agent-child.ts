/**
 * A real agent process for the end-to-end reporting tests: the production agent
 * (src/core/agent.ts, real outbox on disk, real HTTP via global fetch, real credential
 * store) with a scripted connection watcher that raises `alerts` distinct connection
 * matches, one every `everyMs`, once the file `<stateDir>/go` exists. It prints one line
 * per change the test reads: `enrolled`, `pending=N` (alerts durably queued, not yet
 * delivered) and `started pending=N` (what the outbox held when it was reopened).
 *
 *   node --import tsx tests/e2e/reporting-agent-child.ts '{"serverUrl":...,"token":...,"stateDir":...,"alerts":100,"everyMs":15}'
 *
 * Optional: `"transport":"node-http"` uses the headless agent's transport
 * (src/core/report/node-http-fetch.ts) instead of global fetch.
 */
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { createAgent, type ConnectionWatcher } from '../../src/core/agent.js';
import { createNodeHttpFetch } from '../../src/core/report/node-http-fetch.js';
import type { Finding } from '../../src/shared/scan.js';
import { connectionFinding, scanReport } from '../server/helpers/sample-reports.js';

const cfg = JSON.parse(process.argv[2] ?? '{}') as {
  serverUrl: string;
  token: string;
  stateDir: string;
  alerts: number;
  everyMs: number;
  stableId?: string;
  /** 'node-http': the headless agent's own transport (kept-alive node:http connections); default: global fetch. */
  transport?: 'fetch' | 'node-http';
};
const nodeHttp = cfg.transport === 'node-http' ? createNodeHttpFetch() : undefined;

let timer: NodeJS.Timeout | undefined;
const watcher: ConnectionWatcher = {
  start(onMatch: (f: Finding) => void) {
    let i = 0;
    const tick = () => {
      if (i >= cfg.alerts) return;
      if (existsSync(path.join(cfg.stateDir, 'go'))) onMatch(connectionFinding(i++));
      timer = setTimeout(tick, cfg.everyMs);
    };
    timer = setTimeout(tick, cfg.everyMs);
  },
  async stop() {
    if (timer) clearTimeout(timer);
  },
};

const agent = createAgent({
  scan: async () => scanReport({ compromised: false, startedAt: new Date() }),
  watcher,
  stateDir: cfg.stateDir,
  scanIntervalMs: 3600_000,
  heartbeatIntervalMs: 60_000,
  report: {
    serverUrl: new URL(cfg.serverUrl),
    fetch: nodeHttp ? nodeHttp.fetch : (url, init) => fetch(url, init),
    enrollToken: cfg.token,
    stableIdProbe: async () => ({ hardware: cfg.stableId ?? '4C4C4544-0042-3510-8052-B4C04F565931' }),
    // Retry quickly so the test does not wait for a production backoff.
    backoff: { baseMs: 100, capMs: 500, floorMs: 50 },
  },
});

let lastPending = -1;
let enrolled = false;
agent.subscribe((s) => {
  if (!enrolled && s.report?.enrolment === 'enrolled') {
    enrolled = true;
    process.stdout.write('enrolled\n');
  }
  const p = s.backlog?.pendingAlerts;
  if (p !== undefined && p !== lastPending && lastPending !== -1) process.stdout.write(`pending=${p}\n`);
  if (p !== undefined && lastPending === -1) {
    process.stdout.write(`started pending=${p}\n`);
  }
  if (p !== undefined) lastPending = p;
});
await agent.start();
process.once('SIGTERM', () => {
  void agent.stop().then(() => {
    nodeHttp?.close();
    process.exit(0);
  });
});
