/**
 * The tray app's settings and agent binding, without Electron: where the settings file is,
 * what a missing, valid or broken file gives, and that an agent which cannot run leaves a
 * grey handle that says why instead of an exception.
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultAgentConfig } from '../../src/core/config/schema.js';
import { AgentStateSchema } from '../../src/shared/agent-state.js';
import { AgentUnavailableError, type Transport } from '../../src/main/agent-handle.js';
import { jsonFileSource } from '../../src/core/config/sources.js';
import {
  bindTrayAgent,
  createAgentFactory,
  loadAgentSettings,
  machineConfigPath,
  settingsProblemReason,
  traySettingsFrom,
  transportAsFetch,
} from '../../src/main/agent-binding.js';
import { memoryLogger, type LogEntry } from './memory-logger.js';

const tmp = () => mkdtemp(path.join(tmpdir(), 'vigil-binding-'));
const noTransport: Transport = async () => {
  throw new Error('no network in this test');
};

describe('machineConfigPath', () => {
  it('is the per-machine settings file of each OS', () => {
    expect(machineConfigPath('win32', { ProgramData: 'D:\\ProgramData' })).toBe('D:\\ProgramData\\Vigil\\config.json');
    expect(machineConfigPath('win32', {})).toBe('C:\\ProgramData\\Vigil\\config.json');
    expect(machineConfigPath('darwin', {})).toBe('/Library/Application Support/Vigil/config.json');
    expect(machineConfigPath('linux', {})).toBe('/etc/vigil/config.json');
  });
});

describe('loadAgentSettings (the machine-policy precedence loader of src/core/config)', () => {
  /** No machine policy on this test machine: an empty policy source stands in for it. */
  const noPolicy = (file: string) => [jsonFileSource(path.join(path.dirname(file), 'no-policy.json'), 'policy' as const), jsonFileSource(file, 'file' as const)];
  const policyFile = async (dir: string, values: Record<string, unknown>) => {
    const f = path.join(dir, 'policy.json');
    await writeFile(f, JSON.stringify(values));
    return f;
  };

  it('no file and no policy: the defaults, and Quit is offered (an unmanaged PC)', async () => {
    const file = path.join(await tmp(), 'missing', 'config.json');
    const load = await loadAgentSettings({ file, sources: noPolicy(file) });
    expect(load).toMatchObject({ ok: true, source: 'defaults', problems: [], managed: false, allowQuitSet: false });
    if (!load.ok) return;
    expect(load.config).toMatchObject({ scanIntervalSec: defaultAgentConfig().scanIntervalSec, packs: [] });
    expect(traySettingsFrom(load).allowQuit).toBe(true);
  });

  it('a valid file: its settings, relative paths resolved against the file, allowQuit passed to the tray', async () => {
    const dir = await tmp();
    const file = path.join(dir, 'config.json');
    await writeFile(file, JSON.stringify({ allowQuit: true, tenant: 'Acme Dental', stateDir: 'state', packs: ['extra.json'], scanIntervalSec: 600 }));
    const load = await loadAgentSettings({ file, sources: noPolicy(file) });
    expect(load.ok).toBe(true);
    if (!load.ok) return;
    expect(load.source).toContain(file);
    expect(load.config).toMatchObject({ allowQuit: true, tenant: 'Acme Dental', stateDir: path.join(dir, 'state'), packs: [path.join(dir, 'extra.json')], scanIntervalSec: 600 });
    expect(traySettingsFrom(load)).toEqual({ allowQuit: true, autostart: 'user', notifications: true });
  });

  it('machine policy wins over the file and makes the install managed: no Quit unless policy allows it', async () => {
    const dir = await tmp();
    const file = path.join(dir, 'config.json');
    await writeFile(file, JSON.stringify({ allowQuit: true, tenant: 'From file' }));
    const policy = await policyFile(dir, { autostart: 'machine', tenant: 'From policy' });
    const load = await loadAgentSettings({ file, sources: [jsonFileSource(policy, 'policy'), jsonFileSource(file, 'file')] });
    expect(load).toMatchObject({ ok: true, managed: true, config: { tenant: 'From policy' } });
    // allowQuit came from the file (true), which policy did not override.
    expect(traySettingsFrom(load)).toEqual({ allowQuit: true, autostart: 'machine', notifications: true });

    const managed = await loadAgentSettings({ file: path.join(dir, 'none.json'), sources: [jsonFileSource(policy, 'policy'), jsonFileSource(path.join(dir, 'none.json'), 'file')] });
    expect(traySettingsFrom(managed).allowQuit).toBe(false);
  });

  it('bad values are named with file and key and fall back; the agent still runs', async () => {
    const dir = await tmp();
    const bad = path.join(dir, 'bad.json');
    await writeFile(bad, '{"allowQuit": "maybe", "scanIntervalSec": 5, "tenant": "Acme"}');
    const load = await loadAgentSettings({ file: bad, sources: noPolicy(bad) });
    expect(load.ok).toBe(true);
    if (!load.ok) return;
    expect(load.config).toMatchObject({ tenant: 'Acme', scanIntervalSec: defaultAgentConfig().scanIntervalSec });
    expect(load.problems.join('\n')).toMatch(/bad\.json.*allowQuit/);
    expect(load.problems.join('\n')).toMatch(/bad\.json.*scanIntervalSec/);
  });

  it('a server that no source can supply is not silently dropped: the settings cannot be used', async () => {
    const dir = await tmp();
    const file = path.join(dir, 'config.json');
    await writeFile(file, JSON.stringify({ serverUrl: 'ftp://nope' }));
    const load = await loadAgentSettings({ file, sources: noPolicy(file) });
    expect(load.ok).toBe(false);
    if (load.ok) return;
    expect(load.problems.join('\n')).toMatch(/serverUrl/);
    expect(traySettingsFrom(load).allowQuit).toBe(false);
    expect(settingsProblemReason(load)).toMatch(/^Vigil is not checking this PC because its settings cannot be used: .*serverUrl.*Contact your IT provider\.$/);
  });
});

describe('createAgentFactory', () => {
  it('settings that cannot be used: a grey handle with the reason; Check now says the same', async () => {
    const log: LogEntry[] = [];
    const load = { ok: false as const, problems: ['/etc/vigil/config.json: not valid JSON (Unexpected token)'], source: '/etc/vigil/config.json' };
    const handle = await createAgentFactory({ settings: load, hostname: () => 'PC-1' })({ transport: noTransport, logger: memoryLogger(log) });
    const s = handle.getState();
    expect(AgentStateSchema.parse(s)).toEqual(s);
    expect(s).toMatchObject({ status: 'unknown', statusReason: settingsProblemReason(load), device: { hostname: 'PC-1' } });
    await expect(handle.checkNow()).rejects.toBeInstanceOf(AgentUnavailableError);
    await expect(handle.checkNow()).rejects.toMatchObject({ userMessage: settingsProblemReason(load) });
    await handle.stop();
    expect(log.some((e) => e.level === 'error' && e.msg === 'the settings cannot be used; the agent is not running')).toBe(true);
  });

  it('settings the agent cannot be built from (plain http to a remote server): grey with the reason', async () => {
    const log: LogEntry[] = [];
    const config = { ...defaultAgentConfig(), serverUrl: 'http://vigil.partner.example', stateDir: await tmp() };
    const handle = await createAgentFactory({ settings: { ok: true, config, source: 'test', problems: [], managed: false, allowQuitSet: false } })({ transport: noTransport, logger: memoryLogger(log) });
    expect(handle.getState().status).toBe('unknown');
    expect(handle.getState().statusReason).toMatch(/^Vigil is not checking this PC because its settings cannot be used: serverUrl: plain http is only allowed to a loopback address/);
    await expect(handle.checkNow()).rejects.toBeInstanceOf(AgentUnavailableError);
  });

  it('a real agent without a server: scans with the built-in pack, state mapped and valid', async () => {
    const config = { ...defaultAgentConfig(), stateDir: await tmp() };
    let scans = 0;
    const factory = createAgentFactory({
      settings: { ok: true, config, source: 'defaults', problems: [], managed: false, allowQuitSet: false },
      hostname: () => 'PC-2',
      assembly: {
        scanner: async () => async () => {
          scans++;
          const { runScan } = await import('../../src/core/scan.js');
          const { openTarget } = await import('../../src/core/inventory/scan-target.js');
          const { builtinPacks } = await import('../../src/core/pack/load.js');
          return runScan({ target: await openTarget({ root: await tmp(), platform: 'windows' }), packs: await builtinPacks() });
        },
      },
    });
    const handle = await factory({ transport: noTransport, logger: memoryLogger() });
    const before = handle.getState();
    expect(before.versions.packs.map((p) => p.id)).toEqual(['3cx-desktopapp-2023-03', 'x-trader-2023']);
    expect(before.reporting.configured).toBe(false);
    const seen: string[] = [];
    const off = handle.onState((s) => seen.push(s.status));
    await handle.checkNow();
    off();
    expect(scans).toBeGreaterThanOrEqual(1);
    const after = handle.getState();
    expect(after.status).toBe('ok');
    expect(after.lastScanAt).toBeDefined();
    expect(after.device.hostname).toBe('PC-2');
    expect(seen.at(-1)).toBe('ok');
    await handle.stop();
  });
});

describe('transportAsFetch', () => {
  it('hands method, headers, body and signal to the transport and returns its response', async () => {
    const seen: { url: string; init: RequestInit | undefined }[] = [];
    const fetchLike = transportAsFetch(async (input, init) => {
      seen.push({ url: String(input), init });
      return new Response('{"x":1}', { status: 201, headers: { 'x-test': 'yes' } });
    });
    const signal = new AbortController().signal;
    const res = await fetchLike('https://vigil.example/v1/heartbeats', { method: 'POST', headers: { 'content-type': 'application/json' }, body: new TextEncoder().encode('{}'), signal });
    expect(res.status).toBe(201);
    expect(res.headers.get('x-test')).toBe('yes');
    expect(await res.text()).toBe('{"x":1}');
    expect(seen[0]!.url).toBe('https://vigil.example/v1/heartbeats');
    expect(seen[0]!.init).toMatchObject({ method: 'POST', headers: { 'content-type': 'application/json' }, signal });
    expect(new TextDecoder().decode(seen[0]!.init!.body as Uint8Array)).toBe('{}');
  });
});

describe('bindTrayAgent', () => {
  it('loads once and binds the tray settings and the agent to the same settings', async () => {
    const dir = await tmp();
    const file = path.join(dir, 'config.json');
    await writeFile(file, JSON.stringify({ allowQuit: true, stateDir: 'state' }));
    const b = await bindTrayAgent({ file });
    expect(b.load).toMatchObject({ ok: true, source: expect.stringContaining(file) });
    expect(b.settings.allowQuit).toBe(true);
    expect(typeof b.agentFactory).toBe('function');
  });
});
