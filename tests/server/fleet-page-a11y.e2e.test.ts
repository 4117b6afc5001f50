/**
 * The fleet page (with devices, alerts and notification channels) and the sign-in page in
 * Debian's Chromium, checked with axe-core (WCAG 2.0/2.1 A and AA plus axe's best
 * practices, which include `landmark-one-main`; `meta-refresh` is WCAG 2.2.1), light and dark.
 */
import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { launch } from '../renderer/harness.js';
import { needsTools } from '../helpers/system-tool.js';
import { startTestServer, type TestServer } from './helpers/test-server.js';
import { enrol, signedPost } from './helpers/signed-request.js';
import { connectionAlert, heartbeatFor } from './helpers/sample-reports.js';

const AXE = createRequire(import.meta.url).resolve('axe-core/axe.min.js');

interface AxeResult {
  violations: Array<{ id: string; impact: string; help: string; nodes: Array<{ target: string[]; failureSummary: string }> }>;
  passes: Array<{ id: string }>;
}

describe('fleet page and sign-in page accessibility (axe-core, Chromium)', needsTools('chromium'), () => {
  let browser: Browser;
  let srv: TestServer;
  let cookie: string;

  beforeAll(async () => {
    srv = await startTestServer({ notify: { policy: { pollMs: 20, baseDelayMs: 20, maxDelayMs: 50, maxAttempts: 1, timeoutMs: 500 } } });
    for (const [tenant, host, compromised] of [['Acme Dental', 'RECEPTION-PC', true], ['Acme Dental', 'SURGERY-2', false], ['Baker & Sons', 'OFFICE-1', false]] as const) {
      const e = await enrol(srv.url, await srv.createToken(tenant), `hw-a11y-${host}`, host);
      const cred = { deviceId: e.deviceId, deviceSecret: e.deviceSecret };
      await signedPost(srv.url, '/v1/heartbeats', cred, heartbeatFor(e.deviceId, { hostname: host, compromised }));
      if (compromised) await signedPost(srv.url, '/v1/alerts', cred, { deviceId: e.deviceId, alerts: [connectionAlert(1), connectionAlert(2)] });
    }
    await srv.createToken('Not Enrolled Yet');
    // A channel whose receiver is not there: a failed delivery with its error on the page.
    await fetch(srv.url + '/v1/notify/channels', {
      method: 'POST',
      headers: { authorization: `Bearer ${srv.adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'SOC webhook', config: { type: 'webhook', url: 'http://127.0.0.1:9/hook' } }),
    });
    const ch = (await (await fetch(srv.url + '/v1/notify/channels', { headers: { authorization: `Bearer ${srv.adminToken}` } })).json()) as { channels: Array<{ id: string }> };
    await fetch(`${srv.url}/v1/notify/channels/${ch.channels[0]!.id}/test`, { method: 'POST', headers: { authorization: `Bearer ${srv.adminToken}` } });
    const res = await fetch(srv.url + '/login', { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ token: srv.adminToken }).toString() });
    cookie = res.headers.get('set-cookie')!.split(';')[0]!;
    for (let i = 0; i < 200; i++) {
      const v = (await (await fetch(srv.url + '/v1/notify/channels', { headers: { authorization: `Bearer ${srv.adminToken}` } })).json()) as { channels: Array<{ failed: number }> };
      if (v.channels[0]!.failed > 0) break;
      await new Promise((r) => setTimeout(r, 25));
    }
    browser = await launch();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await srv?.close();
  });

  async function audit(path: string, colorScheme: 'light' | 'dark', withCookie: boolean) {
    // bypassCSP: only so axe can be injected; the page itself runs no script.
    const context = await browser.newContext({ colorScheme, bypassCSP: true, viewport: { width: 1280, height: 900 } });
    if (withCookie) {
      const [name, value] = cookie.split('=') as [string, string];
      await context.addCookies([{ name, value, url: srv.url }]);
    }
    const page = await context.newPage();
    await page.goto(srv.url + path);
    const html = await page.content(); // before axe is injected
    await page.addScriptTag({ path: AXE });
    const result = (await page.evaluate(`axe.run(document, { resultTypes: ['violations'] })`)) as AxeResult;
    return { page, result, html };
  }

  const fmt = (r: AxeResult) => r.violations.map((v) => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`).join('\n');

  for (const scheme of ['light', 'dark'] as const) {
    it(`the fleet page has no axe violations (${scheme}), no forced refresh, and shows the notifications section`, async () => {
      const { page, result, html } = await audit('/?tested=1', scheme, true);
      expect(fmt(result)).toBe('');
      expect(html.includes('http-equiv="refresh"')).toBe(false);
      expect(html).toContain('Notifications');
      expect(html).toContain('SOC webhook');
      expect(await page.getByRole('button', { name: 'Send test to SOC webhook' }).count()).toBe(1);
      expect(await page.getByRole('status').textContent()).toContain('Test notification queued');
      expect(await page.getByRole('link', { name: 'Refresh' }).getAttribute('href')).toBe('/');
      await page.context().close();
    });

    it(`the sign-in page has no axe violations (${scheme})`, async () => {
      const { page, result } = await audit('/login', scheme, false);
      expect(fmt(result)).toBe('');
      expect(await page.getByRole('main').count()).toBe(1);
      await page.context().close();
    });
  }

  it('the "Send test" button queues a test event for that channel', async () => {
    const { page } = await audit('/', 'light', true);
    const before = ((await (await fetch(srv.url + '/v1/notify/channels', { headers: { authorization: `Bearer ${srv.adminToken}` } })).json()) as { channels: Array<{ failed: number; pending: number }> }).channels[0]!;
    await page.getByRole('button', { name: 'Send test to SOC webhook' }).click();
    await page.waitForURL(/tested=1/);
    expect(await page.getByRole('status').textContent()).toContain('Test notification queued');
    let after = before;
    for (let i = 0; i < 200 && after.failed === before.failed; i++) {
      await new Promise((r) => setTimeout(r, 25));
      after = ((await (await fetch(srv.url + '/v1/notify/channels', { headers: { authorization: `Bearer ${srv.adminToken}` } })).json()) as { channels: Array<{ failed: number; pending: number }> }).channels[0]!;
    }
    expect(after.failed).toBe(before.failed + 1); // port 9 refuses: one attempt allowed, so failed
    await page.context().close();
  });
});
