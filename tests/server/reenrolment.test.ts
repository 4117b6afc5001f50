/**
 * Issue 11, hole 2: re-enrolment must not take over a device. The attack as found: anyone
 * with the tenant's enrolment token and a PC's stable id (readable by every user on Linux)
 * enrolled "as" that PC, got its record with a new secret, and locked the real agent out.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeviceDetail } from '../../src/shared/protocol.js';
import { signRequest } from '../../src/core/report/hmac-auth.js';
import { startTestServer, type TestServer } from './helpers/test-server.js';
import { enrol, enrollRequest, signedPost } from './helpers/signed-request.js';
import { heartbeatFor } from './helpers/sample-reports.js';

type Detail = DeviceDetail & { possibleDuplicateOf: string | null };

let srv: TestServer;
beforeAll(async () => {
  srv = await startTestServer({ deviceRateLimit: { capacity: 1000, refillPerSec: 1000 } });
});
afterAll(async () => srv.close());

const detail = async (id: string) => (await srv.admin<Detail>(`/v1/devices/${id}`)).body;
const credOf = (e: { deviceId: string; deviceSecret: string }) => ({ deviceId: e.deviceId, deviceSecret: e.deviceSecret });

/** An enrolment signed with the device's current credential (proof it is that device). */
async function provenEnrol(token: string, stableId: string, cred: { deviceId: string; deviceSecret: string }) {
  const body = Buffer.from(JSON.stringify(enrollRequest(token, stableId)));
  const auth = signRequest(cred, { method: 'POST', path: '/v1/enroll', body, contentEncoding: 'identity' });
  const res = await fetch(srv.url + '/v1/enroll', { method: 'POST', headers: { 'content-type': 'application/json', ...auth }, body });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> & { deviceId: string; deviceSecret: string; reenrolled: boolean; error?: { code: string } } };
}

describe('re-enrolment (hole 2)', () => {
  it('a token and a stolen stable id get a new record flagged as a possible duplicate, never the real one', async () => {
    const token = await srv.createToken('Takeover Dental');
    const real = await enrol(srv.url, token, 'linux-machine-id-0001');
    expect(real.status).toBe(201);
    expect((await signedPost(srv.url, '/v1/heartbeats', credOf(real), heartbeatFor(real.deviceId, { compromised: true }))).status).toBe(200);

    const attacker = await enrol(srv.url, token, 'linux-machine-id-0001', 'RECEPTION-PC');
    expect(attacker.status).toBe(201);
    expect(attacker.reenrolled).toBe(false);
    expect(attacker.deviceId).not.toBe(real.deviceId);
    // The real agent is not locked out, and its compromised status stays visible.
    expect((await signedPost(srv.url, '/v1/heartbeats', credOf(real), heartbeatFor(real.deviceId, { compromised: true }))).status).toBe(200);
    expect((await signedPost(srv.url, '/v1/heartbeats', credOf(attacker), heartbeatFor(attacker.deviceId, { compromised: false }))).status).toBe(200);
    expect(await detail(real.deviceId)).toMatchObject({ status: 'compromised', enrolCount: 1, possibleDuplicateOf: null });
    expect(await detail(attacker.deviceId)).toMatchObject({ status: 'ok', possibleDuplicateOf: real.deviceId });
  });

  it('an enrolment signed with the current credential rotates the secret on the same record', async () => {
    const token = await srv.createToken('Rotate Dental');
    const first = await enrol(srv.url, token, 'hw-uuid-rotate-0001');
    const again = await provenEnrol(token, 'hw-uuid-rotate-0001', credOf(first));
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ deviceId: first.deviceId, reenrolled: true });
    expect((await signedPost(srv.url, '/v1/heartbeats', credOf(first), heartbeatFor(first.deviceId))).body.error?.code).toBe('bad_signature');
    expect((await signedPost(srv.url, '/v1/heartbeats', credOf(again.body), heartbeatFor(first.deviceId))).status).toBe(200);
    expect(await detail(first.deviceId)).toMatchObject({ enrolCount: 2, possibleDuplicateOf: null });
  });

  it('a proof that does not verify, or is for another device, is refused and changes nothing', async () => {
    const token = await srv.createToken('Forged Dental');
    const victim = await enrol(srv.url, token, 'hw-uuid-forged-0001');
    const other = await enrol(srv.url, token, 'hw-uuid-forged-0002');
    const forged = await provenEnrol(token, 'hw-uuid-forged-0001', { deviceId: victim.deviceId, deviceSecret: other.deviceSecret });
    expect(forged.status).toBe(401);
    expect(forged.body.error?.code).toBe('bad_signature');
    // Signed by a real device, but not the one holding this stable id.
    const wrong = await provenEnrol(token, 'hw-uuid-forged-0001', credOf(other));
    expect(wrong.status).toBe(403);
    expect(wrong.body.error?.code).toBe('device_mismatch');
    expect((await signedPost(srv.url, '/v1/heartbeats', credOf(victim), heartbeatFor(victim.deviceId))).status).toBe(200);
    expect(await detail(victim.deviceId)).toMatchObject({ enrolCount: 1 });
  });

  it('a reinstalled PC that lost its state: the partner confirms the new record replaces the old', async () => {
    const token = await srv.createToken('Reinstall Dental');
    const old = await enrol(srv.url, token, 'hw-uuid-reinstall-01');
    const fresh = await enrol(srv.url, token, 'hw-uuid-reinstall-01');
    expect((await detail(fresh.deviceId)).possibleDuplicateOf).toBe(old.deviceId);
    const r = await srv.admin<Detail>(`/v1/devices/${fresh.deviceId}/replace`, { method: 'POST' });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ deviceId: fresh.deviceId, possibleDuplicateOf: null });
    expect((await detail(old.deviceId)).revokedAt).not.toBeNull();
    expect((await signedPost(srv.url, '/v1/heartbeats', credOf(old), heartbeatFor(old.deviceId))).body.error?.code).toBe('revoked_device');
    // The PC now holds the stable id: reinstalled once more, it is flagged against the new record, not refused.
    const third = await enrol(srv.url, token, 'hw-uuid-reinstall-01');
    expect(third.status).toBe(201);
    expect((await detail(third.deviceId)).possibleDuplicateOf).toBe(fresh.deviceId);
    // replace applies only to a flagged record
    expect((await srv.admin(`/v1/devices/${old.deviceId}/replace`, { method: 'POST' })).status).toBe(409);
  });

  it('cloned VM images: each clone gets its own record; the partner keeps them apart', async () => {
    const token = await srv.createToken('Clone Dental');
    const a = await enrol(srv.url, token, 'vm-image-machine-id-1');
    const b = await enrol(srv.url, token, 'vm-image-machine-id-1');
    expect(b.deviceId).not.toBe(a.deviceId);
    const k = await srv.admin<Detail>(`/v1/devices/${b.deviceId}/keep`, { method: 'POST' });
    expect(k.status).toBe(200);
    expect(k.body.possibleDuplicateOf).toBeNull();
    for (const c of [a, b]) expect((await signedPost(srv.url, '/v1/heartbeats', credOf(c), heartbeatFor(c.deviceId))).status).toBe(200);
    expect((await detail(a.deviceId)).revokedAt).toBeNull();
  });

  it('a revoked device still cannot enrol again under its stable id', async () => {
    const token = await srv.createToken('Revoked Dental');
    const d = await enrol(srv.url, token, 'hw-uuid-revoked-0001');
    expect((await srv.admin(`/v1/devices/${d.deviceId}/revoke`, { method: 'POST' })).status).toBe(200);
    const again = await enrol(srv.url, token, 'hw-uuid-revoked-0001');
    expect(again.status).toBe(403);
  });
});
