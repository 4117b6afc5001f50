import { mkdtemp, rm } from 'node:fs/promises';
import { gunzipSync } from 'node:zlib';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Reporter } from '../../../src/core/report/reporter.js';
import { JOURNAL_FILE, Outbox, type HeartbeatDraft } from '../../../src/core/report/outbox.js';
import { ProtocolClient } from '../../../src/core/report/protocol-client.js';
import { FileCredentialStore } from '../../../src/core/report/credential-store.js';
import type { FetchLike } from '../../../src/core/report/transport.js';
import { PROTOCOL_LIMITS, type Alert, type AlertList, type DeviceDetail, type DeviceList } from '../../../src/shared/protocol.js';
import { startTestServer, type TestServer } from '../../server/helpers/test-server.js';
import { enrollRequest } from '../../server/helpers/signed-request.js';
import { connectionAlert, heartbeatFor } from '../../server/helpers/sample-reports.js';

const fetchLike: FetchLike = (url, init) => fetch(url, init);
const FAST = { baseMs: 20, capMs: 200, floorMs: 10 };
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function draft(sentAt = new Date()): HeartbeatDraft {
  const { deviceId: _d, outbox: _o, ...d } = heartbeatFor('dev_AAAAAAAAAAAAAAAAAAAAAA', { sentAt });
  return d;
}

async function setup(srv: { url: string } | string, opts: { token?: string; stableId?: string; dir?: string } = {}) {
  const dir = opts.dir ?? (await mkdtemp(path.join(tmpdir(), 'vigil-rep-')));
  const outbox = await Outbox.open({ dir });
  const url = typeof srv === 'string' ? srv : srv.url;
  const reporter = new Reporter({
    client: new ProtocolClient({ serverUrl: new URL(url), fetch: fetchLike, timeoutMs: 2000 }),
    outbox,
    credentials: new FileCredentialStore(dir),
    enrolmentRequest: async () => (opts.token ? enrollRequest(opts.token, opts.stableId ?? 'hw-uuid-reporter-01') : undefined),
    backoff: FAST,
  });
  cleanups.push(async () => {
    await reporter.stop();
    await outbox.close();
  });
  return { dir, outbox, reporter };
}

async function server(opts: Parameters<typeof startTestServer>[0] = {}): Promise<TestServer> {
  const s = await startTestServer(opts);
  cleanups.push(() => s.close().catch(() => undefined));
  return s;
}

describe('Reporter', () => {
  it('enrols, delivers the heartbeat and alerts, and a restarted reporter reuses the credential', async () => {
    const srv = await server();
    const { dir, outbox, reporter } = await setup(srv, { token: await srv.createToken('Acme Dental') });
    await outbox.setHeartbeat(draft());
    for (let i = 0; i < 150; i++) await outbox.enqueueAlert(connectionAlert(i));
    const out = await reporter.flushNow();
    expect(out).toMatchObject({ ok: true, heartbeatSent: true, sentAlerts: 150 });
    expect(outbox.stats()).toMatchObject({ pendingAlerts: 0, heartbeatPending: false });
    const st = reporter.status();
    expect(st).toMatchObject({ enrolment: 'enrolled', tenant: { name: 'Acme Dental' }, lastError: null, serverHeartbeatIntervalSec: 60 });
    expect(st.lastSuccessAt).not.toBeNull();
    expect((await srv.admin<AlertList>('/v1/alerts?limit=1000')).body.alerts).toHaveLength(150);

    // Restart: same state dir, no token needed any more.
    await reporter.stop();
    await outbox.close();
    cleanups.pop();
    const again = await setup(srv, { dir });
    await again.outbox.setHeartbeat(draft());
    expect(await again.reporter.flushNow()).toMatchObject({ ok: true, heartbeatSent: true });
    const d = await srv.admin<DeviceDetail>(`/v1/devices/${st.deviceId}`);
    expect(d.body.enrolCount).toBe(1);
  });

  it('numbers heartbeats across restarts, and an agent that lost its journal (not its credential) is shown again after one round trip', async () => {
    const srv = await server();
    const { dir, outbox, reporter } = await setup(srv, { token: await srv.createToken('Seq Dental') });
    for (let i = 0; i < 3; i++) {
      await outbox.setHeartbeat(draft());
      expect(await reporter.flushNow()).toMatchObject({ ok: true, heartbeatSent: true });
    }
    const id = reporter.status().deviceId!;
    expect((await srv.admin<DeviceDetail>(`/v1/devices/${id}`)).body.heartbeatSeq).toBe(3);
    await reporter.stop();
    await outbox.close();
    cleanups.pop();

    // Restart with the journal: the number continues.
    let again = await setup(srv, { dir });
    await again.outbox.setHeartbeat(draft());
    expect(await again.reporter.flushNow()).toMatchObject({ ok: true });
    expect((await srv.admin<DeviceDetail>(`/v1/devices/${id}`)).body.heartbeatSeq).toBe(4);
    await again.reporter.stop();
    await again.outbox.close();
    cleanups.pop();

    // The journal is lost, the credential kept: the first heartbeat (seq 1) is "older"; the
    // answer carries the server's number, and the next one is shown.
    await rm(path.join(dir, JOURNAL_FILE));
    again = await setup(srv, { dir });
    await again.outbox.setHeartbeat(draft());
    await again.reporter.flushNow();
    expect((await srv.admin<DeviceDetail>(`/v1/devices/${id}`)).body.heartbeatSeq).toBe(4);
    expect(again.outbox.lastHeartbeatSeq()).toBe(4);
    await again.outbox.setHeartbeat(draft());
    await again.reporter.flushNow();
    expect((await srv.admin<DeviceDetail>(`/v1/devices/${id}`)).body.heartbeatSeq).toBe(5);
  });

  it('keeps alerts the server refuses over the device quota, and delivers them once the quota refills', async () => {
    let clock = Date.now();
    const srv = await server({ alertQuota: { capacity: 30, refillPerSec: 1 }, now: () => clock });
    const { outbox, reporter } = await setup(srv, { token: await srv.createToken('Quota Dental') });
    for (let i = 0; i < 50; i++) await outbox.enqueueAlert(connectionAlert(i));
    const out = await reporter.flushNow();
    expect(out).toMatchObject({ ok: false, sentAlerts: 30, failure: { code: 'rate_limited', action: 'retry' } });
    expect(outbox.stats()).toMatchObject({ pendingAlerts: 20, rejectedAlerts: 0, droppedAlerts: 0 });
    clock += 60_000;
    expect(await reporter.flushNow()).toMatchObject({ ok: true, sentAlerts: 20 });
    expect(outbox.stats().pendingAlerts).toBe(0);
    expect((await srv.admin<AlertList>('/v1/alerts?limit=1000')).body.alerts).toHaveLength(50);
  });

  it('keeps everything while the server is down, backs off, and delivers once it is back', async () => {
    const first = await server();
    const token = await first.createToken('Acme Dental');
    const { port, dbFile } = first;
    await first.close();
    const { outbox, reporter } = await setup(`http://127.0.0.1:${port}`, { token });
    await outbox.setHeartbeat(draft());
    await outbox.enqueueAlert(connectionAlert(1));
    const down = await reporter.flushNow();
    expect(down).toMatchObject({ ok: false, failure: { kind: 'network', action: 'retry' } });
    expect(reporter.status().lastError).toMatch(/ECONNREFUSED/);
    expect(reporter.status().nextAttemptAt).not.toBeNull();
    expect(outbox.stats()).toMatchObject({ pendingAlerts: 1, heartbeatPending: true });

    const back = await server({ dbFile, port });
    // The backoff timer retries on its own.
    // Wait for the whole retried pass to settle, not just for the outbox to drain: alerts are
    // removed as the server acknowledges them, before the pass records its outcome.
    for (let i = 0; i < 200 && (outbox.stats().pendingAlerts > 0 || reporter.status().lastError !== null); i++) await new Promise((r) => setTimeout(r, 20));
    expect(outbox.stats()).toMatchObject({ pendingAlerts: 0, heartbeatPending: false });
    expect(reporter.status()).toMatchObject({ enrolment: 'enrolled', lastError: null, nextAttemptAt: null });
    expect((await back.admin<AlertList>('/v1/alerts')).body.alerts).toHaveLength(1);
  });

  it('is blocked, keeping its alerts, when a replaced backend knows neither its device nor its token', async () => {
    const srv1 = await server();
    const { outbox, reporter } = await setup(srv1, { token: await srv1.createToken('T') });
    await outbox.setHeartbeat(draft());
    expect((await reporter.flushNow()).ok).toBe(true);
    // A new, empty backend at the same address (say, restored from an old backup).
    const port = srv1.port;
    await srv1.close();
    await server({ port });
    await outbox.enqueueAlert(connectionAlert(5));
    const r = await reporter.flushNow();
    // unknown_device -> forget the credential and enrol again -> the token is unknown there.
    expect(r).toMatchObject({ ok: false, failure: { code: 'invalid_enroll_token', action: 'blocked' } });
    expect(reporter.status()).toMatchObject({ enrolment: 'blocked', deviceId: null });
    expect(reporter.status().blockedReason).toMatch(/enrolment token/);
    expect(outbox.stats().pendingAlerts).toBe(1);
  });

  it('re-enrols with its token after the server forgot the device, and delivers', async () => {
    const srv = await server();
    const token = await srv.createToken('T');
    const { outbox, reporter } = await setup(srv, { token });
    await outbox.setHeartbeat(draft());
    expect((await reporter.flushNow()).ok).toBe(true);
    const oldId = reporter.status().deviceId!;
    await srv.database.run('DELETE FROM devices WHERE id = ?', [oldId]);
    await outbox.enqueueAlert(connectionAlert(9));
    const r = await reporter.flushNow();
    expect(r).toMatchObject({ ok: true, sentAlerts: 1 });
    const devices = (await srv.admin<DeviceList>('/v1/devices')).body.devices;
    expect(devices).toHaveLength(1);
    expect(devices[0]!.deviceId).not.toBe(oldId);
    expect(reporter.status().deviceId).toBe(devices[0]!.deviceId);
  });

  it('is blocked, and says why, when revoked or when it has neither credential nor token', async () => {
    const srv = await server();
    const { outbox, reporter } = await setup(srv, { token: await srv.createToken('T') });
    await outbox.setHeartbeat(draft());
    await reporter.flushNow();
    await srv.admin(`/v1/devices/${reporter.status().deviceId}/revoke`, { method: 'POST' });
    await outbox.enqueueAlert(connectionAlert(1));
    const t0 = Date.now();
    const r = await reporter.flushNow();
    expect(r).toMatchObject({ ok: false, failure: { code: 'revoked_device', action: 'blocked' } });
    expect(reporter.status().blockedReason).toMatch(/revoked/);
    // A blocked reporter waits the longest backoff, not the shortest (scheduled after t0).
    expect(Date.parse(reporter.status().nextAttemptAt!) - t0).toBeGreaterThanOrEqual(FAST.capMs);
    expect(outbox.stats().pendingAlerts).toBe(1);

    const bare = await setup(srv);
    await bare.outbox.setHeartbeat(draft());
    const n = await bare.reporter.flushNow();
    expect(n).toMatchObject({ ok: false, failure: { action: 'blocked', message: expect.stringMatching(/no enrolment token/) } });
    expect(bare.reporter.status().enrolment).toBe('blocked');
  });

  it('reports the outbox overflow in the heartbeat, and gzips only bodies above the threshold', async () => {
    const srv = await server();
    const sent: Array<{ path: string; encoding: string; jsonBytes: number }> = [];
    const observing: FetchLike = (url, init) => {
      const encoding = init.headers['content-encoding'] ?? 'identity';
      const raw = Buffer.from(init.body ?? new Uint8Array());
      sent.push({ path: new URL(url).pathname, encoding, jsonBytes: (encoding === 'gzip' ? gunzipSync(raw) : raw).length });
      return fetch(url, init);
    };
    const dir = await mkdtemp(path.join(tmpdir(), 'vigil-rep-'));
    const outbox = await Outbox.open({ dir, maxAlerts: 10 });
    const reporter = new Reporter({
      client: new ProtocolClient({ serverUrl: new URL(srv.url), fetch: observing }),
      outbox,
      credentials: new FileCredentialStore(dir),
      enrolmentRequest: async () => enrollRequest(await srv.createToken('Overflow Co'), 'hw-uuid-overflow-1'),
      backoff: FAST,
    });
    cleanups.push(async () => {
      await reporter.stop();
      await outbox.close();
    });
    const outcomes = [];
    for (let i = 0; i < 13; i++) outcomes.push(await outbox.enqueueAlert(connectionAlert(i)));
    expect(outcomes.filter((o) => o === 'overflow')).toHaveLength(3);
    await outbox.setHeartbeat(draft());
    expect(await reporter.flushNow()).toMatchObject({ ok: true, sentAlerts: 10, heartbeatSent: true });

    const device = (await srv.admin<DeviceDetail>(`/v1/devices/${reporter.status().deviceId}`)).body;
    expect(device.outbox).toMatchObject({ pendingAlerts: 0, droppedAlerts: 3, rejectedAlerts: 0 });
    expect(device.alertCount).toBe(10);
    // The fleet page says so too.
    const login = await fetch(srv.url + '/login', { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ token: srv.adminToken }).toString() });
    const page = await (await fetch(srv.url + '/', { headers: { cookie: login.headers.get('set-cookie')!.split(';')[0]! } })).text();
    expect(page).toContain('3 dropped');

    // A batch of ten alerts is above the threshold and went gzipped; the heartbeat is below it.
    const alerts = sent.filter((r) => r.path === '/v1/alerts');
    const heartbeats = sent.filter((r) => r.path === '/v1/heartbeats');
    expect(alerts.map((r) => r.encoding)).toEqual(['gzip']);
    expect(heartbeats.map((r) => r.encoding)).toEqual(['identity']);
    for (const r of sent) expect(r.encoding === 'gzip', JSON.stringify(r)).toBe(r.jsonBytes > PROTOCOL_LIMITS.gzipAboveBytes);
  });

  it('isolates an alert the server refuses, counts it as rejected, and delivers the rest', async () => {
    const srv = await server();
    const { outbox, reporter } = await setup(srv, { token: await srv.createToken('T') });
    const bad: Alert = { ...connectionAlert(2), finding: { ...connectionAlert(2).finding, title: '' } };
    await outbox.enqueueAlert(connectionAlert(1));
    await outbox.enqueueAlert(bad);
    await outbox.enqueueAlert(connectionAlert(3));
    const r = await reporter.flushNow();
    expect(r).toMatchObject({ ok: true, sentAlerts: 2 });
    expect(outbox.stats()).toMatchObject({ pendingAlerts: 0, rejectedAlerts: 1 });
    const stored = (await srv.admin<AlertList>('/v1/alerts')).body.alerts.map((a) => a.alertId).sort();
    expect(stored).toEqual([connectionAlert(1).alertId, connectionAlert(3).alertId].sort());
  });

  it('honours the server rate limit with Retry-After and does not send during backoff', async () => {
    const srv = await server({ deviceRateLimit: { capacity: 2, refillPerSec: 1 } });
    let requests = 0;
    const counting: FetchLike = (url, init) => {
      requests++;
      return fetch(url, init);
    };
    const dir = await mkdtemp(path.join(tmpdir(), 'vigil-rep-'));
    const outbox = await Outbox.open({ dir });
    const reporter = new Reporter({
      client: new ProtocolClient({ serverUrl: new URL(srv.url), fetch: counting }),
      outbox,
      credentials: new FileCredentialStore(dir),
      enrolmentRequest: async () => enrollRequest(await srv.createToken('T'), 'hw-uuid-ratelimit1'),
      backoff: { baseMs: 10, capMs: 5000, floorMs: 10 },
      batchSize: 1,
    });
    cleanups.push(async () => {
      await reporter.stop();
      await outbox.close();
    });
    for (let i = 0; i < 4; i++) await outbox.enqueueAlert(connectionAlert(i));
    const t0 = Date.now();
    const r = await reporter.flushNow();
    expect(r).toMatchObject({ ok: false, sentAlerts: 2, failure: { code: 'rate_limited', retryAfterMs: 1000 } });
    // Scheduled at least Retry-After from when the refusal arrived (which is after t0).
    expect(Date.parse(reporter.status().nextAttemptAt!) - t0).toBeGreaterThanOrEqual(1000);
    const before = requests;
    reporter.trigger(); // new work during backoff waits for the timer
    await new Promise((res) => setTimeout(res, 100));
    expect(requests).toBe(before);
    for (let i = 0; i < 500 && outbox.stats().pendingAlerts > 0; i++) await new Promise((res) => setTimeout(res, 20));
    expect(outbox.stats().pendingAlerts).toBe(0);
  });
});
