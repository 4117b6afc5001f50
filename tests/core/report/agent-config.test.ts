import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { AgentConfigSchema, defaultAgentConfig } from '../../../src/core/config/schema.js';
import { loadAgentConfigFile } from '../../../src/core/config/config-file.js';
import { defaultStateDir } from '../../../src/core/config/state-dir.js';

describe('agent settings schema', () => {
  it('has defaults for everything optional', () => {
    expect(defaultAgentConfig()).toEqual({
      scanIntervalSec: 3600,
      heartbeatIntervalSec: 60,
      watchIntervalSec: 2,
      packs: [],
      packKeys: [],
      allowQuit: false,
      proxy: 'system',
      logLevel: 'info',
      allowInsecureHttp: false,
    });
  });

  it('refuses plain http to a remote server unless the test flag is set', () => {
    const r = AgentConfigSchema.safeParse({ serverUrl: 'http://vigil.partner.example' });
    expect(r.success).toBe(false);
    expect(r.error?.issues[0]?.path).toEqual(['serverUrl']);
    expect(AgentConfigSchema.safeParse({ serverUrl: 'http://vigil.partner.example', allowInsecureHttp: true }).success).toBe(true);
    expect(AgentConfigSchema.safeParse({ serverUrl: 'http://127.0.0.1:8740' }).success).toBe(true);
  });

  it('refuses unknown settings, wrong types and out-of-range intervals', () => {
    for (const bad of [{ serverURL: 'https://x' }, { scanIntervalSec: 5 }, { heartbeatIntervalSec: '60' }, { proxy: 'socks5://x' }, { logLevel: 'trace' }, { enrollToken: 'short' }, { packs: [''] }]) {
      expect(AgentConfigSchema.safeParse(bad).success, JSON.stringify(bad)).toBe(false);
    }
  });
});

describe('loadAgentConfigFile', () => {
  it('resolves pack and state paths relative to the file', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'vigil-cfg-'));
    const file = path.join(dir, 'agent.json');
    await writeFile(file, JSON.stringify({ serverUrl: 'https://vigil.partner.example', packs: ['packs/extra.json'], stateDir: 'state' }));
    const r = await loadAgentConfigFile(file);
    expect(r.ok && r.config.packs).toEqual([path.join(dir, 'packs/extra.json')]);
    expect(r.ok && r.config.stateDir).toBe(path.join(dir, 'state'));
  });

  it('names the file and the setting for every problem, and never throws', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'vigil-cfg-'));
    const file = path.join(dir, 'agent.json');
    await writeFile(file, '{"serverUrl": "http://10.1.1.1", "scanIntervalSec": 1}');
    const r = await loadAgentConfigFile(file);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.problems).toHaveLength(2);
      expect(r.problems.join('\n')).toMatch(/agent\.json: scanIntervalSec: /);
      expect(r.problems.join('\n')).toMatch(/agent\.json: serverUrl: plain http/);
    }
    await writeFile(file, '{"serverUrl": ');
    expect(await loadAgentConfigFile(file)).toMatchObject({ ok: false, problems: [expect.stringMatching(/not valid JSON/)] });
    expect(await loadAgentConfigFile(path.join(dir, 'missing.json'))).toMatchObject({ ok: false, problems: [expect.stringMatching(/ENOENT/)] });
    await writeFile(file, 'null');
    expect((await loadAgentConfigFile(file)).ok).toBe(false);
  });
});

describe('defaultStateDir', () => {
  it('is machine-wide when privileged and per-user otherwise', () => {
    expect(defaultStateDir('win32', { ProgramData: 'C:\\ProgramData' }, true)).toBe('C:\\ProgramData\\Vigil');
    expect(defaultStateDir('win32', { LOCALAPPDATA: 'C:\\Users\\a\\AppData\\Local' }, false)).toBe('C:\\Users\\a\\AppData\\Local\\Vigil');
    expect(defaultStateDir('darwin', {}, true)).toBe('/Library/Application Support/Vigil');
    expect(defaultStateDir('linux', {}, true)).toBe('/var/lib/vigil');
    expect(defaultStateDir('linux', { XDG_STATE_HOME: '/home/a/.state' }, false)).toBe('/home/a/.state/vigil');
  });
});
