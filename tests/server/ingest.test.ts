import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorBodySchema, type DeviceDetail, type DeviceList, type AlertList } from '../../src/shared/protocol.js';
import { startTestServer, type TestServer } from './helpers/test-server.js';
import { enrol, enrollRequest, signedPost } from './helpers/signed-request.js';
import { signRequest } from '../../src/core/report/hmac-auth.js';
import { connectionAlert, heartbeatFor } from './helpers/sample-reports.js';

let srv: TestServer;
beforeAll(async () => {
  srv = await startTestServer({ deviceRateLimit: { capacity: 1000, refillPerSec: 1000 } });
});
afterAll(async () => srv.close());

async function snapshot() {
  const one = async (sql: string) => Number((await srv.database.get<{ n: number }>(sql))!.n);
  return {
    alerts: await one('SELECT COUNT(*) AS n FROM alerts'),
    nonces: await one('SELECT COUNT(*) AS n FROM request_nonces'),
    devices: await srv.database.all('SELECT id, heartbeat_json, status, alert_count, revoked_at FROM devices ORDER BY id'),
    tenants: await one('SELECT COUNT(*) AS n FROM tenants'),
    tokenUses: await one('SELECT COALESCE(SUM(uses), 0) AS n FROM enroll_tokens'),
  };
}

function expectError(res: { status: number; body: unknown }, status: number, code: string) {
  expect(res.status).toBe(status);
  const parsed = ErrorBodySchema.safeParse(res.body);
  expect(parsed.success, JSON.stringify(res.body)).toBe(true);
  expect(parsed.data?.error.code).toBe(code);
  expect(parsed.data?.error.message.length).toBeGreaterThan(5);
}

describe('enrolment', () => {
  it('issues a credential; the same stable id again, unsigned, is a new record flagged as a possible duplicate', async () => {
    const token = await srv.createToken('Enrol Dental');
    const first = await enrol(srv.url, token, 'hw-uuid-enrol-0001');
    expect(first.status).toBe(201);
    expect(first).toMatchObject({ reenrolled: false, heartbeatIntervalSec: 60, tenant: { name: 'Enrol Dental' } });
    const again = await enrol(srv.url, token, 'hw-uuid-enrol-0001', 'RENAMED-PC');
    expect(again.status).toBe(201);
    expect(again.deviceId).not.toBe(first.deviceId);
    expect(again.reenrolled).toBe(false);
    // Both secrets work (hole 2 of issue 11: no silent takeover; tests/server/reenrolment.test.ts).
    for (const e of [first, again]) {
      const ok = await signedPost(srv.url, '/v1/heartbeats', { deviceId: e.deviceId, deviceSecret: e.deviceSecret }, heartbeatFor(e.deviceId));
      expect(ok.status).toBe(200);
    }
    expect((await srv.admin<DeviceDetail>(`/v1/devices/${first.deviceId}`)).body).toMatchObject({ enrolCount: 1, hostname: 'RECEPTION-PC', possibleDuplicateOf: null });
    expect((await srv.admin<DeviceDetail>(`/v1/devices/${again.deviceId}`)).body).toMatchObject({ possibleDuplicateOf: first.deviceId });
    // Another tenant with the same hardware id is a different device, not flagged.
    const other = await enrol(srv.url, await srv.createToken('Other Clinic'), 'hw-uuid-enrol-0001');
    expect(other.deviceId).not.toBe(first.deviceId);
    expect(other.tenant.name).toBe('Other Clinic');
    expect((await srv.admin<DeviceDetail>(`/v1/devices/${other.deviceId}`)).body.possibleDuplicateOf).toBeNull();
  });

  it('refuses unknown, expired, revoked and used-up tokens with one message, storing nothing', async () => {
    const before = await snapshot();
    const expired = await srv.createToken('Expired Co', { expiresAt: Date.now() - 1000 });
    const once = await srv.createToken('Once Co', { maxUses: 1 });
    expect((await enrol(srv.url, once, 'hw-uuid-once-0001')).status).toBe(201);
    const afterOne = await snapshot();
    for (const t of ['vigil_enroll_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', expired, once]) {
      const res = await fetch(srv.url + '/v1/enroll', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(enrollRequest(t, 'hw-uuid-refused-01')) });
      const body = await res.json();
      expectError({ status: res.status, body }, 401, 'invalid_enroll_token');
      expect(JSON.stringify(body)).not.toContain(t);
    }
    expect((await snapshot()).devices).toEqual(afterOne.devices);
    expect(afterOne.devices.length).toBe(before.devices.length + 1);
  });

  it('refuses malformed, invalid and oversize enrolment requests, storing nothing and not using the token', async () => {
    const token = await srv.createToken('Careful Co');
    const post = async (body: Buffer | string, headers: Record<string, string> = {}) => {
      const res = await fetch(srv.url + '/v1/enroll', { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
      return { status: res.status, body: (await res.json()) as unknown };
    };
    const good = enrollRequest(token, 'hw-uuid-careful-01');
    const before = await snapshot();
    expectError(await post('{"protocol": 1, "enrollToken": '), 400, 'malformed_json');
    expectError(await post(''), 400, 'malformed_json');
    const wrongVersion = await post(JSON.stringify({ ...good, protocol: 2 }));
    expectError(wrongVersion, 400, 'invalid_request');
    expect(JSON.stringify(wrongVersion.body)).toContain('protocol');
    const noHost = await post(JSON.stringify({ ...good, host: undefined, stableId: 'x' }));
    expectError(noHost, 400, 'invalid_request');
    const paths = ErrorBodySchema.parse(noHost.body).error.issues?.map((i) => i.path);
    expect(paths).toEqual(expect.arrayContaining(['host', 'stableId']));
    // The token is never echoed back, not even inside a validation message.
    expect(JSON.stringify(noHost.body)).not.toContain(token);
    expectError(await post(Buffer.alloc(600 * 1024, 32)), 413, 'payload_too_large');
    expectError(await post(JSON.stringify(good), { 'content-type': 'text/plain' }), 415, 'unsupported_media_type');
    expect(await snapshot()).toEqual(before);
    // The same token still enrols afterwards: none of the refusals counted as a use.
    expect((await enrol(srv.url, token, 'hw-uuid-careful-01')).status).toBe(201);
  });
});

describe('device requests', () => {
  let cred: { deviceId: string; deviceSecret: string };
  let otherTenant: { deviceId: string; deviceSecret: string };
  beforeAll(async () => {
    const e = await enrol(srv.url, await srv.createToken('Acme Dental'), 'hw-uuid-acme-0001');
    cred = { deviceId: e.deviceId, deviceSecret: e.deviceSecret };
    const o = await enrol(srv.url, await srv.createToken('Zenith Law'), 'hw-uuid-zenith-001', 'ZENITH-PC');
    otherTenant = { deviceId: o.deviceId, deviceSecret: o.deviceSecret };
  });

  it('stores the newest heartbeat (plain or gzip) and shows it in the admin API', async () => {
    const res = await signedPost(srv.url, '/v1/heartbeats', cred, heartbeatFor(cred.deviceId, { sentAt: new Date('2026-11-20T10:00:00Z') }), { gzip: true });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ ok: true, heartbeatIntervalSec: 60 });
    // A heartbeat delivered late (older sentAt) does not replace the newer one.
    const late = await signedPost(srv.url, '/v1/heartbeats', cred, heartbeatFor(cred.deviceId, { sentAt: new Date('2026-11-20T09:00:00Z'), compromised: false }));
    expect(late.status).toBe(200);
    const list = await srv.admin<DeviceList>('/v1/devices?tenant=Acme%20Dental');
    expect(list.body.devices).toHaveLength(1);
    expect(list.body.devices[0]).toMatchObject({
      deviceId: cred.deviceId,
      status: 'compromised',
      online: true,
      installs: [{ applicationName: '3CX Desktop App', version: '18.12.416', versionClass: 'compromised' }],
      tenant: { name: 'Acme Dental' },
    });
  });

  it('stores each alert exactly once per device and reports duplicates', async () => {
    const alerts = [connectionAlert(1), connectionAlert(2)];
    const a = await signedPost(srv.url, '/v1/alerts', cred, { deviceId: cred.deviceId, alerts });
    expect(a.body).toEqual({ stored: alerts.map((x) => x.alertId), duplicates: [] });
    const b = await signedPost(srv.url, '/v1/alerts', cred, { deviceId: cred.deviceId, alerts: [connectionAlert(2), connectionAlert(3)] });
    expect(b.body).toEqual({ stored: [connectionAlert(3).alertId], duplicates: [connectionAlert(2).alertId] });
    // The same alert id from a device of another tenant is that device's own alert.
    const c = await signedPost(srv.url, '/v1/alerts', otherTenant, { deviceId: otherTenant.deviceId, alerts: [connectionAlert(1)] });
    expect(c.body).toEqual({ stored: [connectionAlert(1).alertId], duplicates: [] });
    const mine = await srv.admin<AlertList>(`/v1/alerts?deviceId=${cred.deviceId}`);
    expect(mine.body.alerts.map((x) => x.alertId).sort()).toEqual([1, 2, 3].map((i) => connectionAlert(i).alertId).sort());
    expect(mine.body.alerts[0]).toMatchObject({ tenant: { name: 'Acme Dental' }, hostname: 'RECEPTION-PC', kind: 'connection' });
    const theirs = await srv.admin<AlertList>('/v1/alerts?tenant=Zenith%20Law');
    expect(theirs.body.alerts).toHaveLength(1);
    expect((await srv.admin<DeviceDetail>(`/v1/devices/${cred.deviceId}`)).body.alertCount).toBe(3);
  });

  describe('rejections: a clear 4xx JSON body and nothing stored', () => {
    const hb = () => heartbeatFor(cred.deviceId);
    const cases: Array<[string, () => Promise<{ status: number; body: unknown }>, number, string]> = [
      ['malformed JSON', () => signedPost(srv.url, '/v1/heartbeats', cred, undefined, { raw: Buffer.from('{"deviceId": "dev_') }), 400, 'malformed_json'],
      ['a body that is not gzip but says so', () => signedPost(srv.url, '/v1/heartbeats', cred, undefined, { raw: Buffer.from('{}'), contentEncoding: 'gzip' }), 400, 'malformed_json'],
      ['a schema violation', () => signedPost(srv.url, '/v1/heartbeats', cred, { ...hb(), status: 'fine', findings: 'none' }), 400, 'invalid_request'],
      ['an alert batch over the limit', () => signedPost(srv.url, '/v1/alerts', cred, { deviceId: cred.deviceId, alerts: Array.from({ length: 101 }, (_, i) => connectionAlert(1000 + i)) }), 400, 'invalid_request'],
      ['an unknown credential', () => signedPost(srv.url, '/v1/heartbeats', { ...cred, deviceId: 'dev_BBBBBBBBBBBBBBBBBBBBBB' }, { ...hb(), deviceId: 'dev_BBBBBBBBBBBBBBBBBBBBBB' }), 401, 'unknown_device'],
      ['no credentials at all', () => fetch(srv.url + '/v1/heartbeats', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(hb()) }).then(async (r) => ({ status: r.status, body: await r.json() })), 401, 'missing_credentials'],
      ['a bad HMAC (wrong key)', () => signedPost(srv.url, '/v1/heartbeats', { ...cred, deviceSecret: 'A'.repeat(43) }, hb()), 401, 'bad_signature'],
      ['a body changed after signing', () => signedPost(srv.url, '/v1/alerts', cred, { deviceId: cred.deviceId, alerts: [connectionAlert(50)] }, { signBody: Buffer.from(JSON.stringify({ deviceId: cred.deviceId, alerts: [connectionAlert(51)] })) }), 401, 'bad_signature'],
      ['a signature for another endpoint', () => signedPost(srv.url, '/v1/alerts', cred, { deviceId: cred.deviceId, alerts: [connectionAlert(52)] }, { signPath: '/v1/heartbeats' }), 401, 'bad_signature'],
      ['a stale timestamp (replay of an old request)', () => signedPost(srv.url, '/v1/heartbeats', cred, hb(), { nowMs: Date.now() - 10 * 60_000 }), 401, 'stale_timestamp'],
      ['a timestamp from the future', () => signedPost(srv.url, '/v1/heartbeats', cred, hb(), { nowMs: Date.now() + 10 * 60_000 }), 401, 'stale_timestamp'],
      ['an oversize body', () => signedPost(srv.url, '/v1/heartbeats', cred, undefined, { raw: Buffer.alloc(600 * 1024, 32) }), 413, 'payload_too_large'],
      ['a gzip bomb', () => signedPost(srv.url, '/v1/heartbeats', cred, undefined, { raw: gzipSync(Buffer.alloc(20 * 1024 * 1024, 32)), contentEncoding: 'gzip' }), 413, 'payload_too_large'],
      ['an unsupported encoding', () => signedPost(srv.url, '/v1/heartbeats', cred, hb(), { contentEncoding: 'br' }), 415, 'unsupported_encoding'],
      ['a non-JSON content type', () => signedPost(srv.url, '/v1/heartbeats', cred, hb(), { headers: { 'content-type': 'text/xml' } }), 415, 'unsupported_media_type'],
      ['a device writing for a device of another tenant', () => signedPost(srv.url, '/v1/heartbeats', cred, heartbeatFor(otherTenant.deviceId)), 403, 'device_mismatch'],
      ['alerts written for another tenant\'s device', () => signedPost(srv.url, '/v1/alerts', cred, { deviceId: otherTenant.deviceId, alerts: [connectionAlert(60)] }), 403, 'device_mismatch'],
      ['a credential claiming another tenant\'s device id', () => signedPost(srv.url, '/v1/heartbeats', { deviceId: otherTenant.deviceId, deviceSecret: cred.deviceSecret }, heartbeatFor(otherTenant.deviceId)), 401, 'bad_signature'],
    ];
    for (const [what, send, status, code] of cases) {
      it(`refuses ${what} (${status} ${code})`, async () => {
        const before = await snapshot();
        expectError(await send(), status, code);
        expect(await snapshot()).toEqual(before);
      });
    }

    it('refuses a replayed request (same nonce) even with a fresh signature window', async () => {
      const nonce = 'replay-nonce-0123456789';
      const first = await signedPost(srv.url, '/v1/alerts', cred, { deviceId: cred.deviceId, alerts: [connectionAlert(70)] }, { nonce });
      expect(first.status).toBe(200);
      const before = await snapshot();
      const again = await signedPost(srv.url, '/v1/alerts', cred, { deviceId: cred.deviceId, alerts: [connectionAlert(71)] }, { nonce });
      expectError(again, 401, 'replayed_request');
      expect(await snapshot()).toEqual(before);
    });

    it('refuses an exact replay of a request it accepted (same bytes, same signature)', async () => {
      const at = Date.now();
      const nonce = 'exact-replay-nonce-000001';
      const body = { deviceId: cred.deviceId, alerts: [connectionAlert(72)] };
      const first = await signedPost(srv.url, '/v1/alerts', cred, body, { nonce, nowMs: at });
      expect(first.body).toEqual({ stored: [connectionAlert(72).alertId], duplicates: [] });
      const hbBody = heartbeatFor(cred.deviceId);
      const hbFirst = await signedPost(srv.url, '/v1/heartbeats', cred, hbBody, { nonce: 'exact-replay-nonce-000002', nowMs: at });
      expect(hbFirst.status).toBe(200);
      const before = await snapshot();
      expectError(await signedPost(srv.url, '/v1/alerts', cred, body, { nonce, nowMs: at }), 401, 'replayed_request');
      expectError(await signedPost(srv.url, '/v1/heartbeats', cred, hbBody, { nonce: 'exact-replay-nonce-000002', nowMs: at }), 401, 'replayed_request');
      expect(await snapshot()).toEqual(before);
    });

    it('gives a device credential no read access: admin routes refuse it, even for its own tenant', async () => {
      const before = await snapshot();
      for (const p of ['/v1/devices', `/v1/devices/${cred.deviceId}`, `/v1/devices/${otherTenant.deviceId}`, '/v1/alerts?tenant=Zenith%20Law', '/v1/tenants']) {
        const signed = signRequest(cred, { method: 'GET', path: p.split('?')[0]!, body: Buffer.alloc(0), contentEncoding: 'identity' });
        const res = await fetch(srv.url + p, { headers: signed });
        const body = await res.json();
        expectError({ status: res.status, body }, 401, 'unauthorized');
        expect(JSON.stringify(body)).not.toContain('Zenith');
        // The device secret is not an admin token either.
        const asBearer = await fetch(srv.url + p, { headers: { authorization: `Bearer ${cred.deviceSecret}` } });
        expectError({ status: asBearer.status, body: await asBearer.json() }, 401, 'unauthorized');
      }
      // Nor does the device API have a read route.
      for (const p of ['/v1/heartbeats', '/v1/alerts/' + connectionAlert(1).alertId]) {
        const res = await fetch(srv.url + p, { headers: signRequest(cred, { method: 'GET', path: p, body: Buffer.alloc(0), contentEncoding: 'identity' }) });
        expect(res.status).toBeGreaterThanOrEqual(400);
        expect(res.status).toBeLessThan(500);
        expect(JSON.stringify(await res.json())).not.toContain('akamaicontainer');
      }
      expect(await snapshot()).toEqual(before);
    });

    it('refuses a revoked credential', async () => {
      const e = await enrol(srv.url, await srv.createToken('Revoked Co'), 'hw-uuid-revoke-001');
      const c = { deviceId: e.deviceId, deviceSecret: e.deviceSecret };
      const r = await srv.admin(`/v1/devices/${e.deviceId}/revoke`, { method: 'POST' });
      expect(r.status).toBe(200);
      const before = await snapshot();
      expectError(await signedPost(srv.url, '/v1/heartbeats', c, heartbeatFor(c.deviceId)), 401, 'revoked_device');
      expectError(await signedPost(srv.url, '/v1/alerts', c, { deviceId: c.deviceId, alerts: [connectionAlert(80)] }), 401, 'revoked_device');
      // and it cannot come back by enrolling again under the same stable id
      const back = await fetch(srv.url + '/v1/enroll', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(enrollRequest(await srv.createToken('Revoked Co'), 'hw-uuid-revoke-001')) });
      expectError({ status: back.status, body: await back.json() }, 403, 'revoked_device');
      expect(await snapshot()).toEqual(before);
    });

    it('refuses a wrong or missing admin token', async () => {
      for (const auth of [undefined, 'Bearer wrong-token', `Basic ${Buffer.from(`admin:${srv.adminToken}`).toString('base64')}`, `Bearer ${srv.adminToken}x`]) {
        for (const p of ['/v1/devices', '/v1/alerts', '/v1/tenants', '/v1/devices/dev_AAAAAAAAAAAAAAAAAAAAAA']) {
          const res = await fetch(srv.url + p, auth ? { headers: { authorization: auth } } : {});
          expectError({ status: res.status, body: await res.json() }, 401, 'unauthorized');
          expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
        }
      }
      const before = await snapshot();
      const res = await fetch(`${srv.url}/v1/devices/${cred.deviceId}/revoke`, { method: 'POST', headers: { authorization: 'Bearer nope' } });
      expect(res.status).toBe(401);
      expect(await snapshot()).toEqual(before);
    });

    it('refuses an admin query with a filter it does not know (a typo must not return the whole fleet)', async () => {
      const cases: Array<[string, RegExp]> = [
        ['/v1/devices?tennant=Acme%20Dental', /tennant/],
        [`/v1/devices?deviceId=${cred.deviceId}`, /deviceId/],
        ['/v1/alerts?device=dev_AAAAAAAAAAAAAAAAAAAAAA', /device/],
        ['/v1/devices?limit=0', /limit/],
      ];
      for (const [p, names] of cases) {
        const res = await fetch(srv.url + p, { headers: { authorization: `Bearer ${srv.adminToken}` } });
        const body = (await res.json()) as { error: { message: string; issues?: Array<{ path: string; message: string }> } };
        expectError({ status: res.status, body }, 400, 'invalid_request');
        expect(JSON.stringify(body.error)).toMatch(names);
      }
    });
  });
});

describe('rate limits', () => {
  it('limits each device separately and says when to retry', async () => {
    const limited = await startTestServer({ deviceRateLimit: { capacity: 3, refillPerSec: 0.5 } });
    try {
      const a = await enrol(limited.url, await limited.createToken('T'), 'hw-uuid-rate-00001');
      const b = await enrol(limited.url, await limited.createToken('T'), 'hw-uuid-rate-00002');
      const ca = { deviceId: a.deviceId, deviceSecret: a.deviceSecret };
      const statuses = [];
      for (let i = 0; i < 5; i++) statuses.push((await signedPost(limited.url, '/v1/heartbeats', ca, heartbeatFor(ca.deviceId))).status);
      expect(statuses).toEqual([200, 200, 200, 429, 429]);
      const r = await signedPost(limited.url, '/v1/heartbeats', ca, heartbeatFor(ca.deviceId));
      expectError(r, 429, 'rate_limited');
      expect(r.headers.get('retry-after')).toBe('2');
      expect(r.body.error?.retryAfterSec).toBe(2);
      // Another device is not affected.
      expect((await signedPost(limited.url, '/v1/heartbeats', { deviceId: b.deviceId, deviceSecret: b.deviceSecret }, heartbeatFor(b.deviceId))).status).toBe(200);
    } finally {
      await limited.close();
    }
  });

  it('limits failed enrolments per address; good enrolments never count, and still pass a locked-out address', async () => {
    const limited = await startTestServer({ enrollFailureRateLimit: { capacity: 3, refillPerSec: 0.01 } });
    try {
      const post = (token: string, id: string) =>
        fetch(limited.url + '/v1/enroll', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(enrollRequest(token, id)) });
      const token = await limited.createToken('Big Site', { maxUses: 100 });
      // A whole site behind one address enrols: far more than the failure burst, all fine.
      for (let i = 0; i < 10; i++) expect((await post(token, `hw-uuid-site-${String(i).padStart(5, '0')}`)).status).toBe(201);
      const bad = 'vigil_enroll_BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB';
      const statuses = [];
      for (let i = 0; i < 5; i++) statuses.push((await post(bad, 'hw-uuid-guess-00001')).status);
      expect(statuses).toEqual([401, 401, 401, 429, 429]);
      const res = await post(bad, 'hw-uuid-guess-00002');
      const body = (await res.json()) as { error?: { code?: string; message?: string; retryAfterSec?: number } };
      expectError({ status: res.status, body }, 429, 'rate_limited');
      expect(body.error?.message).toMatch(/too many failed enrolments from this address; retry in \d+ s/);
      expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      // A good token from the same address (another PC behind the site's NAT) still enrols.
      expect((await post(token, 'hw-uuid-site-late1')).status).toBe(201);
      const devices = await limited.admin<{ devices: unknown[] }>('/v1/devices');
      expect(devices.body.devices).toHaveLength(11);
    } finally {
      await limited.close();
    }
  });
});
