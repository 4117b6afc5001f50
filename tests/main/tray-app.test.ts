/**
 * The main process end to end, under a fake `electron` that records what the shell does,
 * driving the in-memory FixtureAgent: grey at start, red after a compromised scan, one
 * notification per change, the menu per policy, IPC refused from foreign frames. The
 * scripted agent makes the shell's own behaviour exact (notification ladder, polls,
 * malformed states); tray-app-real-agent.test.ts runs the same scenario on the real
 * agent core, scanning a fixture tree and reporting to the reference backend.
 */
import { mkdtempSync, readFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startTrayApp, type TrayApp, type TrayAppOptions } from '../../src/main/app.js';
import { parseTraySettings } from '../../src/main/settings.js';
import { IPC } from '../../src/shared/ipc.js';
import type { AgentState } from '../../src/shared/agent-state.js';
import type { Finding } from '../../src/shared/scan.js';
import { CSP_HEADER } from '../../src/main/csp.js';
import { createFakeElectron, makeEvent, makeFrame, type FakeElectron } from './fake-electron.js';
import { FixtureAgent } from './fixture-agent.js';
import { findings, states } from './fixtures/agent-states.js';
import { memoryLogger, type LogEntry } from './memory-logger.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const COMPROMISED_SCAN = [findings.compromisedInstall(), findings.knownBadDll(), findings.c2Connection()];
const tick = () => new Promise((r) => setImmediate(r));

interface Harness {
  fe: FakeElectron;
  app: TrayApp | null;
  agent: () => FixtureAgent;
  log: LogEntry[];
  dir: string;
  statusFrame: () => ReturnType<typeof makeFrame>;
}

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'vigil-tray-'));
});
afterEach(() => {
  // Fake class registries are per createFakeElectron call; nothing global to reset.
});

async function start(
  over: Omit<Partial<TrayAppOptions>, 'settings'> & { settings?: Record<string, unknown>; script?: Finding[][] } = {},
  fakeOpts: Parameters<typeof createFakeElectron>[0] = {},
): Promise<Harness> {
  const fe = createFakeElectron({ paths: { userData: path.join(dir, 'userData'), exe: '/opt/Vigil/vigil' }, ...fakeOpts });
  // Not the first run unless a test says so (the first run always opens the window).
  const userData = fe.fake.app.getPath('userData');
  if (!fakeOpts.paths) {
    mkdirSync(userData, { recursive: true });
    writeFileSync(path.join(userData, 'first-run-done'), 'earlier\n');
  }
  const log: LogEntry[] = [];
  let agent: FixtureAgent | null = null;
  const rendererDir = path.join(dir, 'renderer');
  mkdirSync(rendererDir, { recursive: true });
  writeFileSync(path.join(rendererDir, 'index.html'), '<!doctype html><title>Vigil</title>');
  const { settings, script, ...rest } = over;
  const promise = startTrayApp({
    electron: fe.electron,
    agentFactory: (o) => (agent = new FixtureAgent(o, script ?? [COMPROMISED_SCAN])),
    settings: parseTraySettings(settings ?? {}),
    logger: memoryLogger(log),
    paths: { rendererDir, preloadPath: path.join(dir, 'preload.cjs'), assetsDir: path.join(repo, 'assets'), logDir: () => path.join(dir, 'logs') },
    platform: 'linux',
    argv: ['/opt/Vigil/vigil', '--autostart'],
    env: { HOME: dir, XDG_CONFIG_HOME: path.join(dir, 'config') },
    homeDir: dir,
    appVersion: '0.1.0',
    formatTime: (iso) => iso.slice(11, 16),
    ...rest,
  });
  await tick();
  fe.ready();
  const app = await promise;
  await tick();
  return {
    fe,
    app,
    agent: () => {
      if (!agent) throw new Error('agent not started');
      return agent;
    },
    log,
    dir,
    statusFrame: () => {
      const w = fe.windows.at(-1);
      if (!w) throw new Error('no window');
      return w.webContents.mainFrame;
    },
  };
}

const menuLabels = (h: Harness) => (h.fe.trays[0]?.menu?.items ?? []).map((i) => (i.type === 'separator' ? '—' : String(i.label)));
const clickMenu = (h: Harness, id: string) => {
  const item = h.fe.trays[0]?.menu?.items.find((i) => i.id === id);
  if (!item || typeof item.click !== 'function') throw new Error(`no menu item ${id}`);
  (item.click as () => void)();
};

describe('tray app under a fake Electron', () => {
  it('does the before-ready work before ready: sandbox, vigil:// scheme, single-instance lock', async () => {
    const h = await start();
    const names = h.fe.calls.map((c) => `${c.api}.${c.method}`);
    expect(names.slice(0, 3)).toEqual(['app.enableSandbox', 'protocol.registerSchemesAsPrivileged', 'app.requestSingleInstanceLock']);
    const sandbox = h.fe.calls.find((c) => c.method === 'enableSandbox');
    expect(sandbox?.args[0]).toBe(false); // called while not ready
    const scheme = h.fe.calls.find((c) => c.method === 'registerSchemesAsPrivileged');
    expect(scheme?.args).toEqual([[{ scheme: 'vigil', privileges: { standard: true, secure: true } }], false]);
  });

  it('starts grey, turns red after a compromised scan, and notifies exactly once', async () => {
    const h = await start();
    const tray = h.fe.trays[0];
    expect(tray).toBeDefined();
    expect(tray!.image.path).toBe(path.join(repo, 'assets/tray/unknown-24.png'));
    expect(tray!.tooltip).toMatch(/^Vigil: Unknown\./);
    expect(tray!.tooltip).toContain('Not checked yet');
    expect(menuLabels(h)[0]).toBe('Status: Unknown');
    expect(h.fe.notifications).toHaveLength(0);

    clickMenu(h, 'check-now');
    await tick();
    await tick();
    expect(h.agent().scans).toBe(1);
    expect(tray!.image.path).toBe(path.join(repo, 'assets/tray/compromised-24.png'));
    expect(tray!.tooltip).toMatch(/^Vigil: Compromised\. 3 signs of compromise found/);
    expect(tray!.tooltip.length).toBeLessThanOrEqual(127);
    expect(tray!.tooltip).toMatch(/Last check 09:31$/);
    expect(menuLabels(h)[0]).toBe('Status: Compromised');
    expect(h.app?.state()?.status).toBe('compromised');

    expect(h.fe.notifications).toHaveLength(1);
    const n = h.fe.notifications[0]!;
    expect(n.shown).toBe(true);
    expect(n.options.title).toBe('This PC may be compromised');
    expect(n.options.body).toContain('3CX Desktop App 18.12.416');
    expect(n.options.urgency).toBe('critical');

    // Polls re-publish the same verdict: no new notification, no icon churn.
    const setImages = h.fe.calls.filter((c) => c.api === 'Tray' && c.method === 'setImage').length;
    for (let i = 0; i < 5; i++) h.agent().poll();
    expect(h.fe.notifications).toHaveLength(1);
    expect(h.fe.calls.filter((c) => c.api === 'Tray' && c.method === 'setImage')).toHaveLength(setImages);

    // A second scan with the same result is not a change either.
    clickMenu(h, 'check-now');
    await tick();
    await tick();
    expect(h.agent().scans).toBe(2);
    expect(h.fe.notifications).toHaveLength(1);

    // Clicking the notification opens the status window.
    n.emit('click');
    expect(h.fe.windows.at(-1)?.loadedUrl).toBe('vigil://app/index.html');
  });

  it('reports through the injected transport, which is Electron net.fetch', async () => {
    const h = await start();
    await h.app!.checkNow();
    expect(h.fe.fetched.map((f) => f.url)).toEqual(['https://vigil.example.net/api/v1/reports']);
    expect(h.agent().reports).toEqual([{ status: 200, body: '{"ok":true}' }]);
  });

  it('offers Quit only when policy allows it', async () => {
    const managed = await start({ settings: { allowQuit: false } });
    expect(menuLabels(managed)).toEqual(['Status: Unknown', '—', 'Check now', 'Open status', 'Open log folder', '—', 'About Vigil']);
    const unmanaged = await start({ settings: { allowQuit: true } });
    expect(menuLabels(unmanaged)).toEqual(['Status: Unknown', '—', 'Check now', 'Open status', 'Open log folder', '—', 'About Vigil', '—', 'Quit Vigil']);
    const verdict = unmanaged.fe.trays[0]!.menu!.items[0]!;
    expect(verdict.enabled).toBe(false);
  });

  it('quits from the menu only after stopping the agent', async () => {
    const h = await start({ settings: { allowQuit: true } });
    clickMenu(h, 'quit');
    expect(h.agent().stopped).toBe(true);
    await tick();
    await tick();
    const quits = h.fe.calls.filter((c) => c.api === 'app' && c.method === 'quit');
    expect(quits).toHaveLength(2); // the first is deferred until the agent stopped
    expect(h.fe.trays[0]!.destroyed).toBe(true);
  });

  it('serves IPC to the status window and refuses every other sender', async () => {
    const h = await start();
    // No window yet: even a well-formed vigil:// frame is refused.
    expect(await h.fe.fake.ipcMain.invoke(IPC.getState, makeFrame('vigil://app/index.html'))).toBeNull();

    clickMenu(h, 'open-status');
    await tick();
    const frame = h.statusFrame();
    expect(frame.url).toBe('vigil://app/index.html');
    const state = (await h.fe.fake.ipcMain.invoke(IPC.getState, frame)) as AgentState;
    expect(state.status).toBe('unknown');

    const foreign = [
      ['null frame', null],
      ['another origin in the same process', { ...frame, url: 'https://evil.example/index.html' }],
      ['a subframe of the status window', makeFrame('vigil://app/index.html', frame, frame.processId)],
      ['another window on the app origin', makeFrame('vigil://app/index.html', null, 999)],
      ['file:// page', { ...frame, url: 'file:///tmp/index.html' }],
    ] as const;
    for (const [, sender] of foreign) {
      expect(await h.fe.fake.ipcMain.invoke(IPC.checkNow, sender)).toEqual({ ok: false, error: 'refused' });
      expect(await h.fe.fake.ipcMain.invoke(IPC.getState, sender)).toBeNull();
    }
    expect(h.agent().scans).toBe(0);
    const refusals = h.log.filter((e) => e.msg === 'ipc call refused');
    expect(refusals.length).toBe(1 + foreign.length * 2);

    // Malformed arguments from the right frame are refused too.
    expect(await h.fe.fake.ipcMain.invoke(IPC.checkNow, frame, 'extra')).toEqual({ ok: false, error: 'refused' });
    expect(await h.fe.fake.ipcMain.invoke(IPC.openAdviceLink, frame, 'not-hex', 0)).toEqual({ ok: false, error: 'refused' });
    expect(h.agent().scans).toBe(0);

    // The real thing works.
    expect(await h.fe.fake.ipcMain.invoke(IPC.checkNow, frame)).toEqual({ ok: true });
    expect(h.agent().scans).toBe(1);
    const pushed = h.fe.windows.at(-1)!.webContents.sent.filter((s) => s.channel === IPC.state);
    expect((pushed.at(-1)?.args[0] as AgentState).status).toBe('compromised');

    // Once the window is closed its old frame is refused.
    h.fe.windows.at(-1)!.close();
    expect(await h.fe.fake.ipcMain.invoke(IPC.checkNow, frame)).toEqual({ ok: false, error: 'refused' });
  });

  it('opens the log folder and only https advice links from the state', async () => {
    const h = await start();
    clickMenu(h, 'open-status');
    await tick();
    const frame = h.statusFrame();
    expect(await h.fe.fake.ipcMain.invoke(IPC.openLogs, frame)).toEqual({ ok: true });
    expect(h.fe.calls.find((c) => c.api === 'shell' && c.method === 'openPath')?.args).toEqual([path.join(h.dir, 'logs')]);

    await h.app!.checkNow();
    const f = h.app!.state()!.findings[0]!;
    expect(await h.fe.fake.ipcMain.invoke(IPC.openAdviceLink, frame, f.id, 0)).toEqual({ ok: true });
    expect(h.fe.calls.filter((c) => c.method === 'openExternal').map((c) => c.args[0])).toEqual([f.advice!.links[0]!.url]);
    expect((await h.fe.fake.ipcMain.invoke(IPC.openAdviceLink, frame, f.id, 30)) as { ok: boolean }).toMatchObject({ ok: false });
    expect((await h.fe.fake.ipcMain.invoke(IPC.openAdviceLink, frame, 'ffffffffffffffff', 0)) as { ok: boolean }).toMatchObject({ ok: false });
    expect(h.fe.calls.filter((c) => c.method === 'openExternal')).toHaveLength(1);
  });

  it('creates the window with the hardened options and blocks navigation, popups and webviews', async () => {
    const h = await start({ argv: ['/opt/Vigil/vigil'] }); // started by hand: window opens
    const win = h.fe.windows.at(-1)!;
    const wp = (win.options as { webPreferences: Record<string, unknown> }).webPreferences;
    expect(wp).toMatchObject({
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      webviewTag: false,
      disableBlinkFeatures: 'Auxclick',
      devTools: true, // not packaged in this test
      preload: path.join(h.dir, 'preload.cjs'),
    });
    const nav = makeEvent();
    win.webContents.emit('will-navigate', nav, 'https://evil.example/');
    expect(nav.defaultPrevented).toBe(true);
    const redirect = makeEvent();
    win.webContents.emit('will-redirect', redirect, 'https://evil.example/');
    expect(redirect.defaultPrevented).toBe(true);
    const webview = makeEvent();
    win.webContents.emit('will-attach-webview', webview, {}, {});
    expect(webview.defaultPrevented).toBe(true);
    expect(win.webContents.windowOpenHandler?.({ url: 'https://evil.example/' })).toEqual({ action: 'deny' });
    await tick();
    expect(win.visible).toBe(true);

    // Permissions are all denied.
    let granted: boolean | undefined;
    h.fe.sessionHandlers.request?.(null, 'media', (ok: boolean) => (granted = ok));
    expect(granted).toBe(false);
    expect(h.fe.sessionHandlers.check?.(null, 'notifications', 'vigil://app', {})).toBe(false);
    expect(h.fe.sessionHandlers.device?.({})).toBe(false);
  });

  it('devTools are off in a packaged build', async () => {
    const h = await start({ argv: ['/opt/Vigil/vigil'] }, { isPackaged: true });
    const wp = (h.fe.windows.at(-1)!.options as { webPreferences: Record<string, unknown> }).webPreferences;
    expect(wp.devTools).toBe(false);
  });

  it('serves vigil://app from the renderer folder with the CSP header, and nothing outside it', async () => {
    const h = await start();
    const handler = h.fe.fake.protocol.handlers.get('vigil');
    expect(handler).toBeDefined();
    const ok = await handler!(new Request('vigil://app/index.html'));
    expect(ok.status).toBe(200);
    expect(ok.headers.get('content-security-policy')).toBe(CSP_HEADER);
    expect(await ok.text()).toContain('<title>Vigil</title>');
    const bad = await handler!(new Request('vigil://app/..%2f..%2fetc%2fpasswd'));
    expect(bad.status).toBe(404);
  });

  it('a second launch shows the window; a duplicate autostart at login does not', async () => {
    const h = await start();
    expect(h.fe.windows).toHaveLength(0); // started at login, not the first run
    h.fe.fake.app.emit('second-instance', makeEvent(), ['/opt/Vigil/vigil', '--autostart'], '/');
    expect(h.fe.windows).toHaveLength(0);
    h.fe.fake.app.emit('second-instance', makeEvent(), ['/opt/Vigil/vigil'], '/');
    expect(h.fe.windows).toHaveLength(1);
    h.fe.fake.app.emit('second-instance', makeEvent(), ['/opt/Vigil/vigil'], '/');
    expect(h.fe.windows).toHaveLength(1); // the same window is shown again
  });

  it('a second instance hands over and quits without starting anything', async () => {
    const h = await start({}, { singleInstanceLock: false });
    expect(h.app).toBeNull();
    expect(h.fe.calls.some((c) => c.api === 'app' && c.method === 'quit')).toBe(true);
    expect(h.fe.trays).toHaveLength(0);
    expect(h.fe.fake.ipcMain.handlers.size).toBe(0);
  });

  it('opens the window on first run even when started at login (no tray host may exist)', async () => {
    const userData = path.join(dir, 'fresh');
    const fe1 = await start({}, { paths: { userData, exe: '/opt/Vigil/vigil' } });
    await tick();
    expect(fe1.fe.windows).toHaveLength(1);
    expect(existsSync(path.join(userData, 'first-run-done'))).toBe(true);
    const fe2 = await start({}, { paths: { userData, exe: '/opt/Vigil/vigil' } });
    expect(fe2.fe.windows).toHaveLength(0);
  });

  it('without a tray the window opens and the agent still runs', async () => {
    const h = await start({}, { trayThrows: true }); // at login, not the first run
    expect(h.app?.trayAvailable).toBe(false);
    expect(h.fe.windows).toHaveLength(1);
    expect(await h.app!.checkNow()).toEqual({ ok: true });
    expect(h.app!.state()?.status).toBe('compromised');
    expect(h.fe.notifications).toHaveLength(1);
    expect(h.log.some((e) => e.level === 'error' && e.msg === 'could not create the tray icon')).toBe(true);
  });

  it('an agent that fails to start leaves a grey icon and a working window', async () => {
    const h = await start({
      agentFactory: () => {
        throw new Error('config unreadable');
      },
    });
    expect(h.app).not.toBeNull();
    expect(h.fe.trays[0]!.tooltip).toMatch(/^Vigil: Unknown/);
    expect(await h.app!.checkNow()).toMatchObject({ ok: false });
    expect(h.log.some((e) => e.msg === 'the agent could not start')).toBe(true);
  });

  it('a malformed state from the agent turns the icon grey and does not crash', async () => {
    const h = await start();
    await h.app!.checkNow();
    expect(h.fe.trays[0]!.image.path).toContain('compromised');
    h.agent().publishRaw({ status: 'purple', findings: 'lots' });
    expect(h.fe.trays[0]!.image.path).toContain('unknown');
    expect(h.app!.state()).toBeNull();
    expect(h.log.filter((e) => e.msg.startsWith('agent state failed validation'))).toHaveLength(1);
    h.agent().publishRaw(null);
    h.agent().poll(); // a valid state again
    expect(h.fe.trays[0]!.image.path).toContain('compromised');
    // compromised → (invalid) → compromised is not a new change worth a notification
    expect(h.fe.notifications).toHaveLength(1);
  });

  it('About shows agent and pack versions, device id and tenant', async () => {
    const h = await start();
    clickMenu(h, 'about');
    const box = h.fe.dialogs[0] as { message: string; detail: string };
    expect(box.message).toBe('Vigil 0.1.0');
    expect(box.detail).toContain('Agent version: 0.1.0');
    expect(box.detail).toMatch(/3CX DesktopApp supply-chain compromise \(March 2023\) \(3cx-desktopapp-2023-03, version \d+\)/);
    expect(box.detail).toContain('Device ID: dev_7f3a9c2e');
    expect(box.detail).toContain('Tenant: Acme IT Partners');
  });

  it('notifications follow the documented ladder over a session', async () => {
    const h = await start({
      script: [[findings.outdated()], [], [findings.unreadableProfile()], COMPROMISED_SCAN, COMPROMISED_SCAN, [], COMPROMISED_SCAN],
    });
    const statuses: string[] = [];
    for (let i = 0; i < 7; i++) {
      await h.app!.checkNow();
      statuses.push(`${h.app!.state()!.status}:${h.fe.notifications.length}`);
    }
    expect(statuses).toEqual(['attention:1', 'ok:1', 'unknown:1', 'compromised:2', 'compromised:2', 'ok:2', 'compromised:3']);
  });

  it('honours settings.notifications = false', async () => {
    const h = await start({ settings: { notifications: false } });
    await h.app!.checkNow();
    expect(h.fe.notifications).toHaveLength(0);
  });

  describe('autostart', () => {
    it('packaged on Linux: writes an XDG autostart entry for the user', async () => {
      const h = await start({}, { isPackaged: true });
      const file = path.join(h.dir, 'config/autostart/vigil.desktop');
      expect(readFileSync(file, 'utf8')).toContain('Exec="/opt/Vigil/vigil" --autostart');
    });

    it('packaged on Windows, per user: a login item with --autostart', async () => {
      const h = await start({ platform: 'win32' }, { isPackaged: true });
      expect(h.fe.calls.filter((c) => c.method === 'setLoginItemSettings').map((c) => c.args[0])).toEqual([
        { openAtLogin: true, path: '/opt/Vigil/vigil', args: ['--autostart'] },
      ]);
      expect(h.fe.calls.some((c) => c.method === 'setAppUserModelId' && c.args[0] === 'com.vigil.agent')).toBe(true);
      expect(h.fe.trays[0]!.image.path).toBe(path.join(repo, 'assets/tray/unknown.ico'));
    });

    it('per-machine install (HKLM Run): no per-user entry at all', async () => {
      const h = await start({ platform: 'win32', settings: { autostart: 'machine' } }, { isPackaged: true });
      expect(h.fe.calls.some((c) => c.method === 'setLoginItemSettings')).toBe(false);
      const l = await start({ platform: 'linux', settings: { autostart: 'machine' } }, { isPackaged: true });
      expect(existsSync(path.join(l.dir, 'config/autostart/vigil.desktop'))).toBe(false);
    });

    it('development builds never register', async () => {
      const h = await start({ platform: 'win32' }, { isPackaged: false });
      expect(h.fe.calls.some((c) => c.method === 'setLoginItemSettings')).toBe(false);
    });
  });
});

// Keep the unused-state import honest: the fixtures must validate.
it('fixture states validate', () => {
  for (const f of Object.values(states)) expect(() => f()).not.toThrow();
});
