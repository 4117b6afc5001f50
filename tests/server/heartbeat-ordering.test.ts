/**
 * Issue 11, hole 1: a heartbeat dated in the future must not freeze a device's status.
 * The attack as it was found: one signed heartbeat with sentAt in 2099 and status OK, then
 * the device's real heartbeats (including a compromised one) stayed invisible.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeviceDetail, Heartbeat } from '../../src/shared/protocol.js';
import { startTestServer, type TestServer } from './helpers/test-server.js';
import { enrol, signedPost } from './helpers/signed-request.js';
import { heartbeatFor } from './helpers/sample-reports.js';

let srv: TestServer;
beforeAll(async () => {
  srv = await startTestServer({ deviceRateLimit: { capacity: 1000, refillPerSec: 1000 } });
});
afterAll(async () => srv.close());

async function device(stableId: string) {
  const e = await enrol(srv.url, await srv.createToken('Ordering Dental'), stableId);
  expect(e.status).toBe(201);
  return { deviceId: e.deviceId, deviceSecret: e.deviceSecret };
}

const status = async (id: string) => (await srv.admin<DeviceDetail>(`/v1/devices/${id}`)).body.status;

describe('heartbeat ordering (hole 1)', () => {
  it('refuses a heartbeat dated beyond the replay window, and a later real compromised one is shown', async () => {
    const cred = await device('hw-uuid-future-0001');
    const future = await signedPost(srv.url, '/v1/heartbeats', cred, heartbeatFor(cred.deviceId, { sentAt: new Date('2099-01-01T00:00:00Z'), compromised: false }));
    expect(future.status).toBe(400);
    expect(future.body.error?.code).toBe('invalid_request');
    expect(future.body.error?.message).toMatch(/sentAt/);
    const real = await signedPost(srv.url, '/v1/heartbeats', cred, heartbeatFor(cred.deviceId, { compromised: true }));
    expect(real.status).toBe(200);
    expect(await status(cred.deviceId)).toBe('compromised');
  });

  it('a heartbeat just inside the window (clock skew) is kept, and does not hide the next one', async () => {
    const cred = await device('hw-uuid-skew-0001');
    const skewed = await signedPost(srv.url, '/v1/heartbeats', cred, heartbeatFor(cred.deviceId, { sentAt: new Date(Date.now() + 200_000), compromised: false }));
    expect(skewed.status).toBe(200);
    expect(await status(cred.deviceId)).toBe('ok');
    // The next heartbeat from a correct clock is "older" by sentAt, but received later.
    await signedPost(srv.url, '/v1/heartbeats', cred, heartbeatFor(cred.deviceId, { compromised: true }));
    expect(await status(cred.deviceId)).toBe('compromised');
  });

  it('orders by the sequence number, not sentAt; a stale one delivered late is ignored', async () => {
    const cred = await device('hw-uuid-seq-0001');
    const hb = (seq: number, compromised: boolean, sentAt = new Date()): Heartbeat => ({ ...heartbeatFor(cred.deviceId, { compromised, sentAt }), seq });
    expect((await signedPost(srv.url, '/v1/heartbeats', cred, hb(5, true))).status).toBe(200);
    expect((await signedPost(srv.url, '/v1/heartbeats', cred, hb(7, false, new Date(Date.now() - 60_000)))).status).toBe(200);
    // seq 7 is newer although its clock said earlier
    expect(await status(cred.deviceId)).toBe('ok');
    // seq 6 arrives late (a retry): not current
    expect((await signedPost(srv.url, '/v1/heartbeats', cred, hb(6, false))).status).toBe(200);
    const d = (await srv.admin<DeviceDetail & { heartbeatSeq?: number }>(`/v1/devices/${cred.deviceId}`)).body;
    expect(d.status).toBe('ok');
    expect(d.heartbeatSeq).toBe(7);
  });

  it('a compromised status is never hidden by an OK that claims a higher sequence number', async () => {
    const cred = await device('hw-uuid-seq-0002');
    const hb = (seq: number, compromised: boolean): Heartbeat => ({ ...heartbeatFor(cred.deviceId, { compromised }), seq });
    expect((await signedPost(srv.url, '/v1/heartbeats', cred, hb(1_000_000_000, false))).status).toBe(200);
    expect(await status(cred.deviceId)).toBe('ok');
    // The real agent is at seq 12 and finds the compromise.
    expect((await signedPost(srv.url, '/v1/heartbeats', cred, hb(12, true))).status).toBe(200);
    expect(await status(cred.deviceId)).toBe('compromised');
    // ... and its next heartbeats are current again (the inflated number no longer rules).
    expect((await signedPost(srv.url, '/v1/heartbeats', cred, hb(13, true))).status).toBe(200);
    const d = (await srv.admin<DeviceDetail & { heartbeatSeq?: number }>(`/v1/devices/${cred.deviceId}`)).body;
    expect(d.heartbeatSeq).toBe(13);
  });

  it('an old agent without seq still works: later heartbeats replace earlier ones', async () => {
    const cred = await device('hw-uuid-noseq-0001');
    expect((await signedPost(srv.url, '/v1/heartbeats', cred, heartbeatFor(cred.deviceId, { compromised: false, sentAt: new Date(Date.now() - 5000) }))).status).toBe(200);
    expect((await signedPost(srv.url, '/v1/heartbeats', cred, heartbeatFor(cred.deviceId, { compromised: true }))).status).toBe(200);
    expect(await status(cred.deviceId)).toBe('compromised');
    // An older one delivered late is not current.
    expect((await signedPost(srv.url, '/v1/heartbeats', cred, heartbeatFor(cred.deviceId, { compromised: false, sentAt: new Date(Date.now() - 30_000) }))).status).toBe(200);
    expect(await status(cred.deviceId)).toBe('compromised');
  });
});

describe('the heartbeat-ordering migration (version 4)', () => {
  it('caps a future-dated heartbeat stored before the fix at the time it was last seen', async () => {
    const { default: Database } = await import('better-sqlite3');
    const { MIGRATIONS, migrate } = await import('../../src/server/database/migrations.js');
    const db = new Database(':memory:');
    migrate(db, MIGRATIONS.filter((m) => m.version === 1));
    db.prepare("INSERT INTO tenants (id, name, created_at) VALUES ('ten_1', 'Old Dental', 0)").run();
    const seen = Date.parse('2026-11-20T09:00:00Z');
    db.prepare(
      `INSERT INTO devices (id, tenant_id, stable_id, stable_id_source, secret, hostname, platform, agent_version, enrolled_at, heartbeat_interval_sec, last_seen_at, heartbeat_sent_at, status)
       VALUES ('dev_AAAAAAAAAAAAAAAAAAAAAA', 'ten_1', 'hw-1', 'hardware', x'00', 'PC', 'windows', '0.1.0', 0, 60, ?, ?, 'ok')`,
    ).run(seen, Date.parse('2099-01-01T00:00:00Z'));
    migrate(db);
    expect(db.prepare('SELECT heartbeat_sent_at AS t, heartbeat_seq AS s FROM devices').get()).toEqual({ t: seen, s: null });
    db.close();
  });
});
