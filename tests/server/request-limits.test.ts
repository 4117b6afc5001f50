/**
 * Issue 11, hole 3: deeply nested JSON stalled the event loop (a 2 KB gzip inflating to a
 * million nested arrays), strings and inner arrays had no bound, and successful enrolments
 * were never counted. Every refusal must come before JSON.parse sees the body.
 */
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './helpers/test-server.js';
import { enrol, enrollRequest, signedPost } from './helpers/signed-request.js';
import { heartbeatFor } from './helpers/sample-reports.js';

let srv: TestServer;
beforeAll(async () => {
  srv = await startTestServer({
    deviceRateLimit: { capacity: 1000, refillPerSec: 1000 },
    trustProxy: ['127.0.0.1'],
    enrollSuccessRateLimit: { perAddress: { capacity: 3, refillPerSec: 0.001 }, perToken: { capacity: 5, refillPerSec: 0.001 } },
  });
});
afterAll(async () => srv.close());

const nested = (depth: number) => Buffer.from('['.repeat(depth) + ']'.repeat(depth));

async function postEnroll(body: Buffer, headers: Record<string, string> = {}) {
  const res = await fetch(srv.url + '/v1/enroll', { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
  return { status: res.status, body: (await res.json()) as { error?: { code: string; message: string } } };
}

describe('request shape limits (hole 3)', () => {
  it('refuses a gzip bomb of a million nested arrays on the unauthenticated enrolment, and deep nesting, before parsing', async () => {
    const bomb = gzipSync(nested(1_000_000), { level: 9 });
    expect(bomb.length).toBeLessThan(8 * 1024);
    // An enrolment inflates to at most 16 KiB (a real one is under 1 KB).
    const r = await postEnroll(bomb, { 'content-encoding': 'gzip', 'x-forwarded-for': '192.0.2.50' });
    expect(r.status).toBe(413);
    expect(r.body.error?.code).toBe('payload_too_large');
    const plain = await postEnroll(nested(8000), { 'x-forwarded-for': '192.0.2.50' });
    expect(plain.status).toBe(400);
    expect(plain.body.error?.message).toMatch(/nested deeper than 32/);
    // Depth inside a string is text, not nesting.
    const req = { ...enrollRequest('vigil_enroll_not-a-real-token-xx', 'hw-uuid-depth-0001'), agentVersion: '['.repeat(60) };
    expect((await postEnroll(Buffer.from(JSON.stringify(req)), { 'x-forwarded-for': '192.0.2.50' })).body.error?.code).toBe('invalid_enroll_token');
  });

  it('refuses the same bomb on an authenticated heartbeat, after inflating it', async () => {
    const e = await enrol(srv.url, await srv.createToken('Depth Dental'), 'hw-uuid-depth-0002');
    const cred = { deviceId: e.deviceId, deviceSecret: e.deviceSecret };
    const r = await signedPost(srv.url, '/v1/heartbeats', cred, undefined, { raw: nested(1_000_000), gzip: true });
    expect(r.status).toBe(400);
    expect(r.body.error?.message).toMatch(/nested deeper than 32/);
  });

  it('refuses a string longer than the protocol allows anywhere in a body (a 100 KB finding title)', async () => {
    const e = await enrol(srv.url, await srv.createToken('String Dental'), 'hw-uuid-string-0001');
    const cred = { deviceId: e.deviceId, deviceSecret: e.deviceSecret };
    const hb = heartbeatFor(e.deviceId);
    hb.findings[0]!.title = 'x'.repeat(100_000);
    const r = await signedPost(srv.url, '/v1/heartbeats', cred, hb, { gzip: true });
    expect(r.status).toBe(400);
    expect(r.body.error?.message).toMatch(/string longer than 16384/);
    // An inner array without a schema bound (advice steps) is bounded too.
    const hb2 = heartbeatFor(e.deviceId);
    hb2.findings[0]!.advice!.steps = Array.from({ length: 5000 }, () => 'step');
    const r2 = await signedPost(srv.url, '/v1/heartbeats', cred, hb2, { gzip: true });
    expect(r2.status).toBe(400);
    expect(r2.body.error?.message).toMatch(/array longer than 1000/);
    // Fields that reach the database's columns and the fleet page have their own, tighter bounds.
    const hb3 = heartbeatFor(e.deviceId);
    hb3.host.hostname = 'H'.repeat(300);
    const r3 = await signedPost(srv.url, '/v1/heartbeats', cred, hb3);
    expect(r3.status).toBe(400);
    expect(r3.body.error?.code).toBe('invalid_request');
    expect(r3.body.error?.message).toMatch(/host\.hostname/);
    const stored = (await srv.admin<{ status: string }>(`/v1/devices/${e.deviceId}`)).body;
    expect(stored.status).toBe('unknown');
  });
});

describe('enrolment budget (hole 3)', () => {
  it('counts successful enrolments per address and per token, and says when to retry', async () => {
    const token = await srv.createToken('Budget Dental');
    const from = (ip: string, i: number) =>
      fetch(srv.url + '/v1/enroll', { method: 'POST', headers: { 'content-type': 'application/json', 'x-forwarded-for': ip }, body: JSON.stringify(enrollRequest(token, `hw-uuid-budget-${ip}-${i}`)) });
    for (let i = 0; i < 3; i++) expect((await from('198.51.100.1', i)).status).toBe(201);
    const fourth = await from('198.51.100.1', 3);
    expect(fourth.status).toBe(429);
    expect(fourth.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(((await fourth.json()) as { error: { code: string; message: string } }).error.message).toMatch(/enrolments from this address/);
    // Another address may enrol until the token's budget (5) is spent.
    expect((await from('198.51.100.2', 0)).status).toBe(201);
    expect((await from('198.51.100.2', 1)).status).toBe(201);
    const overToken = await from('198.51.100.3', 0);
    expect(overToken.status).toBe(429);
    expect(((await overToken.json()) as { error: { message: string } }).error.message).toMatch(/enrolments with this token/);
    // Other tokens are not affected.
    const other = await fetch(srv.url + '/v1/enroll', { method: 'POST', headers: { 'content-type': 'application/json', 'x-forwarded-for': '198.51.100.4' }, body: JSON.stringify(enrollRequest(await srv.createToken('Other Budget'), 'hw-uuid-budget-other')) });
    expect(other.status).toBe(201);
  });
});

describe('failed-enrolment lockout behind one NAT (issue 11)', () => {
  it('a PC looping on a wrong token locks out only failing enrolments: valid ones from the same address pass', async () => {
    const nat = await startTestServer({ trustProxy: ['127.0.0.1'], enrollFailureRateLimit: { capacity: 3, refillPerSec: 0.001 } });
    try {
      const post = (body: unknown) =>
        fetch(nat.url + '/v1/enroll', { method: 'POST', headers: { 'content-type': 'application/json', 'x-forwarded-for': '203.0.113.9' }, body: JSON.stringify(body) });
      for (let i = 0; i < 3; i++) expect((await post(enrollRequest('vigil_enroll_a-wrong-token-from-a-bad-script', `hw-uuid-nat-bad-${i}`))).status).toBe(401);
      // The address is over its failure budget: a wrong token, or a malformed body, is refused unread.
      const locked = await post(enrollRequest('vigil_enroll_a-wrong-token-from-a-bad-script', 'hw-uuid-nat-bad-9'));
      expect(locked.status).toBe(429);
      expect(locked.headers.get('retry-after')).toMatch(/^\d+$/);
      expect((await post({ nonsense: true })).status).toBe(429);
      // Every other PC behind the NAT, with the right token, still enrols.
      const token = await nat.createToken('NAT Dental');
      for (let i = 0; i < 3; i++) expect((await post(enrollRequest(token, `hw-uuid-nat-good-${i}`))).status).toBe(201);
    } finally {
      await nat.close();
    }
  });
});
