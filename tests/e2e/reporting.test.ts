/**
 * End to end, with real processes on loopback: the reference server (`vigil server start`),
 * `vigil run --once`, and a real agent process that is killed with SIGKILL while the server
 * is down. Nothing is lost and nothing is stored twice.
 */
import { newTestDatabaseLocation } from '../server/helpers/test-database.js';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { openSqlDatabase } from '../../src/server/database/open-storage.js';
import { describe, expect, it } from 'vitest';
import type { AlertList, DeviceDetail, DeviceList } from '../../src/shared/protocol.js';
import { connectionAlert } from '../server/helpers/sample-reports.js';
import { startConnectProxy } from '../helpers/connect-proxy.js';
import { childProcesses, type ChildProc as Proc } from './child-process.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const VIGIL = path.join(ROOT, 'tests/server/helpers/vigil-command.ts');
const AGENT = path.join(ROOT, 'tests/e2e/reporting-agent-child.ts');
const ADMIN_TOKEN = 'e2e-admin-token-0123456789abcdef';

const start = childProcesses();

async function startServer(dbFile: string, port = 0): Promise<{ proc: Proc; url: string }> {
  const proc = start(VIGIL, ['server', 'start', '--db', dbFile, '--port', String(port)], { VIGIL_ADMIN_TOKEN: ADMIN_TOKEN });
  const m = await proc.waitFor(/listening on (http:\/\/127\.0\.0\.1:\d+)/);
  return { proc, url: m[1]! };
}

async function stop(p: Proc, signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
  p.child.kill(signal);
  return p.exited;
}

async function createToken(dbFile: string, tenant: string): Promise<string> {
  const p = start(VIGIL, ['server', 'token', 'create', '--tenant', tenant, '--db', dbFile, '--json']);
  expect(await p.exited).toBe(0);
  return JSON.parse(p.out.join('\n')).enrollToken;
}

async function admin<T>(url: string, p: string): Promise<T> {
  const res = await fetch(url + p, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
  expect(res.status).toBe(200);
  return (await res.json()) as T;
}

async function until<T>(what: string, f: () => Promise<T | undefined | false>, ms = 30_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const maxPending = (p: Proc) => Math.max(0, ...p.out.map((l) => /^pending=(\d+)$/.exec(l)).filter((m) => m !== null).map((m) => Number(m![1])));

describe('reporting end to end (real processes)', () => {
  it('vigil run --once enrols, reports its verdict, exits with the scan code, and does not need the token again', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'vigil-e2e-'));
    const dbFile = await newTestDatabaseLocation(dir);
    const token = await createToken(dbFile, 'Acme Dental');
    const server = await startServer(dbFile);
    try {
      const cfg = path.join(dir, 'agent.json');
      await writeFile(cfg, JSON.stringify({ serverUrl: server.url, enrollToken: token, stateDir: 'state', logLevel: 'warn' }));
      const run = start(VIGIL, ['run', '--config', cfg, '--once']);
      const code = await run.exited;
      expect(run.out.join('\n')).toMatch(/^report: delivered as dev_[A-Za-z0-9_-]{22} \(tenant Acme Dental\)$/m);
      const devices = (await admin<DeviceList>(server.url, '/v1/devices')).devices;
      expect(devices).toHaveLength(1);
      const d = devices[0]!;
      expect(d).toMatchObject({ tenant: { name: 'Acme Dental' }, online: true, enrolCount: 1, outbox: { pendingAlerts: 0 } });
      // The exit code is the scan's: the status the partner sees, as RMM scripts see it.
      expect(code).toBe({ ok: 0, attention: 1, compromised: 2, unknown: 3 }[d.status]);

      // The fleet page of the real server process shows the tenant and this PC.
      const signIn = await fetch(server.url + '/login', { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ token: ADMIN_TOKEN }).toString() });
      expect(signIn.status).toBe(303);
      const page = await fetch(server.url + '/', { headers: { cookie: signIn.headers.get('set-cookie')!.split(';')[0]! } });
      expect(page.status).toBe(200);
      const html = await page.text();
      expect(html).toContain('Acme Dental');
      expect(html).toContain(d.hostname.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;'));
      expect(html).toContain(`badge s-${d.status}`);

      // Second run without the token: the stored credential is used, no new enrolment.
      await writeFile(cfg, JSON.stringify({ serverUrl: server.url, stateDir: 'state', logLevel: 'warn' }));
      const again = start(VIGIL, ['run', '--config', cfg, '--once']);
      expect(await again.exited).toBe(code);
      const after = (await admin<DeviceDetail>(server.url, `/v1/devices/${d.deviceId}`));
      expect(after.enrolCount).toBe(1);
      expect(Date.parse(after.lastSeenAt!)).toBeGreaterThan(Date.parse(d.lastSeenAt!));
    } finally {
      await stop(server.proc);
    }
  });

  it('vigil run --once reports through the forward proxy its settings name, and never logs the proxy password', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'vigil-e2e-proxy-'));
    const dbFile = await newTestDatabaseLocation(dir);
    const token = await createToken(dbFile, 'Proxied Ltd');
    const server = await startServer(dbFile);
    const proxy = await startConnectProxy({ credentials: { user: 'svc-vigil', password: 'pr0xy-s3cret' } });
    try {
      const cfg = path.join(dir, 'agent.json');
      const settings = { serverUrl: server.url, enrollToken: token, stateDir: 'state', logLevel: 'info' };
      // Wrong password first: the proxy refuses, nothing reaches the server, the run says so.
      await writeFile(cfg, JSON.stringify({ ...settings, proxy: `http://svc-vigil:wrong@127.0.0.1:${proxy.port}` }));
      const refused = start(VIGIL, ['run', '--config', cfg, '--once']);
      await refused.exited;
      expect(refused.out.join('\n')).toMatch(/^report: not delivered \(cannot reach 127\.0\.0\.1:\d+: Proxy response \(407\)/m);
      expect((await admin<DeviceList>(server.url, '/v1/devices')).devices).toHaveLength(0);

      await writeFile(cfg, JSON.stringify({ ...settings, proxy: `http://svc-vigil:pr0xy-s3cret@127.0.0.1:${proxy.port}` }));
      const run = start(VIGIL, ['run', '--config', cfg, '--once']);
      await run.exited;
      expect(run.out.join('\n')).toMatch(/^report: delivered as dev_/m);
      expect((await admin<DeviceList>(server.url, '/v1/devices')).devices).toMatchObject([{ tenant: { name: 'Proxied Ltd' } }]);
      // Every request of the run went through the tunnel, with the proxy credentials.
      const ok = proxy.seen.filter((r) => r.proxyAuthorization === `Basic ${Buffer.from('svc-vigil:pr0xy-s3cret').toString('base64')}`);
      expect(ok.length).toBeGreaterThanOrEqual(1);
      expect(ok.every((r) => r.method === 'CONNECT' && r.target === new URL(server.url).host)).toBe(true);
      expect(run.err()).toMatch(/"via":"proxy http:\/\/svc-vigil:\*\*\*\*@127\.0\.0\.1:\d+\/"/);
      for (const p of [refused, run]) {
        expect(p.err() + p.out.join('\n')).not.toContain('pr0xy-s3cret');
        expect(p.err() + p.out.join('\n')).not.toContain('wrong@');
      }
    } finally {
      await proxy.close();
      await stop(server.proc);
    }
  });

  it('100 alerts raised while the server is down survive two SIGKILLs of the agent and are stored exactly once', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'vigil-e2e-'));
    const dbFile = await newTestDatabaseLocation(dir);
    const stateDir = path.join(dir, 'agent-state');
    const token = await createToken(dbFile, 'Acme Dental');
    let server = await startServer(dbFile);
    const port = new URL(server.url).port;
    const agentArgs = [JSON.stringify({ serverUrl: server.url, token, stateDir, alerts: 100, everyMs: 15 })];

    // The agent enrols while the server is up; then the server goes down.
    let agent = start(AGENT, agentArgs);
    await agent.waitFor(/^enrolled$/);
    expect(await stop(server.proc)).toBe(0);
    await writeFile(path.join(stateDir, 'go'), '');

    // Kill 1: about a third of the alerts queued.
    await agent.waitFor(/^pending=(3\d|[4-9]\d)$/);
    agent.child.kill('SIGKILL');
    await agent.exited;
    const queuedBeforeKill1 = maxPending(agent);

    // Kill 2: the restarted agent finds everything it had queued, and queues more.
    agent = start(AGENT, agentArgs);
    const reopened1 = Number((await agent.waitFor(/^started pending=(\d+)$/))[1]);
    expect(reopened1).toBeGreaterThanOrEqual(queuedBeforeKill1);
    await agent.waitFor(/^pending=(7\d|[89]\d)$/);
    agent.child.kill('SIGKILL');
    await agent.exited;
    const queuedBeforeKill2 = maxPending(agent);

    // Both come back.
    server = await startServer(dbFile, Number(port));
    agent = start(AGENT, agentArgs);
    const reopened2 = Number((await agent.waitFor(/^started pending=(\d+)$/))[1]);
    expect(reopened2).toBeGreaterThanOrEqual(queuedBeforeKill2);

    const alerts = await until('all 100 alerts on the server', async () => {
      const list = await admin<AlertList>(server.url, '/v1/alerts?limit=1000');
      return list.alerts.length >= 100 && list.alerts;
    });
    await agent.waitFor(/^pending=0$/);
    // Give any straggling resend a chance to (wrongly) add a row, then count in the database.
    await new Promise((r) => setTimeout(r, 500));
    expect(await stop(agent)).toBe(0);
    expect(await stop(server.proc)).toBe(0);

    const expected = Array.from({ length: 100 }, (_, i) => connectionAlert(i).alertId).sort();
    expect(alerts.map((a) => a.alertId).sort()).toEqual(expected);
    const db = await openSqlDatabase(dbFile);
    try {
      const rows = await db.all<{ alert_id: string }>('SELECT alert_id FROM alerts ORDER BY alert_id');
      expect(rows.map((r) => r.alert_id)).toEqual(expected);
      expect(await db.get('SELECT alert_count FROM devices')).toEqual({ alert_count: 100 });
    } finally {
      await db.close();
    }
  });
});
