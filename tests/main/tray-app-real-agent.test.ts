/**
 * The "done when", with the real agent core: the main process under the fake
 * `electron`, bound by src/main/agent-binding.ts to the agent `vigil run` uses
 * (assembleAgent → createAgent), scanning a Windows fixture tree with the real runScan
 * (a per-user 3CX Desktop App whose generated executable carries VERSIONINFO 18.12.416)
 * and reporting through the fake's net.fetch to the real reference backend on loopback.
 *
 * Grey at start, red after the compromised scan, exactly one notification, the menu per
 * the settings file's allowQuit, IPC from an unexpected frame refused, and a settings
 * file that cannot be used leaving a grey icon that says why.
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import * as os from 'node:os';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startTrayApp, type TrayApp } from '../../src/main/app.js';
import { bindTrayAgent, type TrayAgentBinding } from '../../src/main/agent-binding.js';
import { loadConfiguredPacks } from '../../src/core/agent-assembly.js';
import { openTarget } from '../../src/core/inventory/scan-target.js';
import { runScan } from '../../src/core/scan.js';
import { IPC } from '../../src/shared/ipc.js';
import type { AgentState } from '../../src/shared/agent-state.js';
import type { AlertList, DeviceDetail, DeviceList } from '../../src/shared/protocol.js';
import { startTestServer, type TestServer } from '../server/helpers/test-server.js';
import { startConnectProxy } from '../helpers/connect-proxy.js';
import { createFakeElectron, makeFrame, type FakeElectron, type FakeElectronOptions } from './fake-electron.js';
import { CREDENTIAL_FILE } from '../../src/core/report/credential-store.js';

type FakeSafeStorage = NonNullable<FakeElectronOptions['safeStorage']>;
import { memoryLogger, type LogEntry } from './memory-logger.js';
import { INSTALL_DIR, windowsTree, type WindowsTree } from './fixtures/windows-tree.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const tick = () => new Promise((r) => setImmediate(r));

let srv: TestServer;
beforeAll(async () => {
  srv = await startTestServer();
});
// Quitting stops the agent mid-delivery: do not wait for its half-sent request.
afterAll(() => srv.closeNow());

interface Harness {
  fe: FakeElectron;
  app: TrayApp;
  binding: TrayAgentBinding;
  log: LogEntry[];
  dir: string;
  tree: WindowsTree;
  scans: () => number;
  /** Lets the first (scheduled) scan run; until then the agent is started but has not scanned. */
  releaseFirstScan: () => void;
}

const running: Harness[] = [];
afterEach(async () => {
  // Stop every agent the way the app does on quit (timers, reporter, outbox).
  for (const h of running.splice(0)) {
    h.releaseFirstScan();
    h.fe.fake.app.quit();
    await waitFor(() => h.fe.calls.filter((c) => c.api === 'app' && c.method === 'quit').length >= 2);
  }
});

/** Waits until `cond` holds; bounded by the test timeout, never a timed assertion. */
async function waitFor(cond: () => boolean): Promise<void> {
  while (!cond()) await new Promise((r) => setTimeout(r, 10));
}

async function start(opts: { settings?: Record<string, unknown> | string; version?: string | null; packaged?: boolean; safeStorage?: FakeSafeStorage; dir?: string } = {}): Promise<Harness> {
  // `dir` again: the same user's state folder after a restart.
  const dir = opts.dir ?? (await mkdtemp(path.join(tmpdir(), 'vigil-tray-real-')));
  const tree = await windowsTree(opts.version === undefined ? '18.12.416' : opts.version);
  const configFile = path.join(dir, 'config.json');
  const settings =
    typeof opts.settings === 'string'
      ? opts.settings
      : JSON.stringify({ serverUrl: srv.url, enrollToken: await srv.createToken('Acme IT Partners'), stateDir: 'state', heartbeatIntervalSec: 3600, ...opts.settings });
  await writeFile(configFile, settings);

  let scans = 0;
  let release!: () => void;
  const firstScan = new Promise<void>((r) => (release = r));
  const binding = await bindTrayAgent({
    file: configFile,
    assembly: {
      // The real scan over the fixture tree instead of this Linux machine's disk.
      scanner: async (config, log) => {
        const { packs } = await loadConfiguredPacks(config, log);
        return async () => {
          await firstScan;
          scans++;
          return runScan({ target: await openTarget({ root: tree.root }), packs });
        };
      },
      stableIdProbe: async () => ({ hardware: `4C4C4544-0042-3510-8052-${dir.slice(-8).toUpperCase().padStart(12, '0')}` }),
    },
  });

  const fe = createFakeElectron({
    paths: { userData: path.join(dir, 'userData'), exe: 'C:/Program Files/Vigil/Vigil.exe' },
    isPackaged: opts.packaged ?? false,
    netFetch: (input, init) => fetch(input, init),
    ...(opts.safeStorage ? { safeStorage: opts.safeStorage } : {}),
  });
  const log: LogEntry[] = [];
  const promise = startTrayApp({
    electron: fe.electron,
    agentFactory: binding.agentFactory,
    settings: binding.settings,
    // As main.ts does: the settings' proxy goes to the session before the agent starts.
    ...(binding.load.ok ? { proxy: binding.load.config.proxy } : {}),
    logger: memoryLogger(log),
    paths: { rendererDir: path.join(repo, 'src/renderer'), preloadPath: path.join(dir, 'preload.cjs'), assetsDir: path.join(repo, 'assets'), logDir: () => path.join(dir, 'logs') },
    platform: 'win32',
    argv: ['C:/Program Files/Vigil/Vigil.exe', '--autostart'],
    env: {},
    homeDir: dir,
    appVersion: '0.1.0',
    formatTime: (iso) => iso.slice(11, 16),
    autostartFs: { writeFile: () => {}, removeFile: () => {} },
  });
  await tick();
  fe.ready();
  const app = await promise;
  if (!app) throw new Error('the app did not start');
  const h: Harness = { fe, app, binding, log, dir, tree, scans: () => scans, releaseFirstScan: release };
  running.push(h);
  return h;
}

const restart = (h: Harness, opts: { safeStorage?: FakeSafeStorage } = {}) => start({ ...opts, dir: h.dir });
const tray = (h: Harness) => h.fe.trays[0]!;
const menuIds = (h: Harness) => (tray(h).menu?.items ?? []).map((i) => (i.type === 'separator' ? '—' : String(i.id)));
const clickMenu = (h: Harness, id: string) => {
  const item = tray(h).menu?.items.find((i) => i.id === id);
  if (!item || typeof item.click !== 'function') throw new Error(`no menu item ${id}`);
  (item.click as () => void)();
};
const openWindow = async (h: Harness) => {
  clickMenu(h, 'open-status');
  await tick();
  return h.fe.windows.at(-1)!.webContents.mainFrame;
};

describe('the tray app on the real agent core', () => {
  it('starts grey, turns red after the compromised scan, notifies once, and reports through net.fetch', async () => {
    const h = await start();
    // Started, enrolling perhaps, but no scan has finished: grey.
    expect(tray(h).image.path).toBe(path.join(repo, 'assets/tray/unknown.ico'));
    expect(tray(h).tooltip).toMatch(/^Vigil: Unknown\. (Checking now…|Not checked yet)$/);
    expect(h.app.state()).toMatchObject({ status: 'unknown', findings: [], reporting: { configured: true } });
    expect(h.app.state()!.lastScanAt).toBeUndefined();
    expect(h.fe.notifications).toHaveLength(0);
    expect(h.scans()).toBe(0);

    h.releaseFirstScan();
    expect(await h.app.checkNow()).toEqual({ ok: true }); // joins the scheduled scan, or runs one
    const state = h.app.state()!;
    expect(state.status).toBe('compromised');
    expect(state.installs).toEqual([
      expect.objectContaining({ application: '3cx-desktop-app', user: 'alice', version: '18.12.416', versionSource: 'versioninfo', versionClass: 'compromised', location: path.join(h.tree.root, INSTALL_DIR) }),
    ]);
    const install = state.findings.find((f) => f.category === 'install')!;
    expect(install).toMatchObject({ severity: 'compromised', evidence: { user: 'alice', version: '18.12.416' } });
    expect(install.advice?.text).toMatch(/uninstall/i);
    expect(tray(h).image.path).toBe(path.join(repo, 'assets/tray/compromised.ico'));
    expect(tray(h).tooltip).toMatch(/^Vigil: Compromised\. .*Last check \d\d:\d\d$/);
    expect(tray(h).tooltip.length).toBeLessThanOrEqual(127);
    expect(tray(h).menu!.items[0]!.label).toBe('Status: Compromised');

    expect(h.fe.notifications).toHaveLength(1);
    expect(h.fe.notifications[0]!.options).toMatchObject({ title: 'This PC may be compromised', urgency: 'critical' });
    expect(h.fe.notifications[0]!.options.body).toBe(`${state.verdict!.summary} Open Vigil to see what to do.`);

    // The reporter enrols and delivers over net.fetch (the system proxy / OS trust store path).
    await waitFor(() => {
      const r = h.app.state()!.reporting;
      return r.enrolled && r.backlog === 0 && r.lastSuccessAt !== undefined;
    });
    const urls = h.fe.fetched.map((f) => new URL(f.url).pathname);
    expect(urls).toContain('/v1/enroll');
    expect(urls).toContain('/v1/alerts');
    expect(h.fe.fetched.every((f) => f.url.startsWith(srv.url))).toBe(true);
    const me = h.app.state()!.device;
    expect(me).toMatchObject({ id: expect.stringMatching(/^dev_/), tenant: 'Acme IT Partners', hostname: os.hostname() });
    const alerts = await srv.admin<AlertList>('/v1/alerts?tenant=Acme%20IT%20Partners');
    expect(alerts.body.alerts.filter((a) => a.deviceId === me.id).length).toBeGreaterThanOrEqual(1);

    // Another check finds the same: still red, no second notification.
    expect(await h.app.checkNow()).toEqual({ ok: true });
    expect(h.scans()).toBeGreaterThanOrEqual(2);
    expect(h.app.state()!.status).toBe('compromised');
    expect(h.fe.notifications).toHaveLength(1);

    // The backend holds the verdict from the heartbeat.
    await waitFor(() => h.app.state()!.reporting.backlog === 0);
    const devices = await srv.admin<DeviceList>('/v1/devices?tenant=Acme%20IT%20Partners');
    expect(devices.body.devices.find((d) => d.deviceId === me.id)).toMatchObject({ status: 'compromised', hostname: os.hostname() });

    // About shows what the agent knows.
    clickMenu(h, 'about');
    const box = h.fe.dialogs[0] as { detail: string };
    expect(box.detail).toContain(`Device ID: ${me.id}`);
    expect(box.detail).toContain('Tenant: Acme IT Partners');
    expect(box.detail).toMatch(/3CX DesktopApp supply-chain compromise \(March 2023\) \(3cx-desktopapp-2023-03, version 2\)/);
  });

  it('a proxy URL in the settings: the session is set to it before the agent’s first request, which goes through net.fetch', async () => {
    const h = await start({ settings: { proxy: 'http://proxy.corp.example:3128' } });
    const setProxy = h.fe.calls.filter((c) => c.api === 'session' && c.method === 'setProxy');
    expect(setProxy.map((c) => c.args[0])).toEqual([{ mode: 'fixed_servers', proxyRules: 'http://proxy.corp.example:3128' }]);
    const firstFetch = h.fe.calls.findIndex((c) => c.api === 'net' && c.method === 'fetch');
    expect(firstFetch === -1 || firstFetch > h.fe.calls.indexOf(setProxy[0]!)).toBe(true);
    h.releaseFirstScan();
    await h.app.checkNow();
    await waitFor(() => h.app.state()!.reporting.enrolled);
    expect(h.fe.fetched.map((f) => new URL(f.url).pathname)).toContain('/v1/enroll');
    expect(h.log.find((e) => e.msg === 'reporting transport')?.fields).toEqual({ via: 'proxy http://proxy.corp.example:3128' });
  });

  it('a proxy URL with credentials: the agent reports through that proxy with Basic credentials, never logging the password', async () => {
    const proxy = await startConnectProxy({ credentials: { user: 'svc-vigil', password: 'tray-pr0xy-pw' } });
    try {
      const h = await start({ settings: { proxy: `http://svc-vigil:tray-pr0xy-pw@127.0.0.1:${proxy.port}` } });
      h.releaseFirstScan();
      await h.app.checkNow();
      await waitFor(() => {
        const r = h.app.state()!.reporting;
        return r.enrolled && r.backlog === 0 && r.lastSuccessAt !== undefined;
      });
      // Not net.fetch (which cancels a proxy's Basic challenge): the tunnel, with the credentials.
      expect(h.fe.fetched).toEqual([]);
      expect(proxy.seen.length).toBeGreaterThanOrEqual(1);
      expect(proxy.seen.every((r) => r.method === 'CONNECT' && r.target === new URL(srv.url).host && r.proxyAuthorization === `Basic ${Buffer.from('svc-vigil:tray-pr0xy-pw').toString('base64')}`)).toBe(true);
      expect(JSON.stringify(h.log)).not.toContain('tray-pr0xy-pw');
      expect(h.log.find((e) => e.msg === 'reporting transport')?.fields).toEqual({ via: `proxy http://svc-vigil:****@127.0.0.1:${proxy.port}/ with credentials (Node transport)` });
    } finally {
      await proxy.close();
    }
  });

  it('keeps the device secret sealed by safeStorage, and a restart signs with it without enrolling again', async () => {
    const key = Buffer.alloc(32, 7);
    const h = await start({ safeStorage: { key } });
    h.releaseFirstScan();
    await h.app.checkNow();
    await waitFor(() => h.app.state()!.reporting.enrolled && h.app.state()!.reporting.backlog === 0);
    const me = h.app.state()!.device.id!;
    const file = path.join(h.dir, 'state', CREDENTIAL_FILE);
    const stored = JSON.parse(readFileSync(file, 'utf8'));
    expect(stored).toMatchObject({ deviceId: me, sealedSecret: { by: 'electron-safeStorage' } });
    expect(stored.deviceSecret).toBeUndefined();
    expect(h.fe.calls.some((c) => c.api === 'safeStorage' && c.method === 'encryptStringAsync')).toBe(true);
    const before = (await srv.admin<DeviceDetail>(`/v1/devices/${me}`)).body;

    // The same user on the same PC: the tray starts again with the same state folder.
    h.fe.fake.app.quit();
    await waitFor(() => h.fe.calls.filter((c) => c.api === 'app' && c.method === 'quit').length >= 2);
    running.splice(running.indexOf(h), 1);
    const again = await restart(h, { safeStorage: { key } });
    again.releaseFirstScan();
    await again.app.checkNow();
    await waitFor(() => again.app.state()!.reporting.lastSuccessAt !== undefined && again.app.state()!.reporting.backlog === 0);
    expect(again.app.state()!.device.id).toBe(me);
    expect(again.fe.calls.some((c) => c.api === 'safeStorage' && c.method === 'decryptStringAsync')).toBe(true);
    expect(again.fe.fetched.map((f) => new URL(f.url).pathname)).not.toContain('/v1/enroll');
    expect((await srv.admin<DeviceDetail>(`/v1/devices/${me}`)).body.enrolCount).toBe(before.enrolCount);
  });

  it('without safeStorage the secret is an owner-only file, and the log says why', async () => {
    const h = await start({ safeStorage: { available: false } });
    h.releaseFirstScan();
    await h.app.checkNow();
    await waitFor(() => h.app.state()!.reporting.enrolled);
    const stored = JSON.parse(readFileSync(path.join(h.dir, 'state', CREDENTIAL_FILE), 'utf8'));
    expect(stored.deviceSecret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(h.log.find((e) => e.msg === 'device credential kept as an owner-only file')?.fields).toEqual({ why: 'safeStorage encryption is not available' });
  });

  it('turns green once the cleared build replaces the trojanised one', async () => {
    const h = await start();
    h.releaseFirstScan();
    await h.app.checkNow();
    expect(h.app.state()!.status).toBe('compromised');
    await h.tree.install('18.12.425');
    await h.app.checkNow();
    expect(h.app.state()!.status).toBe('ok');
    expect(h.app.state()!.installs[0]).toMatchObject({ version: '18.12.425', versionClass: 'safe' });
    expect(tray(h).image.path).toBe(path.join(repo, 'assets/tray/ok.ico'));
    expect(h.fe.notifications).toHaveLength(1); // better is never notified
  });

  it('offers Quit only when the settings file allows it', async () => {
    const managed = await start({ settings: { allowQuit: false } });
    expect(menuIds(managed)).toEqual(['verdict', '—', 'check-now', 'open-status', 'open-logs', '—', 'about']);
    const unmanaged = await start({ settings: { allowQuit: true } });
    expect(menuIds(unmanaged)).toEqual(['verdict', '—', 'check-now', 'open-status', 'open-logs', '—', 'about', '—', 'quit']);

    // Quitting stops the real agent: its outbox is closed and nothing runs afterwards.
    unmanaged.releaseFirstScan();
    await unmanaged.app.checkNow();
    clickMenu(unmanaged, 'quit');
    await waitFor(() => unmanaged.fe.calls.filter((c) => c.api === 'app' && c.method === 'quit').length === 2);
    expect(tray(unmanaged).destroyed).toBe(true);
    const scans = unmanaged.scans();
    expect(await unmanaged.app.checkNow()).toEqual({ ok: true }); // a stopped agent does nothing
    expect(unmanaged.scans()).toBe(scans);
  });

  it('refuses IPC from any frame but the status window’s, and serves the real state to it', async () => {
    const h = await start();
    h.releaseFirstScan();
    await h.app.checkNow();
    const scans = h.scans();
    const frame = await openWindow(h);
    expect(frame.url).toBe('vigil://app/index.html');

    const foreign = [
      null,
      { ...frame, url: 'https://evil.example/index.html' },
      makeFrame('vigil://app/index.html', frame, frame.processId),
      makeFrame('vigil://app/index.html', null, 999),
    ];
    for (const sender of foreign) {
      expect(await h.fe.fake.ipcMain.invoke(IPC.checkNow, sender)).toEqual({ ok: false, error: 'refused' });
      expect(await h.fe.fake.ipcMain.invoke(IPC.getState, sender)).toBeNull();
      expect(await h.fe.fake.ipcMain.invoke(IPC.openLogs, sender)).toEqual({ ok: false, error: 'refused' });
    }
    expect(h.scans()).toBe(scans);
    expect(h.fe.calls.some((c) => c.api === 'shell')).toBe(false);
    expect(h.log.filter((e) => e.msg === 'ipc call refused')).toHaveLength(foreign.length * 3);

    const state = (await h.fe.fake.ipcMain.invoke(IPC.getState, frame)) as AgentState;
    expect(state.status).toBe('compromised');
    expect(state.installs[0]!.version).toBe('18.12.416');
    expect(await h.fe.fake.ipcMain.invoke(IPC.checkNow, frame)).toEqual({ ok: true });
    expect(h.scans()).toBe(scans + 1);
    const pushed = h.fe.windows.at(-1)!.webContents.sent.filter((s) => s.channel === IPC.state);
    expect((pushed.at(-1)?.args[0] as AgentState).status).toBe('compromised');
  });

  it('a settings file that cannot be used: grey with the reason, no crash, no Quit, no agent files', async () => {
    const h = await start({ settings: '{"serverUrl": "http://vigil.partner.example", "allowQuit": true, "stateDir": "state"}' });
    expect(h.binding.load.ok).toBe(false);
    const s = h.app.state()!;
    expect(s.status).toBe('unknown');
    expect(s.statusReason).toMatch(/^Vigil is not checking this PC because its settings cannot be used: .*config\.json\): serverUrl: .*plain http is only allowed to a loopback address/);
    expect(tray(h).image.path).toBe(path.join(repo, 'assets/tray/unknown.ico'));
    expect(tray(h).tooltip).toMatch(/^Vigil: Unknown\. Vigil is not checking this PC because its settings/);
    expect(menuIds(h)).not.toContain('quit'); // a broken policy counts as managed

    const frame = await openWindow(h);
    expect(await h.fe.fake.ipcMain.invoke(IPC.checkNow, frame)).toEqual({ ok: false, error: s.statusReason });
    expect(((await h.fe.fake.ipcMain.invoke(IPC.getState, frame)) as AgentState).statusReason).toBe(s.statusReason);
    h.releaseFirstScan();
    expect(h.scans()).toBe(0);
    expect(h.fe.fetched).toHaveLength(0);
    // Only the settings loader's last good configuration may be there: no credential, no outbox.
    const state = path.join(h.dir, 'state');
    expect(existsSync(state) ? readdirSync(state) : []).toEqual(existsSync(state) ? ['config-last-good.json'] : []);
    expect(h.log.some((e) => e.level === 'error' && e.msg === 'the settings cannot be used; the agent is not running')).toBe(true);
    expect(h.log.some((e) => e.msg === 'the agent could not start')).toBe(false);
  });

  it('a settings file that is not JSON is reported the same way', async () => {
    const h = await start({ settings: '{ "allowQuit": true,' });
    expect(h.app.state()!.statusReason).toMatch(/config\.json\): not valid JSON/);
    expect(menuIds(h)).not.toContain('quit');
  });

  it('no server configured: scans and shows the verdict, reports nothing', async () => {
    const h = await start({ settings: JSON.stringify({ stateDir: 'state' }), version: null });
    h.releaseFirstScan();
    await h.app.checkNow();
    expect(h.app.state()).toMatchObject({ status: 'ok', reporting: { configured: false }, installs: [] });
    expect(tray(h).image.path).toBe(path.join(repo, 'assets/tray/ok.ico'));
    expect(h.fe.fetched).toHaveLength(0);
  });
});
