import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createAgent, type Agent, type AgentOptions, type AgentState, type ConnectionWatcher } from '../../src/core/agent.js';
import type { FetchLike } from '../../src/core/report/transport.js';
import type { Finding, ScanReport } from '../../src/shared/scan.js';
import type { AlertList, DeviceDetail, DeviceList } from '../../src/shared/protocol.js';
import { startTestServer, type TestServer } from '../server/helpers/test-server.js';
import { connectionFinding, scanReport } from '../server/helpers/sample-reports.js';

const fetchLike: FetchLike = (url, init) => fetch(url, init);
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A watcher the test drives: what the real one (src/core/netwatch) will do on a match. */
class ScriptedWatcher implements ConnectionWatcher {
  onMatch: ((f: Finding) => void) | undefined;
  stopped = false;
  constructor(private readonly failToStart = false) {}
  start(onMatch: (finding: Finding) => void): void {
    if (this.failToStart) throw new Error('netstat is not available');
    this.onMatch = onMatch;
  }
  async stop(): Promise<void> {
    this.stopped = true;
  }
}

async function until(cond: () => boolean | Promise<boolean>, what: string, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function newAgent(srv: TestServer | undefined, over: Partial<AgentOptions> & { scans?: ScanReport[] } = {}) {
  const stateDir = await mkdtemp(path.join(tmpdir(), 'vigil-agent-'));
  let scans = 0;
  const reports = over.scans ?? [scanReport()];
  const agent = createAgent({
    scan: async () => reports[Math.min(scans++, reports.length - 1)]!,
    stateDir,
    scanIntervalMs: 3600_000,
    heartbeatIntervalMs: 60_000,
    ...(srv ? { report: { serverUrl: new URL(srv.url), fetch: fetchLike, enrollToken: await srv.createToken('Acme Dental'), stableIdProbe: async () => ({ hardware: '4C4C4544-0042-3510-8052-B4C04F565931' }) } } : {}),
    ...over,
  });
  cleanups.push(() => agent.stop());
  return { agent, stateDir, scanCount: () => scans };
}

async function server(opts: Parameters<typeof startTestServer>[0] = {}) {
  const s = await startTestServer(opts);
  cleanups.push(() => s.close());
  return s;
}

async function deviceOf(srv: TestServer, agent: Agent): Promise<DeviceDetail> {
  return (await srv.admin<DeviceDetail>(`/v1/devices/${agent.state().report!.deviceId}`)).body;
}

describe('headless agent', () => {
  it('scans at start, enrols, reports the verdict and alerts once per compromised finding, and raises connection matches at once', async () => {
    const srv = await server();
    const watcher = new ScriptedWatcher();
    const { agent } = await newAgent(srv, { watcher });
    const seen: AgentState[] = [];
    const unsubscribe = agent.subscribe((s) => seen.push(s));
    await agent.start();
    await until(async () => agent.state().lastReportAt !== null && agent.state().backlog?.pendingAlerts === 0 && agent.state().backlog?.heartbeatPending === false, 'first report');
    const s = agent.state();
    expect(s).toMatchObject({ phase: 'running', connectionWatch: 'on', verdict: { status: 'compromised' }, lastScanAt: '2026-11-20T09:00:00.000Z', report: { enrolment: 'enrolled', tenant: { name: 'Acme Dental' } } });
    expect(seen.some((x) => x.scanning)).toBe(true);
    const dev = await deviceOf(srv, agent);
    expect(dev).toMatchObject({ status: 'compromised', hostname: 'RECEPTION-PC', stableIdSource: 'hardware', connectionWatch: 'on' });
    expect((await srv.admin<AlertList>('/v1/alerts')).body.alerts.map((a) => a.kind)).toEqual(['finding', 'finding', 'finding']);

    watcher.onMatch!(connectionFinding(1));
    await until(async () => (await srv.admin<AlertList>('/v1/alerts')).body.alerts.length === 4, 'connection alert');
    expect(agent.state().findings.map((f) => f.category)).toContain('network');

    // checkNow scans again; the same compromised findings are not alerted twice.
    await agent.checkNow();
    await until(() => agent.state().backlog?.heartbeatPending === false, 'heartbeat after checkNow');
    expect((await srv.admin<AlertList>('/v1/alerts')).body.alerts).toHaveLength(4);

    unsubscribe();
    const before = seen.length;
    await agent.stop();
    expect(watcher.stopped).toBe(true);
    expect(agent.state().phase).toBe('stopped');
    expect(seen.length).toBe(before);
  });

  it('runOnce enrols, scans once, sends the heartbeat and alerts, and stops', async () => {
    const srv = await server();
    const { agent, scanCount } = await newAgent(srv);
    const out = await agent.runOnce();
    expect(out.scan?.verdict.status).toBe('compromised');
    expect(out.flush).toMatchObject({ ok: true, heartbeatSent: true, sentAlerts: 3 });
    expect(scanCount()).toBe(1);
    expect(agent.state().phase).toBe('stopped');
    const devices = (await srv.admin<DeviceList>('/v1/devices')).body.devices;
    expect(devices).toMatchObject([{ status: 'compromised', alertCount: 3, outbox: { pendingAlerts: 0 } }]);
  });

  it('scans on its schedule', async () => {
    const { agent, scanCount } = await newAgent(undefined, { scanIntervalMs: 50 });
    await agent.start();
    await until(() => scanCount() >= 3, 'three scans');
    expect(agent.state().report).toBeNull();
    expect(agent.state().backlog).toBeNull();
  });

  it('reports a failed scan and a watcher that cannot start as problems, and keeps running', async () => {
    const srv = await server();
    const stateDir = await mkdtemp(path.join(tmpdir(), 'vigil-agent-'));
    const agent = createAgent({
      scan: async () => {
        throw new Error('EACCES reading C:/Users');
      },
      watcher: new ScriptedWatcher(true),
      stateDir,
      scanIntervalMs: 3600_000,
      heartbeatIntervalMs: 60_000,
      report: { serverUrl: new URL(srv.url), fetch: fetchLike, enrollToken: await srv.createToken('T'), stableIdProbe: async () => ({}) },
    });
    cleanups.push(() => agent.stop());
    await agent.start();
    await until(() => agent.state().lastScanError !== null, 'scan failure');
    expect(agent.state()).toMatchObject({ phase: 'running', connectionWatch: 'failed', verdict: null });
    await until(() => agent.state().backlog?.heartbeatPending === false && agent.state().lastReportAt !== null, 'heartbeat');
    const dev = await deviceOf(srv, agent);
    expect(dev).toMatchObject({ status: 'unknown', connectionWatch: 'failed', stableIdSource: 'generated' });
    expect(dev.problems).toEqual(['the connection watcher could not start: netstat is not available', 'the scan failed: EACCES reading C:/Users']);
  });

  it('adopts the heartbeat interval the server asks for', async () => {
    const srv = await server({ heartbeatIntervalSec: 15 });
    const { agent } = await newAgent(srv);
    await agent.start();
    await until(() => agent.state().report?.serverHeartbeatIntervalSec === 15, 'server interval');
    expect((await deviceOf(srv, agent)).heartbeatIntervalSec).toBe(15);
  });

  it('keeps scanning and queueing when the backend is unreachable', async () => {
    const srv = await server();
    const token = await srv.createToken('T');
    const port = srv.port;
    await srv.close();
    cleanups.pop();
    const stateDir = await mkdtemp(path.join(tmpdir(), 'vigil-agent-'));
    const agent = createAgent({
      scan: async () => scanReport(),
      stateDir,
      scanIntervalMs: 3600_000,
      heartbeatIntervalMs: 60_000,
      report: { serverUrl: new URL(`http://127.0.0.1:${port}`), fetch: fetchLike, enrollToken: token, backoff: { baseMs: 60_000, capMs: 60_000, floorMs: 60_000 } },
    });
    cleanups.push(() => agent.stop());
    await agent.start();
    await until(() => agent.state().report?.lastError !== null && agent.state().backlog?.pendingAlerts === 3, 'queued while offline');
    expect(agent.state()).toMatchObject({ verdict: { status: 'compromised' }, lastReportAt: null, report: { enrolment: 'not-enrolled' } });
    expect(agent.state().report!.lastError).toMatch(/cannot reach/);
  });
});
