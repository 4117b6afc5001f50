/**
 * Which agent the tray shows, under the fake `electron`, with real components on each side:
 *
 * - per-machine install (settings say `"autostart": "machine"`): the tray is a client of the
 *   machine agent over the real local channel. The machine agent is the real core agent
 *   (assembleAgent, runScan over a Windows fixture tree) served by serveMachineChannel, as
 *   `vigil run --machine` composes them; the tray shows its state (other profiles redacted),
 *   sends Check now and fetches its recent log;
 * - the service is not running: grey, with what to tell IT; no agent of the tray's own; it
 *   picks the service up when it starts;
 * - per-user install: the in-process agent scans only the user's own profile and says, as
 *   `info` in the window and in its heartbeat, that other profiles are not checked.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { chmod, mkdtemp, writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startTrayApp, type TrayApp } from '../../src/main/app.js';
import { bindTrayAgent, type BindTrayAgentOptions, type TrayAgentBinding } from '../../src/main/agent-binding.js';
import { SERVICE_LOG_FILE } from '../../src/main/service-agent.js';
import { assembleAgent } from '../../src/core/agent-assembly.js';
import type { Agent } from '../../src/core/agent.js';
import { serveMachineChannel } from '../../src/core/local-channel/serve-machine-channel.js';
import type { LocalChannelServer } from '../../src/core/local-channel/channel-server.js';
import { OTHER_PROFILE } from '../../src/core/local-channel/redact-for-viewer.js';
import { RecentLog } from '../../src/core/local-channel/recent-log.js';
import { defaultAgentConfig } from '../../src/core/config/schema.js';
import type { DeviceDetail } from '../../src/shared/protocol.js';
import { startTestServer, type TestServer } from '../server/helpers/test-server.js';
import { createFakeElectron, type FakeElectron } from './fake-electron.js';
import { memoryLogger, type LogEntry } from './memory-logger.js';
import { windowsTree, type WindowsTree } from './fixtures/windows-tree.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const tick = () => new Promise((r) => setImmediate(r));
const posix = process.platform !== 'win32';
// The peer proof needs this account's home to be a profile folder (/home/x, /Users/x, /root).
const homeUsable = /^\/(home|Users)\/[^/]+$|^\/root$/.test(os.userInfo().homedir);

async function waitFor(cond: () => boolean): Promise<void> {
  while (!cond()) await new Promise((r) => setTimeout(r, 20));
}

let srv: TestServer;
beforeAll(async () => {
  srv = await startTestServer();
});
// Quitting stops the agent mid-delivery: do not wait for its half-sent request.
afterAll(() => srv.closeNow());

interface Tray {
  fe: FakeElectron;
  app: TrayApp;
  binding: TrayAgentBinding;
  log: LogEntry[];
  dir: string;
}
const running: Tray[] = [];
const services: { agent: Agent; channel: LocalChannelServer }[] = [];
afterEach(async () => {
  for (const t of running.splice(0)) {
    t.fe.fake.app.quit();
    await waitFor(() => t.fe.calls.filter((c) => c.api === 'app' && c.method === 'quit').length >= 2);
  }
  for (const s of services.splice(0)) {
    await s.channel.close();
    await s.agent.stop();
  }
});

async function startTray(dir: string, settings: Record<string, unknown>, bind: Omit<BindTrayAgentOptions, 'file'> = {}): Promise<Tray> {
  const file = path.join(dir, 'config.json');
  await writeFile(file, JSON.stringify(settings));
  const binding = await bindTrayAgent({ file, ...bind });
  const fe = createFakeElectron({ paths: { userData: path.join(dir, 'userData'), exe: 'C:/Program Files/Vigil/Vigil.exe' }, netFetch: (i, init) => fetch(i, init) });
  const log: LogEntry[] = [];
  const promise = startTrayApp({
    electron: fe.electron,
    agentFactory: binding.agentFactory,
    settings: binding.settings,
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
  const t = { fe, app, binding, log, dir };
  running.push(t);
  return t;
}

/** The machine agent as `vigil run --machine` composes it, over a fixture tree. */
async function startService(tree: WindowsTree, channelDir: string, stateDir: string): Promise<RecentLog> {
  const recent = new RecentLog();
  const logger = recent.tee(memoryLogger([]));
  const config = { ...defaultAgentConfig(), stateDir };
  const { agent } = await assembleAgent(config, { logger, targetRoot: tree.root });
  await agent.start();
  const channel = await serveMachineChannel({ agent, logger, recentLog: recent, dir: channelDir, heartbeatIntervalSec: 60, minCheckIntervalMs: 0 });
  services.push({ agent, channel });
  return recent;
}

const trayIcon = (t: Tray) => path.basename(t.fe.trays[0]!.image.path);

describe.skipIf(!posix || !homeUsable)('the tray app and the machine agent', () => {
  it('per-machine install: shows the service’s state for this user, sends Check now, fetches the service log', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'vigil-svc-tray-'));
    await chmod(dir, 0o755);
    const tree = await windowsTree('18.12.416');
    await startService(tree, path.join(dir, 'run'), path.join(dir, 'service-state'));
    const t = await startTray(dir, { autostart: 'machine', stateDir: 'tray-state' }, { service: { endpoint: path.join(dir, 'run/agent.sock') } });
    expect(t.binding.mode).toBe('service');

    await waitFor(() => t.app.state()?.lastScanAt !== undefined && !t.app.state()!.scanning);
    const s = t.app.state()!;
    expect(s.status).toBe('compromised');
    expect(trayIcon(t)).toBe('compromised.ico');
    // alice's install is another profile for this viewer: what and how bad, not whose or where.
    expect(s.installs).toEqual([expect.objectContaining({ version: '18.12.416', versionClass: 'compromised', location: OTHER_PROFILE })]);
    expect(JSON.stringify(s)).not.toContain('alice');
    expect(t.fe.notifications).toHaveLength(1);

    const first = s.lastScanAt;
    await new Promise((r) => setTimeout(r, 5));
    expect(await t.app.checkNow()).toEqual({ ok: true });
    await waitFor(() => t.app.state()!.lastScanAt !== first);

    // Open logs: the service's recent entries land in the user's own log folder, then it opens.
    clickMenuItem(t, 'open-logs');
    await waitFor(() => existsSync(path.join(dir, 'logs', SERVICE_LOG_FILE)));
    const text = readFileSync(path.join(dir, 'logs', SERVICE_LOG_FILE), 'utf8');
    expect(text).toMatch(/check requested from the tray/);
    expect(text).not.toContain('alice');
    // The tray never ran an agent: nothing but the settings' last-good copy in its state folder.
    expect(readdirSync(path.join(dir, 'tray-state'))).toEqual(['config-last-good.json']);
  }, 60_000);

  it('service not running: grey with what to tell IT, no agent of its own, and it connects when the service starts', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'vigil-svc-down-'));
    await chmod(dir, 0o755);
    const t = await startTray(dir, { autostart: 'machine', stateDir: 'tray-state' }, { service: { endpoint: path.join(dir, 'run/agent.sock'), retryMs: 50, maxRetryMs: 100 }, hostname: () => 'PC-0042' });
    const s = t.app.state()!;
    expect(s.status).toBe('unknown');
    expect(trayIcon(t)).toBe('unknown.ico');
    expect(s.statusReason).toMatch(/the Vigil service is not running .*Tell your IT provider “the Vigil service is not running on PC-0042”/);
    const check = await t.app.checkNow();
    expect(check.ok).toBe(false);
    expect(!check.ok && check.error).toMatch(/Tell your IT provider/);
    expect(readdirSync(path.join(dir, 'tray-state'))).toEqual(['config-last-good.json']);

    const tree = await windowsTree(null);
    await startService(tree, path.join(dir, 'run'), path.join(dir, 'service-state'));
    await waitFor(() => t.app.state()!.lastScanAt !== undefined);
    expect(t.app.state()!.status).toBe('ok');
    expect(t.app.state()!.statusReason).toBeUndefined();
  }, 60_000);

  it('per-user install: scans only the user’s profile and says other profiles are not checked, as info, in the window and the heartbeat', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'vigil-user-tray-'));
    const tree = await windowsTree('18.12.416'); // alice has the trojanized build; this user is bob
    const t = await startTray(
      dir,
      { serverUrl: srv.url, enrollToken: await srv.createToken('Acme IT Partners'), stateDir: 'state', heartbeatIntervalSec: 3600 },
      { homeDir: '/home/bob', assembly: { targetRoot: tree.root, stableIdProbe: async () => ({ hardware: `4C4C4544-0042-3510-8052-${dir.slice(-8).toUpperCase().padStart(12, '0')}` }) } },
    );
    expect(t.binding.mode).toBe('in-process');
    expect(await t.app.checkNow()).toEqual({ ok: true });
    const s = t.app.state()!;
    expect(s.status).toBe('ok');
    expect(s.installs).toEqual([]);
    const note = s.findings.find((f) => f.ruleId === 'other-profiles-not-checked')!;
    expect(note).toMatchObject({ severity: 'info', title: expect.stringMatching(/^Other profiles on this PC are not checked \(1\)/) });
    expect(s.findings.filter((f) => f.severity === 'unknown')).toEqual([]);

    await waitFor(() => t.app.state()!.reporting.enrolled && t.app.state()!.reporting.backlog === 0);
    const me = t.app.state()!.device.id!;
    const detail = (await srv.admin<DeviceDetail>(`/v1/devices/${me}`)).body;
    expect(detail.status).toBe('ok');
    expect(detail.findings).toEqual(expect.arrayContaining([expect.objectContaining({ ruleId: 'other-profiles-not-checked', severity: 'info' })]));
  }, 60_000);
});

function clickMenuItem(t: Tray, id: string): void {
  const item = t.fe.trays[0]!.menu?.items.find((i) => i.id === id);
  if (!item || typeof item.click !== 'function') throw new Error(`no menu item ${id}`);
  (item.click as () => void)();
}
