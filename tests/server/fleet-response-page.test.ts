/**
 * The fleet page's incident views in Debian's Chromium (playwright-core), against the real
 * server on loopback: coverage per published pack, the check-now and heartbeat buttons, a
 * device page with findings and advice, and alerts acknowledged and resolved with a name and
 * a note. Every view passes axe-core's WCAG 2.1 AA rules in light and dark; screenshots go
 * to test-artifacts/fleet-page/ (docs/img/fleet-*.png are copies). Skips (one line, counted) when chromium is missing; under CI=true it fails.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generatePackKey, signPack } from '../../src/core/pack/pack-signature.js';
import { alertFromFinding } from '../../src/core/report/alert-from-finding.js';
import { testPack } from '../helpers/test-pack.js';
import { needsTools, toolPath } from '../helpers/system-tool.js';
import { compromisedFindings, heartbeatFor } from './helpers/sample-reports.js';
import { enrol, signedPost } from './helpers/signed-request.js';
import { startTestServer, type TestServer } from './helpers/test-server.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
/** Screenshots of each view; docs/img/fleet-*.png are copies of these. */
const SHOTS = path.join(ROOT, 'test-artifacts', 'fleet-page');
const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

let browser: Browser;
let srv: TestServer;
const ids: Record<string, string> = {};
const secrets: Record<string, string> = {};

async function axeViolations(page: Page): Promise<string[]> {
  await page.addScriptTag({ content: AXE });
  const r = await page.evaluate(async () => {
    const axe = (globalThis as unknown as { axe: { run: (o: unknown) => Promise<{ violations: Array<{ id: string; nodes: Array<{ target: unknown }> }> }> } }).axe;
    return axe.run({ runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } });
  });
  return r.violations.map((v) => `${v.id}: ${JSON.stringify(v.nodes.map((n) => n.target))}`);
}

describe('fleet page: incidents, device page, alert triage (chromium)', { ...needsTools('chromium'), timeout: 120_000 }, () => {
  beforeAll(async () => {
    srv = await startTestServer({ heartbeatIntervalSec: 60 });
    const key = generatePackKey('acme-2026');
    for (const [name, stable, tenant] of [['RECEPTION-PC', 'stable-rec-0001', 'Acme Dental'], ['SURGERY-1', 'stable-surg-001', 'Acme Dental'], ['FRONT-DESK', 'stable-front-01', 'Other Ltd']] as const) {
      const e = await enrol(srv.url, await srv.createToken(tenant), stable, name);
      ids[name] = e.deviceId;
      secrets[name] = e.deviceSecret;
    }
    const auth = { authorization: `Bearer ${srv.adminToken}`, 'content-type': 'application/json' };
    await fetch(`${srv.url}/v1/pack-keys`, { method: 'POST', headers: auth, body: JSON.stringify({ keyId: key.keyId, publicKey: key.publicKey }) });
    const pub = await fetch(`${srv.url}/v1/packs?all=true&by=alice`, { method: 'POST', headers: auth, body: JSON.stringify(signPack(testPack({ version: 2 }), key.keyId, key.privateKeyPem)) });
    expect(pub.status).toBe(201);
    // RECEPTION-PC runs v2 and is compromised under it; SURGERY-1 still runs nothing; FRONT-DESK never reported.
    const later = new Date(Date.now() + 1000);
    const findings = compromisedFindings(later).map((f) => ({ ...f, packId: 'test-softphone-2023' }));
    const hb = { ...heartbeatFor(ids['RECEPTION-PC']!, { sentAt: later, hostname: 'RECEPTION-PC', compromised: true }), lastScanAt: later.toISOString(), findings, packs: [{ id: 'test-softphone-2023', version: 2, title: 'Test softphone incident', origin: 'signed:acme-2026', receivedAt: later.toISOString() }], problems: ['pack other-pack v3 from the backend: refused: signatures: key "mallory" is not trusted; keeping the last good pack'] };
    const c = { deviceId: ids['RECEPTION-PC']!, deviceSecret: secrets['RECEPTION-PC']! };
    expect((await signedPost(srv.url, '/v1/heartbeats', c, { ...hb, verdict: { ...hb.verdict!, status: 'compromised' }, status: 'compromised' })).status).toBe(200);
    const alerts = findings.slice(0, 2).map((f) => alertFromFinding('finding', f, later));
    expect((await signedPost(srv.url, '/v1/alerts', c, { deviceId: c.deviceId, alerts })).status).toBe(200);
    browser = await chromium.launch({ executablePath: toolPath('chromium'), args: ['--no-sandbox', '--disable-gpu', '--no-first-run'] });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await srv?.close();
  });

  async function signedInPage(scheme: 'light' | 'dark'): Promise<Page> {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, colorScheme: scheme, bypassCSP: true, locale: 'en-GB', timezoneId: 'UTC' });
    const page = await context.newPage();
    await page.goto(`${srv.url}/login`);
    await page.fill('#token', srv.adminToken);
    await page.click('button[type=submit]');
    await page.waitForURL(`${srv.url}/`);
    return page;
  }

  it('incidents: coverage per pack, then Scan now and a lowered heartbeat from the buttons', async () => {
    const page = await signedInPage('light');
    await page.getByRole('link', { name: 'Incidents and packs' }).click();
    await page.waitForURL(`${srv.url}/incidents`);
    const row = page.locator('tbody tr').first();
    await expect.poll(() => row.textContent()).toMatch(/Test softphone incident/);
    const cells = await row.locator('td').allTextContents();
    expect(cells.slice(0, 6)).toEqual(['1 / 3', '0', '2', 'compromised 1', '0', '0']);
    expect(cells[7]).toMatch(/SURGERY-1 \(Acme Dental, offline\)/);
    await page.screenshot({ path: path.join(SHOTS, 'fleet-incidents.png'), fullPage: true });

    await page.selectOption('#scan-scope', 'Acme Dental');
    await page.fill('#scan-by', 'Alice');
    await page.getByRole('button', { name: 'Scan now', exact: true }).click();
    await expect.poll(() => page.locator('[role=status]').textContent()).toBe('Scan requested of 2 device(s).');
    const list = (await (await fetch(`${srv.url}/v1/scan-requests`, { headers: { authorization: `Bearer ${srv.adminToken}` } })).json()) as { scanRequests: Array<{ tenant: string; requestedBy: string; targeted: number }> };
    expect(list.scanRequests[0]).toMatchObject({ tenant: 'Acme Dental', requestedBy: 'Alice (fleet page)', targeted: 2 });
    await page.selectOption('#hb-tenant', 'Acme Dental');
    await page.getByRole('button', { name: 'Lower the heartbeat' }).click();
    await expect.poll(() => page.locator('[role=status]').textContent()).toMatch(/^Acme Dental heartbeats every 15 s until /);
    expect(await page.locator('main').textContent()).toMatch(/Acme Dental: every 15 s until/);
    for (const scheme of ['light', 'dark'] as const) {
      const p = scheme === 'light' ? page : await signedInPage('dark');
      if (scheme === 'dark') await p.goto(`${srv.url}/incidents`);
      expect(await axeViolations(p)).toEqual([]);
    }
  });

  it('device page from the fleet list: findings with advice, packs with arrival, problems, and its own Scan now', async () => {
    const page = await signedInPage('light');
    await page.getByRole('link', { name: 'RECEPTION-PC' }).click();
    await page.waitForURL(/\/devices\/dev_/);
    const main = (await page.locator('main').textContent())!;
    expect(main).toMatch(/3CX Desktop App 18\.12\.416 is a compromised build\./);
    expect(main).toMatch(/Test softphone incident \(test-softphone-2023\) v2, signed:acme-2026, arrived/);
    expect(main).toMatch(/key "mallory" is not trusted/);
    expect(main).toMatch(/connection watch: on/);
    expect(await page.locator('section:has(h2:text("Recent alerts")) tbody tr').count()).toBe(2);
    await page.screenshot({ path: path.join(SHOTS, 'fleet-device.png'), fullPage: true });
    await page.getByRole('button', { name: 'Scan this device now' }).click();
    await expect.poll(() => page.locator('[role=status]').textContent()).toMatch(/Scan requested/);
    expect(await axeViolations(page)).toEqual([]);
    const dark = await signedInPage('dark');
    await dark.goto(page.url());
    expect(await axeViolations(dark)).toEqual([]);
  });

  it('alerts: acknowledge with a note, resolve, and the open filter hides resolved ones', async () => {
    const page = await signedInPage('light');
    await page.getByRole('link', { name: 'Open alerts' }).click();
    await page.waitForURL(`${srv.url}/alerts`);
    expect(await page.locator('tbody tr').count()).toBe(2);
    await page.fill('#note-0', 'Called the practice; PC isolated');
    await page.fill('#by-0', 'Alice');
    await page.click('tbody tr >> nth=0 >> text=Acknowledge');
    await page.waitForURL(`${srv.url}/alerts?state=unresolved`);
    expect(await page.locator('tbody tr').first().textContent()).toMatch(/acknowledged by Alice \(fleet page\).*Called the practice; PC isolated/);
    await page.screenshot({ path: path.join(SHOTS, 'fleet-alerts.png'), fullPage: true });
    await page.click('tbody tr >> nth=1 >> text=Resolve');
    expect(await page.locator('tbody tr').count()).toBe(1);
    await page.click('a:text("Resolved")');
    expect(await page.locator('tbody tr').count()).toBe(1);
    const api = (await (await fetch(`${srv.url}/v1/alert-triage?state=all`, { headers: { authorization: `Bearer ${srv.adminToken}` } })).json()) as { alerts: Array<{ triage: { state: string; by: string | null; note: string | null } }> };
    expect(api.alerts.map((a) => a.triage.state).sort()).toEqual(['acknowledged', 'resolved']);
    expect(await axeViolations(page)).toEqual([]);
  });
});
