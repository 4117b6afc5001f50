/**
 * The status window in Debian's Chromium (playwright-core), served with the app's own
 * protocol handler and CSP, for each verdict at 100 % and 200 % scaling. Screenshots go
 * to test-artifacts/renderer/ (gitignored); set VIGIL_UPDATE_DOCS_IMG=1 to refresh
 * docs/img/ from the same run.
 */
import { copyFileSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { BUILTIN_3CX_VERSION, findings, scannedState, states } from '../main/fixtures/agent-states.js';
import { needsTools } from '../helpers/system-tool.js';
import { statusPages, type OpenedPage } from './harness.js';
import type { BrowserScope } from './browser-scope.js';

/** Browser globals inside evaluate callbacks (see browser-scope.ts). */
const noHorizontalScroll = () => {
  const { document } = globalThis as unknown as BrowserScope;
  return document.documentElement.scrollWidth <= document.documentElement.clientWidth;
};

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const artifacts = path.join(repo, 'test-artifacts', 'renderer');

const pages = statusPages(artifacts);
const open = pages.open;

function expectClean(p: OpenedPage) {
  expect(p.problems.cspViolations).toEqual([]);
  expect(p.problems.consoleErrors).toEqual([]);
  expect(p.problems.pageErrors).toEqual([]);
}

/** PNG width/height from the IHDR chunk. */
function pngSize(buf: Buffer): { width: number; height: number } {
  expect(buf.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))).toBe(true);
  return { width: buf.readUInt32BE(16), height: buf.readUInt32BE(20) };
}

const VERDICTS = [
  { name: 'ok', state: states.ok, label: 'OK', glyph: '✓' },
  { name: 'attention', state: states.attention, label: 'Attention needed', glyph: '!' },
  { name: 'compromised', state: states.compromised, label: 'Compromised', glyph: '✕' },
  { name: 'unknown', state: states.unknownScan, label: 'Unknown', glyph: '?' },
] as const;

describe('status window in Chromium', needsTools('chromium'), () => {
  for (const v of VERDICTS) {
    for (const dsf of [1, 2] as const) {
      it(`${v.name} at ${dsf * 100}%: banner, glyph, no CSP violations, screenshot`, async () => {
        const p = await open({ state: v.state(), deviceScaleFactor: dsf });
        const { page } = p;
        await expect.poll(() => page.locator('#status-label').textContent()).toBe(v.label);
        expect(await page.locator('body').getAttribute('data-status')).toBe(v.name);
        expect(await page.locator('#status-glyph').textContent()).toBe(v.glyph);
        expect(await page.title()).toBe(`Vigil: ${v.label}`);
        expect(await page.locator('#status-why').textContent()).toBe(v.state().verdict!.summary);
        // Reflows without horizontal scrolling.
        expect(await page.evaluate(noHorizontalScroll)).toBe(true);
        const shot = await page.screenshot({ fullPage: true, path: path.join(artifacts, `status-${v.name}@${dsf}x.png`) });
        const size = pngSize(shot);
        expect(size.width).toBe(720 * dsf);
        expectClean(p);
        if (process.env.VIGIL_UPDATE_DOCS_IMG === '1' && dsf === 1) {
          mkdirSync(path.join(repo, 'docs/img'), { recursive: true });
          copyFileSync(path.join(artifacts, `status-${v.name}@1x.png`), path.join(repo, 'docs/img', `status-window-${v.name}.png`));
        }
      });
    }
  }

  it('before the first scan (grey, nothing checked yet)', async () => {
    const p = await open({ state: states.unknown() });
    await expect.poll(() => p.page.locator('#status-label').textContent()).toBe('Unknown');
    expect(await p.page.locator('#status-why').textContent()).toBe('Vigil has not been able to check this PC yet.');
    expect(await p.page.locator('#findings').textContent()).toBe('No results yet.');
    expectClean(p);
  });

  it('settings that cannot be used: grey, the reason in the banner, screenshot', async () => {
    const { unavailableTrayState } = await import('../../src/main/agent-state-map.js');
    const reason = 'Vigil is not checking this PC because its settings cannot be used: C:\\ProgramData\\Vigil\\config.json: serverUrl: plain http is only allowed to a loopback address, not vigil.partner.example: use https. Contact your IT provider.';
    const p = await open({ state: unavailableTrayState(reason, { agentVersion: '0.1.0', hostname: 'RECEPTION-PC', packs: [], tenant: 'Acme IT Partners' }) });
    await expect.poll(() => p.page.locator('#status-label').textContent()).toBe('Unknown');
    expect(await p.page.locator('#status-why').textContent()).toBe(reason);
    expect(await p.page.evaluate(noHorizontalScroll)).toBe(true);
    await p.page.screenshot({ fullPage: true, path: path.join(artifacts, 'status-settings-problem@1x.png') });
    expectClean(p);
  });

  it('shows each finding in plain language with the pack advice and its evidence', async () => {
    const p = await open({ state: states.compromised() });
    const { page } = p;
    const first = page.locator('#findings .finding').first();
    await expect.poll(() => first.locator('.finding__title').textContent()).toBe('3CX Desktop App 18.12.416 (for alice) is a compromised build.');
    expect(await first.locator('.finding__advice').textContent()).toMatch(
      /^What to do: Remove the 3CX Desktop App now\. .*uninstall it, use the 3CX web app in your browser/,
    );
    await first.locator('button.finding__toggle').click();
    const evidence = await first.locator('.finding__details dl').textContent();
    expect(evidence).toContain('Version18.12.416');
    expect(evidence).toContain('UseralicE'.replace('E', 'e'));
    expect(await first.locator('.finding__details ol.steps li').count()).toBeGreaterThan(2);
    // The second finding shares the advice: title only.
    expect(await page.locator('#findings .finding').nth(1).locator('.finding__advice').textContent()).toBe(
      'What to do: Remove the 3CX Desktop App now (see above).',
    );
    // Connection alerts name the process and the host.
    expect(await page.locator('#connections .finding__title').textContent()).toBe('3CXDesktopApp.exe (process id 4242) contacted sbmsa.wiki (203.0.113.7:443)');
    // Reporting and versions.
    const health = await page.locator('#health').textContent();
    expect(health).toContain('Last report to your IT provider25 Nov 2026, 09:30 (30 minutes ago)');
    expect(health).toContain('Waiting to be sentNothing');
    expect(await page.locator('#versions').textContent()).toContain(`Incident pack3CX DesktopApp supply-chain compromise (March 2023) (version ${BUILTIN_3CX_VERSION})`);
    expectClean(p);
  });

  it('shows the outbox backlog and reporting problems', async () => {
    const p = await open({ state: states.unknownScan() });
    const health = await p.page.locator('#health').textContent();
    expect(health).toContain('Waiting to be sent3 items');
    expect(await p.page.locator('#notices').isVisible()).toBe(true);
    expect(await p.page.locator('#notices').textContent()).toContain('Reporting to your IT provider is failing: The server could not be reached.');
  });

  it('keyboard: Tab reaches Check now, Open logs and each finding; Enter and Space toggle', async () => {
    const p = await open({ state: states.compromised() });
    const { page } = p;
    await expect.poll(() => page.locator('#status-label').textContent()).toBe('Compromised');
    const focused = () =>
      page.evaluate(() => {
        const a = (globalThis as unknown as BrowserScope).document.activeElement;
        return a ? a.id || a.querySelector('.finding__title')?.textContent || a.textContent || a.tagName : null;
      });
    const order: (string | null)[] = [];
    for (let i = 0; i < 5; i++) {
      await page.keyboard.press('Tab');
      order.push(await focused());
    }
    expect(order).toEqual([
      'check-now',
      'open-logs',
      '3CX Desktop App 18.12.416 (for alice) is a compromised build.',
      'A known malicious file is on this PC: C:/Users/alice/AppData/Local/Programs/3CXDesktopApp/ffmpeg.dll (trojanized ffmpeg.dll).',
      '3CXDesktopApp.exe (process id 4242) contacted sbmsa.wiki (203.0.113.7:443)',
    ]);

    // Back to the first finding; Enter expands it, and its links join the tab order.
    await page.keyboard.press('Shift+Tab');
    await page.keyboard.press('Shift+Tab');
    const toggle = page.locator('#findings button.finding__toggle').first();
    expect(await toggle.getAttribute('aria-expanded')).toBe('false');
    await page.keyboard.press('Enter');
    expect(await toggle.getAttribute('aria-expanded')).toBe('true');
    const detailsId = await toggle.getAttribute('aria-controls');
    expect(await page.locator(`#${detailsId}`).isVisible()).toBe(true);
    await page.keyboard.press('Tab');
    expect(await focused()).toBe('3CX security alert');
    await page.keyboard.press('Enter');
    await expect.poll(p.calls).toEqual([['openAdviceLink', states.compromised().findings[0]!.id, 0]]);
    await page.keyboard.press('Shift+Tab');
    await page.keyboard.press(' ');
    expect(await toggle.getAttribute('aria-expanded')).toBe('false');
    expect(await page.locator(`#${detailsId}`).isVisible()).toBe(false);

    // Check now from the keyboard.
    await page.keyboard.press('Shift+Tab');
    await page.keyboard.press('Shift+Tab');
    expect(await focused()).toBe('check-now');
    await page.keyboard.press('Enter');
    await expect.poll(p.calls).toContainEqual(['checkNow']);
    expectClean(p);
  });

  it('focus is visible', async () => {
    const p = await open({ state: states.ok() });
    await p.page.keyboard.press('Tab');
    const outline = await p.page.evaluate(() => {
      const g = globalThis as unknown as BrowserScope;
      return g.getComputedStyle(g.document.activeElement!).outlineStyle;
    });
    expect(outline).toBe('solid');
  });

  it('screen reader structure: landmarks, headings, live region', async () => {
    const p = await open({ state: states.compromised() });
    await expect.poll(() => p.page.locator('#status-label').textContent()).toBe('Compromised');
    const snap = await p.page.locator('body').ariaSnapshot();
    expect(snap).toMatch(/^- banner:\n {2}- 'heading "This PC’s status: Compromised" \[level=1\]'/);
    expect(snap).toContain('- group "Actions":\n    - button "Check now"\n    - button "Open logs"');
    expect(snap).toContain('- main:');
    expect(snap).toContain('- region "What Vigil found":\n    - heading "What Vigil found" [level=2]');
    expect(snap).toContain('- region "Connection alerts":\n    - heading "Connection alerts" [level=2]');
    expect(snap).toContain('- region "Checks and reporting":\n    - heading "Checks and reporting" [level=2]');
    expect(snap).toContain('- contentinfo "About this PC and Vigil":');
    // Each finding: a level-3 heading holding a button whose name starts with the severity word.
    expect(snap).toContain('- button "Compromised 3CX Desktop App 18.12.416 (for alice) is a compromised build."');
    expect(await p.page.locator('#announcer').getAttribute('aria-live')).toBe('polite');
    expect(await p.page.locator('#announcer').getAttribute('role')).toBe('status');
  });

  it('announces status changes in the live region, not the first state', async () => {
    const p = await open({ state: states.ok() });
    await expect.poll(() => p.page.locator('#status-label').textContent()).toBe('OK');
    expect(await p.page.locator('#announcer').textContent()).toBe('');
    await p.push(states.compromised());
    await expect.poll(() => p.page.locator('#announcer').textContent()).toMatch(/^Status: Compromised\. 3 signs of compromise found/);
    expect(await p.page.locator('body').getAttribute('data-status')).toBe('compromised');
    // A poll with the same status does not re-announce.
    await p.page.evaluate(() => ((globalThis as unknown as BrowserScope).document.getElementById('announcer')!.textContent = 'sentinel'));
    await p.push(states.compromised());
    await p.page.waitForTimeout(120);
    expect(await p.page.locator('#announcer').textContent()).toBe('sentinel');
    expectClean(p);
  });

  it('Check now stays focusable while a check runs (aria-disabled) and does nothing then', async () => {
    const p = await open({ state: { ...states.ok(), scanning: true } });
    const b = p.page.locator('#check-now');
    await expect.poll(() => b.textContent()).toBe('Checking…');
    expect(await b.getAttribute('aria-disabled')).toBe('true');
    await p.page.keyboard.press('Tab');
    expect(await p.page.evaluate(() => (globalThis as unknown as BrowserScope).document.activeElement?.id)).toBe('check-now');
    await p.page.keyboard.press('Enter');
    await b.click({ force: true }); // Playwright treats aria-disabled as disabled; a mouse still can click
    expect(await p.calls()).toEqual([]);
  });

  it('Open logs reports a failure in words', async () => {
    const p = await open({ state: states.ok() });
    await p.page.locator('#open-logs').click();
    await expect.poll(() => p.page.locator('#announcer').textContent()).toBe('The log folder could not be opened.');
    expect(await p.calls()).toEqual([['openLogs']]);
  });

  it('a malformed state draws as unknown instead of breaking', async () => {
    const p = await open({ state: { status: 'purple', findings: 'lots', reporting: null, versions: 7 } });
    await expect.poll(() => p.page.locator('#status-label').textContent()).toBe('Unknown');
    const weird = { ...states.attention(), findings: [{ ...findings.outdated(), evidence: { process: { pid: 'x' } }, advice: { links: 'nope' } }, null, 42] };
    await p.push(weird);
    await expect.poll(() => p.page.locator('#status-label').textContent()).toBe('Attention needed');
    expectClean(p);
  });

  it('without the bridge the page says so and stays usable', async () => {
    const p = await open({ state: null, noBridge: true });
    await expect.poll(() => p.page.locator('#status-why').textContent()).toBe('This window cannot reach Vigil. Close it and open it again from the tray icon.');
    expectClean(p);
  });

  it('user content is never markup', async () => {
    const evil = scannedState([{ ...findings.outdated(), title: '<img src=x onerror="document.title=1">pwned' }]);
    const p = await open({ state: evil });
    await expect.poll(() => p.page.locator('#findings .finding__title').textContent()).toBe('<img src=x onerror="document.title=1">pwned');
    expect(await p.page.locator('#findings img').count()).toBe(0);
    expectClean(p);
  });

  it('narrow window at 200 %: still no horizontal scrolling', async () => {
    const p = await open({ state: states.compromised(), deviceScaleFactor: 2, width: 420, height: 640 });
    await expect.poll(() => p.page.locator('#status-label').textContent()).toBe('Compromised');
    expect(await p.page.evaluate(noHorizontalScroll)).toBe(true);
    await p.page.screenshot({ fullPage: true, path: path.join(artifacts, 'status-compromised-narrow@2x.png') });
  });

  it('dark scheme renders too', async () => {
    const p = await open({ state: states.attention(), colorScheme: 'dark' });
    await expect.poll(() => p.page.locator('#status-label').textContent()).toBe('Attention needed');
    await p.page.screenshot({ fullPage: true, path: path.join(artifacts, 'status-attention-dark@1x.png') });
    expectClean(p);
  });

  it('the built page is the checked-in page plus the bundle', () => {
    expect(readFileSync(path.join(pages.rendererDir(), 'index.html'), 'utf8')).toBe(readFileSync(path.join(repo, 'src/renderer/index.html'), 'utf8'));
    const js = readFileSync(path.join(pages.rendererDir(), 'app.js'), 'utf8');
    expect(js).not.toMatch(/\beval\(|new Function|innerHTML/);
    expect(js).not.toContain('zod');
  });
});
