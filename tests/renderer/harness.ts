/**
 * Serves the built status window to Debian's Chromium through the app's own protocol
 * handler (src/main/app-protocol.ts), so the page gets exactly the headers the app sends,
 * CSP included. Chromium cannot load vigil:// without Electron, so requests to
 * https://vigil.test/ are intercepted and answered by the handler as vigil://app/….
 * A fake `window.vigil` bridge is injected before the page's own script runs.
 */
import { mkdirSync, mkdtempSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { buildRenderer } from '../../scripts/build-renderer.js';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { createAppProtocolHandler } from '../../src/main/app-protocol.js';
import type { AgentState } from '../../src/shared/agent-state.js';
import { silentLogger } from '../../src/core/logging/logger.js';
import { toolPath } from '../helpers/system-tool.js';
import type { BrowserScope, Globals } from './browser-scope.js';

export const ORIGIN = 'https://vigil.test';
/** Call from a test or hook declared with needsTools('chromium') (CHROMIUM_PATH, else chromium on PATH). */
export async function launch(): Promise<Browser> {
  return chromium.launch({
    executablePath: toolPath('chromium'),
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync'],
  });
}

export interface PageProblems {
  cspViolations: string[];
  consoleErrors: string[];
  pageErrors: string[];
}

export interface OpenOptions {
  state: AgentState | null | unknown;
  deviceScaleFactor?: 1 | 2;
  width?: number;
  height?: number;
  /** Leave window.vigil undefined (a page opened without the preload). */
  noBridge?: boolean;
  colorScheme?: 'light' | 'dark';
}

export interface OpenedPage {
  context: BrowserContext;
  page: Page;
  problems: PageProblems;
  calls: () => Promise<unknown[][]>;
  push: (state: unknown) => Promise<void>;
}

export async function openStatusPage(browser: Browser, rendererDir: string, o: OpenOptions): Promise<OpenedPage> {
  const context = await browser.newContext({
    viewport: { width: o.width ?? 720, height: o.height ?? 640 },
    deviceScaleFactor: o.deviceScaleFactor ?? 1,
    locale: 'en-GB',
    timezoneId: 'UTC',
    colorScheme: o.colorScheme ?? 'light',
    reducedMotion: 'reduce',
  });
  const handler = createAppProtocolHandler({ rendererDir, readFile: (f) => readFile(f), logger: silentLogger });
  await context.route(`${ORIGIN}/**`, async (route) => {
    const url = route.request().url().replace(ORIGIN, 'vigil://app');
    const res = await handler(new Request(url, { method: route.request().method() }));
    await route.fulfill({ status: res.status, headers: Object.fromEntries(res.headers), body: Buffer.from(await res.arrayBuffer()) });
  });
  // Anything else (a stray request to the network) fails loudly.
  await context.route((url) => !url.href.startsWith(ORIGIN), (route) => route.abort('blockedbyclient'));

  const page = await context.newPage();
  const problems: PageProblems = { cspViolations: [], consoleErrors: [], pageErrors: [] };
  page.on('console', (m) => {
    if (m.type() === 'error' || /Content Security Policy|Trusted Type/i.test(m.text())) problems.consoleErrors.push(m.text());
  });
  page.on('pageerror', (e) => problems.pageErrors.push(e.message));
  await page.exposeFunction('__vigilViolation', (v: string) => problems.cspViolations.push(v));
  await page.clock.setFixedTime(new Date('2026-11-25T10:00:00Z'));
  await page.addInitScript(
    ({ state, noBridge }) => {
      const w = globalThis as unknown as Globals;
      const { document } = globalThis as unknown as BrowserScope;
      document.addEventListener('securitypolicyviolation', (e) => {
        (w.__vigilViolation as (s: string) => void)(`${e.violatedDirective} ${e.blockedURI}`);
      });
      const calls: unknown[][] = [];
      const listeners: ((s: unknown) => void)[] = [];
      w.__calls = calls;
      w.__push = (s: unknown) => listeners.forEach((l) => l(s));
      if (noBridge) return;
      w.vigil = Object.freeze({
        getState: async () => state,
        onState: (cb: (s: unknown) => void) => {
          listeners.push(cb);
          return () => listeners.splice(listeners.indexOf(cb), 1);
        },
        checkNow: async () => (calls.push(['checkNow']), { ok: true }),
        openLogs: async () => (calls.push(['openLogs']), { ok: false, error: 'The log folder could not be opened.' }),
        openAdviceLink: async (id: string, i: number) => (calls.push(['openAdviceLink', id, i]), { ok: true }),
      });
    },
    { state: o.state, noBridge: o.noBridge ?? false },
  );
  await page.goto(`${ORIGIN}/index.html`);
  await page.waitForFunction(() => (globalThis as unknown as BrowserScope).document.getElementById('status-why')?.textContent !== 'Loading…');
  return {
    context,
    page,
    problems,
    calls: () => page.evaluate(() => (globalThis as unknown as { __calls: unknown[][] }).__calls),
    push: (s) => page.evaluate((st) => (globalThis as unknown as { __push: (x: unknown) => void }).__push(st), s),
  };
}

export interface StatusPages {
  /** Opens the status window in a fresh context; it is closed after the suite. */
  open(o: OpenOptions): Promise<OpenedPage>;
  /** The built renderer's folder (set once the suite has started). */
  rendererDir(): string;
}

/**
 * The status window for one suite: before its tests, builds the renderer into a temp folder,
 * launches Chromium and makes `artifacts` (screenshots); after them, closes every page it
 * opened and the browser. Call in a describe declared with needsTools('chromium'), or at
 * the top of a file whose tests all declare it.
 */
export function statusPages(artifacts: string): StatusPages {
  let browser: Browser | undefined;
  let dir = '';
  const opened: OpenedPage[] = [];
  beforeAll(async () => {
    dir = await buildRenderer({ outDir: mkdtempSync(path.join(tmpdir(), 'vigil-renderer-')) });
    browser = await launch();
    mkdirSync(artifacts, { recursive: true });
  });
  afterAll(async () => {
    for (const o of opened) await o.context.close().catch(() => {});
    await browser?.close();
  });
  return {
    open: async (o) => {
      const p = await openStatusPage(browser!, dir, o);
      opened.push(p);
      return p;
    },
    rendererDir: () => dir,
  };
}
