/**
 * Fleet response on the real server (fastify + SQLite on loopback, real HTTP): pack keys,
 * publishing (and every refusal, with its reason), listing, withdrawing, the heartbeat
 * response's pack list and check-now request, the signed pack fetch (ETag, gzip), and the
 * temporary heartbeat interval.
 */
import { createHash } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { generatePackKey, signPack } from '../../src/core/pack/pack-signature.js';
import { signRequest, type DeviceCredential } from '../../src/core/report/hmac-auth.js';
import { HeartbeatResponseSchema } from '../../src/shared/protocol.js';
import { PublicationViewSchema, ScanRequestViewSchema } from '../../src/shared/fleet-protocol.js';
import { testPack } from '../helpers/test-pack.js';
import { heartbeatFor } from './helpers/sample-reports.js';
import { enrol, signedPost } from './helpers/signed-request.js';
import { startTestServer, type TestServer } from './helpers/test-server.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- response bodies checked field by field
type Json = any;

const partner = generatePackKey('acme-2026');
const stranger = generatePackKey('mallory');
let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

const envelope = (version: number, key = partner) => Buffer.from(JSON.stringify(signPack(testPack({ version }), key.keyId, key.privateKeyPem), null, 2) + '\n');

async function admin(s: TestServer, method: string, p: string, body?: Buffer | object): Promise<{ status: number; body: Json }> {
  const res = await fetch(s.url + p, {
    method,
    headers: { authorization: `Bearer ${s.adminToken}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    ...(body ? { body: Buffer.isBuffer(body) ? body : JSON.stringify(body) } : {}),
  });
  return { status: res.status, body: await res.json() };
}

async function device(s: TestServer, tenant: string, stable: string): Promise<DeviceCredential> {
  const e = await enrol(s.url, await s.createToken(tenant), stable);
  return { deviceId: e.deviceId, deviceSecret: e.deviceSecret };
}

async function beat(s: TestServer, cred: DeviceCredential, extra: Record<string, unknown> = {}) {
  const res = await signedPost(s.url, '/v1/heartbeats', cred, { ...heartbeatFor(cred.deviceId, { sentAt: new Date() }), ...extra });
  expect(res.status).toBe(200);
  return HeartbeatResponseSchema.parse(res.body);
}

async function fetchPack(s: TestServer, cred: DeviceCredential, id: string, version: number, headers: Record<string, string> = {}) {
  const p = `/v1/packs/${id}/${version}`;
  const auth = signRequest(cred, { method: 'GET', path: p, body: new Uint8Array(0) });
  return fetch(s.url + p, { headers: { ...auth, ...headers } });
}

describe('publishing packs', () => {
  it('accepts only signed envelopes by an accepted key, at a higher version, and says why it refuses', async () => {
    const s = (server = await startTestServer());
    await device(s, 'Acme Dental', 'stable-acme-0001');
    const v1 = envelope(1);
    expect((await admin(s, 'POST', '/v1/packs?all=true', v1)).body.error.message).toMatch(/accepts no pack keys yet/);
    expect((await admin(s, 'POST', '/v1/pack-keys', { keyId: 'acme-2026', publicKey: 'short' })).status).toBe(400);
    expect((await admin(s, 'POST', '/v1/pack-keys', { keyId: partner.keyId, publicKey: partner.publicKey })).status).toBe(201);

    const refusals: Array<[Buffer, string, RegExp]> = [
      [Buffer.from(JSON.stringify(testPack({ version: 1 }))), 'all=true', /not signed: sign it with `vigil pack sign`/],
      [envelope(1, stranger), 'all=true', /key "mallory" is not trusted/],
      [Buffer.from('{"signatures": [], "pack": {}'), 'all=true', /not valid JSON/],
      [Buffer.from(JSON.stringify(signPack(testPack({ version: 1, sources: [] }), partner.keyId, partner.privateKeyPem))), 'all=true', /sources/],
      [v1, 'tenant=Nobody', /no tenant named "Nobody"/],
    ];
    for (const [body, q, reason] of refusals) {
      const r = await admin(s, 'POST', `/v1/packs?${q}`, body);
      expect(r.status, String(reason)).toBeGreaterThanOrEqual(400);
      expect(r.body.error.message).toMatch(reason);
    }
    expect((await admin(s, 'POST', '/v1/packs', v1)).body.error.message).toMatch(/tenant=NAME or all=true/);

    const pub = await admin(s, 'POST', '/v1/packs?all=true&by=alice', v1);
    expect(pub.status).toBe(201);
    expect(PublicationViewSchema.parse(pub.body)).toMatchObject({
      packId: 'test-softphone-2023', version: 1, tenant: null, signerKeyId: 'acme-2026', publishedBy: 'alice',
      sha256: createHash('sha256').update(v1).digest('hex'), size: v1.length, withdrawnAt: null,
    });
    expect((await admin(s, 'POST', '/v1/packs?all=true', v1)).body.error.message).toMatch(/v1 is already published to every tenant; publish a higher version/);
    expect((await admin(s, 'POST', '/v1/packs?tenant=Acme%20Dental', envelope(2))).status).toBe(201);
    const list = await admin(s, 'GET', '/v1/packs');
    expect(list.body.packs.map((p: Json) => `${p.packId}@${p.version}:${p.tenant}`)).toEqual(['test-softphone-2023@2:Acme Dental', 'test-softphone-2023@1:null']);
  });
});

describe('distribution to devices', () => {
  it('lists the tenant\'s highest version in the heartbeat response; the device fetches those exact bytes (ETag, gzip); withdrawal empties the list', async () => {
    const s = (server = await startTestServer());
    const acme = await device(s, 'Acme Dental', 'stable-acme-0001');
    const other = await device(s, 'Other Ltd', 'stable-other-001');
    await admin(s, 'POST', '/v1/pack-keys', { keyId: partner.keyId, publicKey: partner.publicKey });
    expect((await beat(s, acme)).packs).toEqual([]);
    const v1 = envelope(1);
    const v2 = envelope(2);
    await admin(s, 'POST', '/v1/packs?all=true', v1);
    await admin(s, 'POST', '/v1/packs?tenant=Acme%20Dental', v2);
    const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
    expect((await beat(s, acme)).packs).toEqual([{ id: 'test-softphone-2023', version: 2, sha256: sha(v2) }]);
    expect((await beat(s, other)).packs).toEqual([{ id: 'test-softphone-2023', version: 1, sha256: sha(v1) }]);

    const plain = await fetchPack(s, acme, 'test-softphone-2023', 2, { 'accept-encoding': 'identity' });
    expect(plain.status).toBe(200);
    expect(plain.headers.get('etag')).toBe(`"${sha(v2)}"`);
    expect(Buffer.from(await plain.arrayBuffer()).equals(v2)).toBe(true);
    // Node's fetch inflates gzip itself; ask with undici's raw header check instead.
    const { request } = await import('undici');
    const p = '/v1/packs/test-softphone-2023/2';
    const gz = await request(s.url + p, { headers: { ...signRequest(acme, { method: 'GET', path: p, body: new Uint8Array(0) }), 'accept-encoding': 'gzip' } });
    expect(gz.headers['content-encoding']).toBe('gzip');
    expect(gunzipSync(Buffer.from(await gz.body.arrayBuffer())).equals(v2)).toBe(true);
    expect((await fetchPack(s, acme, 'test-softphone-2023', 2, { 'if-none-match': `"${sha(v2)}"` })).status).toBe(304);
    // Another tenant's publication is not served to this device, nor a made-up version.
    expect((await fetchPack(s, other, 'test-softphone-2023', 2)).status).toBe(404);
    expect((await fetchPack(s, acme, 'test-softphone-2023', 7)).status).toBe(404);
    // Unsigned and replayed fetches are refused.
    expect((await fetch(s.url + p)).status).toBe(401);
    const auth = signRequest(acme, { method: 'GET', path: p, body: new Uint8Array(0) });
    expect((await fetch(s.url + p, { headers: auth })).status).toBe(200);
    expect((await fetch(s.url + p, { headers: auth })).status).toBe(401);

    const w = await admin(s, 'POST', '/v1/packs/test-softphone-2023/withdraw', { by: 'alice' });
    expect(w.body.withdrawn).toBe(2);
    expect((await beat(s, acme)).packs).toEqual([]);
    expect((await fetchPack(s, acme, 'test-softphone-2023', 2)).status).toBe(404);
    expect((await admin(s, 'GET', '/v1/packs')).body.packs.every((p: Json) => p.withdrawnBy === 'alice')).toBe(true);
  });

  it('check now: the device gets the oldest unanswered request and stops getting it once a heartbeat answers it', async () => {
    const s = (server = await startTestServer());
    const a = await device(s, 'Acme Dental', 'stable-acme-0001');
    const b = await device(s, 'Acme Dental', 'stable-acme-0002');
    const c = await device(s, 'Other Ltd', 'stable-other-001');
    const req = await admin(s, 'POST', '/v1/scan-requests', { tenant: 'Acme Dental', by: 'alice' });
    expect(req.status).toBe(201);
    const view = ScanRequestViewSchema.parse(req.body);
    expect(view).toMatchObject({ scope: 'tenant', targeted: 2, answered: 0, requestedBy: 'alice' });
    expect((await beat(s, a)).scanRequest?.id).toBe(view.requestId);
    expect((await beat(s, c)).scanRequest).toBeUndefined();
    expect((await beat(s, a, { answeredScanRequest: view.requestId })).scanRequest).toBeUndefined();
    expect((await beat(s, b)).scanRequest?.id).toBe(view.requestId);
    expect((await admin(s, 'GET', '/v1/scan-requests')).body.scanRequests[0]).toMatchObject({ answered: 1, targeted: 2 });
    expect((await admin(s, 'POST', '/v1/scan-requests', { tenant: 'Acme Dental', all: true })).status).toBe(400);
    expect((await admin(s, 'POST', '/v1/scan-requests', { deviceId: 'dev_nope' })).status).toBe(404);
    const one = await admin(s, 'POST', '/v1/scan-requests', { deviceId: c.deviceId });
    expect((await beat(s, c)).scanRequest?.id).toBe(one.body.requestId);
  });

  it('a lowered heartbeat interval applies to that tenant only and ends by itself', async () => {
    let now = Date.now();
    const s = (server = await startTestServer({ heartbeatIntervalSec: 60, now: () => now }));
    const a = await device(s, 'Acme Dental', 'stable-acme-0001');
    const c = await device(s, 'Other Ltd', 'stable-other-001');
    expect((await admin(s, 'POST', '/v1/heartbeat-overrides', { tenant: 'Acme Dental', intervalSec: 15, forSec: 7200 })).body).toMatchObject({ tenant: 'Acme Dental', intervalSec: 15 });
    expect((await beat(s, a)).heartbeatIntervalSec).toBe(15);
    expect((await beat(s, c)).heartbeatIntervalSec).toBe(60);
    now += 7201_000;
    const late = await signedPost(s.url, '/v1/heartbeats', a, heartbeatFor(a.deviceId, { sentAt: new Date(now) }), { nowMs: now });
    expect(HeartbeatResponseSchema.parse(late.body).heartbeatIntervalSec).toBe(60);
    expect((await admin(s, 'POST', '/v1/heartbeat-overrides', { tenant: 'Acme Dental', intervalSec: 5, forSec: 60 })).status).toBe(400);
  });
});
