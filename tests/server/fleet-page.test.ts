import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './helpers/test-server.js';
import { enrol, signedPost } from './helpers/signed-request.js';
import { connectionAlert, heartbeatFor } from './helpers/sample-reports.js';
import { escapeHtml, relativeTime } from '../../src/server/fleet-page.js';
import { isOnline } from '../../src/server/fleet-view.js';
import type { DeviceList } from '../../src/shared/protocol.js';

let srv: TestServer;
let clock = Date.now();
beforeAll(async () => {
  srv = await startTestServer({ now: () => clock });
});
afterAll(async () => srv.close());

async function login(token: string, origin?: string) {
  const body = new URLSearchParams({ token }).toString();
  return fetch(srv.url + '/login', { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded', ...(origin ? { origin } : {}) }, body });
}

describe('fleet page', () => {
  it('needs the admin token: redirects to a login form, refuses a wrong token', async () => {
    const res = await fetch(srv.url + '/', { redirect: 'manual' });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/login');
    const form = await fetch(srv.url + '/login');
    expect(await form.text()).toContain('<form class="login" method="post" action="/login">');
    const wrong = await login('not-the-token');
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('set-cookie')).toBeNull();
    expect(await wrong.text()).toContain('That is not the admin token.');
    const forged = await fetch(srv.url + '/', { redirect: 'manual', headers: { cookie: `vigil_session=${clock + 3600_000}.${'A'.repeat(43)}` } });
    expect(forged.status).toBe(303);
    const guessed = await fetch(srv.url + '/', { redirect: 'manual', headers: { cookie: `vigil_session=${'A'.repeat(43)}` } });
    expect(guessed.status).toBe(303);
  });

  it('refuses a sign-in posted from another origin', async () => {
    const res = await login(srv.adminToken, 'https://evil.example');
    expect(res.status).toBe(403);
    expect(res.headers.get('set-cookie')).toBeNull();
  });

  it('signs in with an HttpOnly SameSite=Strict cookie and lists tenants and devices, escaped, under a strict CSP', async () => {
    const token = await srv.createToken('Acme <Dental>');
    await srv.createToken('Empty Tenant');
    const e = await enrol(srv.url, token, 'hw-uuid-page-00001', '<script>alert(1)</script>');
    const cred = { deviceId: e.deviceId, deviceSecret: e.deviceSecret };
    await signedPost(srv.url, '/v1/heartbeats', cred, heartbeatFor(e.deviceId, { hostname: '<img src=x onerror=alert(1)>' }));
    await signedPost(srv.url, '/v1/alerts', cred, { deviceId: e.deviceId, alerts: [connectionAlert(1)] });

    // As a browser posts it: Origin of this server.
    const res = await login(srv.adminToken, srv.url);
    expect(res.status).toBe(303);
    // same-origin (not no-referrer, which makes browsers send "Origin: null" on form posts)
    expect(res.headers.get('referrer-policy')).toBe('same-origin');
    const cookie = res.headers.get('set-cookie')!;
    expect(cookie).toMatch(/^vigil_session=[A-Za-z0-9_-]{43}; Path=\/; Max-Age=43200; HttpOnly; SameSite=Strict$/);
    const page = await fetch(srv.url + '/', { headers: { cookie: cookie.split(';')[0]! } });
    expect(page.status).toBe(200);
    const csp = page.headers.get('content-security-policy')!;
    expect(csp).toMatch(/^default-src 'none'; style-src 'sha256-[A-Za-z0-9+/=]+'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'$/);
    expect(page.headers.get('x-frame-options')).toBe('DENY');
    const html = await page.text();
    expect(html).not.toMatch(/<script|<img|src="http|href="http/);
    expect(html).toContain('Acme &lt;Dental&gt;');
    expect(html).toContain('&lt;img src=x onerror=alert(1)&gt;');
    expect(html).toContain('Empty Tenant');
    expect(html).toContain('No devices enrolled yet.');
    expect(html).toMatch(/3CX Desktop App <strong>18\.12\.416<\/strong>/);
    expect(html).toContain('<span class="badge s-compromised">compromised</span>');
    expect(html).toMatch(/class="online">online/);
    expect(html).toContain('akamaicontainer.com');
    // The inline stylesheet is exactly the one the CSP hash allows.
    const style = /<style>([\s\S]*?)<\/style>/.exec(html)![1]!;
    const { createHash } = await import('node:crypto');
    expect(csp).toContain(`'sha256-${createHash('sha256').update(style).digest('base64')}'`);

    const out = await fetch(srv.url + '/logout', { method: 'POST', redirect: 'manual', headers: { cookie: cookie.split(';')[0]! } });
    expect(out.headers.get('set-cookie')).toMatch(/^vigil_session=; Path=\/; Max-Age=0/);
  });

  it('marks a device offline after three missed heartbeat intervals', async () => {
    const e = await enrol(srv.url, await srv.createToken('Clock Co'), 'hw-uuid-clock-0001', 'CLOCK-PC');
    await signedPost(srv.url, '/v1/heartbeats', { deviceId: e.deviceId, deviceSecret: e.deviceSecret }, heartbeatFor(e.deviceId, { hostname: 'CLOCK-PC' }), { nowMs: clock });
    const view = async () => (await srv.admin<DeviceList>('/v1/devices?tenant=Clock%20Co')).body.devices[0]!;
    const start = clock;
    clock = start + 180_000; // exactly three intervals
    expect((await view()).online).toBe(true);
    clock = start + 180_001;
    expect((await view()).online).toBe(false);
    const session = (await login(srv.adminToken)).headers.get('set-cookie')!.split(';')[0]!;
    const html = await (await fetch(srv.url + '/', { headers: { cookie: session } })).text();
    expect(html).toMatch(/CLOCK-PC[\s\S]*?class="offline">OFFLINE/);
    clock = start;
  });
});

describe('fleet page helpers', () => {
  it('escapes every HTML-significant character', () => {
    expect(escapeHtml(`<a href="x" onclick='y'>&</a>`)).toBe('&lt;a href=&quot;x&quot; onclick=&#39;y&#39;&gt;&amp;&lt;/a&gt;');
    expect(escapeHtml(undefined)).toBe('');
  });
  it('says how long ago, coarsely', () => {
    const now = Date.parse('2026-11-20T12:00:00Z');
    expect(relativeTime(null, now)).toBe('never');
    expect(relativeTime('2026-11-20T11:59:30Z', now)).toBe('30 s ago');
    expect(relativeTime('2026-11-20T11:00:00Z', now)).toBe('1 h ago');
    expect(relativeTime('2026-11-17T12:00:00Z', now)).toBe('3 d ago');
  });
  it('isOnline: never seen is offline', () => {
    expect(isOnline(null, 60, 0)).toBe(false);
    expect(isOnline(0, 60, 180_000)).toBe(true);
    expect(isOnline(0, 60, 180_001)).toBe(false);
  });
});

describe('fleet page behind a TLS reverse proxy', () => {
  it('believes X-Forwarded-* only from a trusted proxy: Secure cookies, per-client login limits', async () => {
    const proxied = await startTestServer({ trustProxy: ['127.0.0.1'] });
    const direct = await startTestServer();
    try {
      const signIn = (s: TestServer, headers: Record<string, string>, token = s.adminToken) =>
        fetch(s.url + '/login', { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, body: new URLSearchParams({ token }).toString() });
      const viaProxy = { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'fleet.partner.example', origin: 'https://fleet.partner.example' };
      const ok = await signIn(proxied, viaProxy);
      expect(ok.status).toBe(303);
      expect(ok.headers.get('set-cookie')).toMatch(/; Secure$/);
      // Without trust, the same headers are ignored: no Secure flag, and the forwarded origin is foreign.
      expect((await signIn(direct, { 'x-forwarded-proto': 'https' })).headers.get('set-cookie')).not.toMatch(/Secure/);
      expect((await signIn(direct, viaProxy)).status).toBe(403);
      // The login limit counts each client behind the proxy separately.
      const statuses: number[] = [];
      for (let i = 0; i < 11; i++) statuses.push((await signIn(proxied, { 'x-forwarded-for': '198.51.100.7' }, 'wrong')).status);
      expect(statuses.slice(0, 10).every((s) => s === 401)).toBe(true);
      expect(statuses[10]).toBe(429);
      expect((await signIn(proxied, { 'x-forwarded-for': '198.51.100.8' }, 'wrong')).status).toBe(401);
    } finally {
      await proxied.close();
      await direct.close();
    }
  });
});
