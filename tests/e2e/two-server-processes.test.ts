/**
 * Issue 15, "Done when": two `vigil server start` processes on two loopback ports over one
 * PostgreSQL database, with a round-robin TCP balancer in front (tests/helpers/
 * round-robin-balancer.ts: HAProxy's `balance roundrobin` + `option redispatch`, no
 * stickiness). Real processes throughout: the servers, and ten production agents (real
 * outbox on disk, the headless agent's kept-alive node:http transport) in
 * tests/e2e/reporting-agent-child.ts.
 *
 * - The two servers start at the same moment on a database with no schema: their
 *   migrations race, and each version is applied once.
 * - One signed request (one nonce) sent to both at once: one 200, one 401 replayed_request,
 *   and the alert stored once.
 * - 1,000 alerts (10 agents x 100) sent through the balancer arrive exactly once, although
 *   one server is SIGKILLed mid-run: the agents carry on through the other, every outbox
 *   drains, and the surviving server lists every device.
 *
 * Runs only in the server-postgres vitest project (it needs a PostgreSQL cluster).
 */
import * as esbuild from 'esbuild';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openSqlDatabase } from '../../src/server/database/open-storage.js';
import { POSTGRES_MIGRATIONS } from '../../src/server/database/postgres-schema.js';
import type { SqlDatabase, SqlValue } from '../../src/server/database/sql-database.js';
import type { DeviceList } from '../../src/shared/protocol.js';
import { createDatabase, sharedAdminUrl } from '../helpers/postgres-cluster.js';
import { backendOf, startRoundRobinBalancer, type RoundRobinBalancer } from '../helpers/round-robin-balancer.js';
import { needsTools } from '../helpers/system-tool.js';
import { connectionAlert } from '../server/helpers/sample-reports.js';
import { enrol, signedPost } from '../server/helpers/signed-request.js';
import { childProcesses, ROOT, type ChildProc } from './child-process.js';

const VIGIL = path.join(ROOT, 'tests/server/helpers/vigil-command.ts');
const AGENT = path.join(ROOT, 'tests/e2e/reporting-agent-child.ts');
const ADMIN_TOKEN = 'e2e-two-servers-admin-token-0123456789';
const AGENTS = 10;
const ALERTS_PER_AGENT = 100;
const TOTAL = AGENTS * ALERTS_PER_AGENT;
/** Every wait of the load phase ends by then (from the moment the agents are told to go). */
const LOAD_DEADLINE_MS = 90_000;

const start = childProcesses();

/**
 * The agent child bundled by esbuild, as the shipped CLI is (scripts/build-cli.ts), and run
 * by plain Node: ten agents through tsx cost this shared 2-core machine about four times the
 * CPU to start (measured: 10.7 s against 2.6 s user time for ten starts).
 */
/** src/core/version.ts reads package.json relative to its own file: in the bundle, the version is inlined (as scripts/build-cli.ts does). */
const versionInlined: esbuild.Plugin = {
  name: 'version-inlined',
  setup(build) {
    build.onLoad({ filter: /[\\/]src[\\/]core[\\/]version\.ts$/ }, async (args) => {
      const from = "(require('../../package.json') as { version: string }).version";
      const text = await readFile(args.path, 'utf8');
      if (text.split(from).length !== 2) throw new Error(`${args.path}: expected "${from}" to inline`);
      const { version } = JSON.parse(await readFile(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
      return { contents: text.replace(from, JSON.stringify(version)), loader: 'ts' };
    });
  },
};

async function bundleAgent(): Promise<string> {
  const outfile = path.join(await mkdtemp(path.join(tmpdir(), 'vigil-agent-bundle-')), 'reporting-agent-child.mjs');
  await esbuild.build({
    entryPoints: [AGENT],
    bundle: true,
    platform: 'node',
    format: 'esm',
    outfile,
    logLevel: 'silent',
    plugins: [versionInlined],
    // CommonJS dependencies in an ES module bundle call require() for Node's own modules.
    banner: { js: "import { createRequire as vigilCreateRequire } from 'node:module'; const require = vigilCreateRequire(import.meta.url);" },
  });
  return outfile;
}
const cleanups: Array<() => Promise<unknown>> = [];
afterAll(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
});

async function startServer(dbUrl: string): Promise<{ proc: ChildProc; url: string }> {
  const proc = start(VIGIL, ['server', 'start', '--db', dbUrl, '--port', '0', '--log-level', 'warn'], { VIGIL_ADMIN_TOKEN: ADMIN_TOKEN });
  const m = await proc.waitFor(/listening on (http:\/\/127\.0\.0\.1:\d+)/, 60_000);
  return { proc, url: m[1]! };
}

async function createToken(dbUrl: string, tenant: string): Promise<string> {
  const p = start(VIGIL, ['server', 'token', 'create', '--tenant', tenant, '--db', dbUrl, '--json']);
  expect(await p.exited, p.err()).toBe(0);
  return (JSON.parse(p.out.join('\n')) as { enrollToken: string }).enrollToken;
}

async function until<T>(what: string, deadline: number, f: () => Promise<T | undefined | false>): Promise<T> {
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const count = async (db: SqlDatabase, sql: string, params: SqlValue[] = []) => Number((await db.get<{ n: number | string }>(sql, params))!.n);
const lastPending = (p: ChildProc) => {
  const lines = p.out.filter((l) => /^(started )?pending=\d+$/.test(l));
  return lines.length ? Number(/(\d+)$/.exec(lines[lines.length - 1]!)![1]) : undefined;
};

describe('two server processes over one PostgreSQL database behind a round-robin balancer (issue 15)', needsTools('initdb', 'pg_ctl'), () => {
  it('migrate once, refuse a replay across processes, and store 1,000 agent alerts exactly once through a SIGKILL of one server', { timeout: 150_000 }, async () => {
    // A fresh database with no schema at all: both servers migrate it, at the same moment.
    const agentBundle = bundleAgent();
    agentBundle.catch(() => {}); // awaited below, where a failure fails the test
    const dbUrl = await createDatabase(await sharedAdminUrl());
    const [a, b] = await Promise.all([startServer(dbUrl), startServer(dbUrl)]);
    const db = await openSqlDatabase(dbUrl);
    cleanups.push(() => db.close());
    const applied = await db.all<{ version: number; n: number | string }>('SELECT version, COUNT(*) AS n FROM schema_migrations GROUP BY version ORDER BY version');
    expect(applied.map((r) => [Number(r.version), Number(r.n)])).toEqual(POSTGRES_MIGRATIONS.map((m) => [m.version, 1]));

    // One signed request, one nonce, sent to both processes at once.
    const replayCred = await enrol(a.url, await createToken(dbUrl, 'Replay Dental'), 'hw-uuid-two-proc-replay-01');
    expect(replayCred.status).toBe(201);
    const body = { deviceId: replayCred.deviceId, alerts: [connectionAlert(1)] };
    const once = { nowMs: Date.now(), nonce: 'one-nonce-for-two-processes-0001' };
    const answers = await Promise.all([signedPost(a.url, '/v1/alerts', replayCred, body, once), signedPost(b.url, '/v1/alerts', replayCred, body, once)]);
    expect(answers.map((r) => r.status).sort()).toEqual([200, 401]);
    expect(answers.find((r) => r.status === 401)!.body.error?.code).toBe('replayed_request');
    expect(answers.find((r) => r.status === 200)!.body.stored).toEqual([connectionAlert(1).alertId]);
    expect(await count(db, 'SELECT COUNT(*) AS n FROM alerts WHERE device_id = ?', [replayCred.deviceId])).toBe(1);

    // The load: ten real agents, each pointed at the balancer.
    const lb: RoundRobinBalancer = await startRoundRobinBalancer([backendOf(a.url), backendOf(b.url)]);
    cleanups.push(() => lb.close());
    const token = await createToken(dbUrl, 'Balanced Clinics');
    const dir = await mkdtemp(path.join(tmpdir(), 'vigil-two-proc-'));
    const agentScript = await agentBundle;
    const spawnedAt = Date.now();
    const agents = Array.from({ length: AGENTS }, (_, i) => {
      const stateDir = path.join(dir, `agent-${i}`);
      const stableId = `hw-uuid-two-proc-agent-${String(i).padStart(3, '0')}`;
      const cfg = { serverUrl: lb.url, token, stateDir, alerts: ALERTS_PER_AGENT, everyMs: 20, stableId, transport: 'node-http' };
      return { stateDir, proc: start(agentScript, [JSON.stringify(cfg)], {}, { tsx: false }) };
    });
    await Promise.all(agents.map((x) => x.proc.waitFor(/^enrolled$/, 60_000)));
    const enrolledIn = Date.now() - spawnedAt;
    const devices = await db.all<{ id: string; stable_id: string }>(
      'SELECT d.id, d.stable_id FROM devices d JOIN tenants t ON t.id = d.tenant_id WHERE t.name = ? ORDER BY d.stable_id',
      ['Balanced Clinics'],
    );
    // Ten devices (the server keeps a derived form of the stable id, not the agent's string).
    expect(new Set(devices.map((d) => d.stable_id)).size).toBe(AGENTS);
    const loadAlerts = `SELECT COUNT(*) AS n FROM alerts WHERE device_id IN (${devices.map(() => '?').join(', ')})`;
    const ids = devices.map((d) => d.id);

    const t0 = Date.now();
    const deadline = t0 + LOAD_DEADLINE_MS;
    await Promise.all(agents.map((x) => writeFile(path.join(x.stateDir, 'go'), '')));

    // Mid-run: some alerts stored, not all. Kill one server outright.
    const atKill = await until('a fifth of the alerts stored', deadline, async () => {
      const n = await count(db, loadAlerts, ids);
      return n >= TOTAL / 5 && n;
    });
    const beforeKill = lb.counts();
    a.proc.child.kill('SIGKILL');
    await a.proc.exited;
    const killedAt = Date.now() - t0;
    expect(atKill).toBeLessThan(TOTAL);
    // Both processes had served agent traffic before the kill: connections, and answers on them
    // (agents keep a connection alive through a burst, so each is pinned to one process for a while).
    for (const c of beforeKill) {
      expect(c.connections).toBeGreaterThan(0);
      expect(c.bytesFromBackend).toBeGreaterThan(0);
    }

    // The agents carry on through the survivor until everything is stored and every outbox is empty.
    await until('all 1,000 alerts stored and every outbox drained', deadline, async () => {
      for (const x of agents) if (x.proc.child.exitCode !== null) throw new Error(`an agent exited (${x.proc.child.exitCode}): ${x.proc.err().slice(-2000)}`);
      return (await count(db, loadAlerts, ids)) >= TOTAL && agents.every((x) => lastPending(x.proc) === 0);
    });
    const drainedAt = Date.now() - t0;
    // Give any straggling resend a chance to (wrongly) add a row, then count in the database.
    await new Promise((r) => setTimeout(r, 500));

    expect(await count(db, loadAlerts, ids)).toBe(TOTAL);
    const expected = Array.from({ length: ALERTS_PER_AGENT }, (_, i) => connectionAlert(i).alertId).sort();
    for (const d of devices) {
      const rows = await db.all<{ alert_id: string }>('SELECT alert_id FROM alerts WHERE device_id = ? ORDER BY alert_id', [d.id]);
      // (device_id, alert_id) is the primary key: the ids each agent raised, each stored once.
      expect(rows.map((r) => r.alert_id), d.stable_id).toEqual(expected);
    }
    expect(await count(db, 'SELECT COALESCE(SUM(alert_count), 0) AS n FROM devices WHERE id IN (' + ids.map(() => '?').join(', ') + ')', ids)).toBe(TOTAL);

    // After the kill, connections first sent to the dead process were redispatched to the live one.
    const after = lb.counts();
    expect(after[0]!.connections).toBe(beforeKill[0]!.connections);
    expect(after[1]!.bytesFromBackend).toBeGreaterThan(beforeKill[1]!.bytesFromBackend);
    expect(after[0]!.failedConnects).toBeGreaterThan(0);
    expect(after[1]!.connections).toBeGreaterThan(beforeKill[1]!.connections);
    expect(lb.refused()).toBe(0);

    // No request failed inside either server (a 5xx is logged as an error; warn is the log level).
    for (const s of [a, b]) expect(s.proc.err()).not.toMatch(/"level":"error"/);

    // The surviving process shows every device.
    const res = await fetch(`${b.url}/v1/devices`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    expect(res.status).toBe(200);
    const listed = ((await res.json()) as DeviceList).devices.filter((d) => d.tenant.name === 'Balanced Clinics');
    expect(listed.map((d) => d.deviceId).sort()).toEqual([...ids].sort());

    console.info(
      `two-server-processes: ${AGENTS} agents started and enrolled in ${enrolledIn} ms; killed server A at ${killedAt} ms with ${atKill}/${TOTAL} stored; all stored and drained at ${drainedAt} ms; ` +
        `balancer connections before kill A=${beforeKill[0]!.connections} B=${beforeKill[1]!.connections}, after A=${after[0]!.connections} (failed connects ${after[0]!.failedConnects}) B=${after[1]!.connections}`,
    );

    for (const x of agents) x.proc.child.kill('SIGTERM');
    expect(await Promise.all(agents.map((x) => x.proc.exited))).toEqual(agents.map(() => 0));
    b.proc.child.kill('SIGTERM');
    expect(await b.proc.exited).toBe(0);
  });
});
