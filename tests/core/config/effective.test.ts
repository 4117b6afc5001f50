/**
 * The effective configuration: precedence (policy > settings file > default), bad values
 * named by key and source and replaced by the next source or the last good value (never
 * "no server"), unreadable sources, the last-good file (0600, no enrolment token), the
 * enrolment state, and the device credential's permissions on Linux.
 */
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { RecordedCommandRunner } from '../../../src/core/os/command-runner.js';
import {
  displayValue,
  enrolmentState,
  formatConfigProblem,
  LAST_GOOD_FILE,
  loadEffectiveConfig,
  MASK,
} from '../../../src/core/config/effective.js';
import { jsonFileSource, windowsPolicySource, WINDOWS_POLICY_KEY, type ConfigSource, type SourceRead } from '../../../src/core/config/sources.js';
import { CREDENTIAL_FILE, FileCredentialStore } from '../../../src/core/report/credential-store.js';

const tmp = () => mkdtempSync(path.join(tmpdir(), 'vigil-effcfg-'));
const TOKEN = 'vigil_enroll_0123456789abcdef';

function fixed(kind: 'policy' | 'file', name: string, read: SourceRead): ConfigSource {
  return { kind, name, read: async () => read };
}
const present = (values: Record<string, unknown>): SourceRead => ({ state: 'present', values, notes: [] });

describe('precedence', () => {
  it('takes each setting from the highest source that has a good value, then the default', async () => {
    const stateDir = tmp();
    const eff = await loadEffectiveConfig({
      stateDir,
      sources: [
        fixed('policy', 'policy', present({ serverUrl: 'https://policy.example', enrollToken: TOKEN })),
        fixed('file', 'file', present({ serverUrl: 'https://file.example', tenant: 'Contoso', scanIntervalSec: 900 })),
      ],
    });
    expect(eff.problems).toEqual([]);
    expect(eff.config).toMatchObject({ serverUrl: 'https://policy.example', enrollToken: TOKEN, tenant: 'Contoso', scanIntervalSec: 900, heartbeatIntervalSec: 60, allowQuit: false });
    expect(eff.origins.serverUrl).toEqual({ kind: 'policy', source: 'policy' });
    expect(eff.origins.tenant).toEqual({ kind: 'file', source: 'file' });
    expect(eff.origins.heartbeatIntervalSec).toEqual({ kind: 'default', source: 'default' });
    expect(eff.sources.map((s) => s.state)).toEqual(['present', 'present']);
  });

  it('Windows: the MSI-written policy key through reg query beats the settings file', async () => {
    const dir = tmp();
    const file = path.join(dir, 'config.json');
    writeFileSync(file, JSON.stringify({ serverUrl: 'https://file.example', logLevel: 'debug' }));
    const runner = new RecordedCommandRunner({
      [RecordedCommandRunner.key('reg', ['query', WINDOWS_POLICY_KEY, '/reg:64'])]: [
        '',
        'HKEY_LOCAL_MACHINE\\SOFTWARE\\Policies\\Vigil',
        '    ServerUrl    REG_SZ    https://msi.example',
        '    EnrollToken    REG_SZ    ' + TOKEN,
        '    AllowQuit    REG_SZ    ',
        '    Autostart    REG_SZ    machine',
        '',
      ].join('\r\n'),
    });
    const eff = await loadEffectiveConfig({ platform: 'win32', runner, settingsFile: file, stateDir: dir });
    expect(eff.config.serverUrl).toBe('https://msi.example');
    expect(eff.config.logLevel).toBe('debug');
    expect(eff.config.autostart).toBe('machine');
    expect(eff.origins.allowQuit.kind).toBe('default'); // the empty MSI property means "not set"
    expect(eff.origins.serverUrl.source).toBe('machine policy (HKLM\\SOFTWARE\\Policies\\Vigil)');
  });
});

describe('bad values', () => {
  it('names the key and the source, and falls to the next source', async () => {
    const eff = await loadEffectiveConfig({
      stateDir: tmp(),
      sources: [
        fixed('policy', 'machine policy (P)', present({ scanIntervalSec: 5, logLevel: 'loud', allowQuit: 'maybe' })),
        fixed('file', 'settings file (F)', present({ scanIntervalSec: 1800 })),
      ],
    });
    expect(eff.config.scanIntervalSec).toBe(1800);
    expect(eff.origins.scanIntervalSec.source).toBe('settings file (F)');
    expect(eff.config.logLevel).toBe('info');
    expect(eff.config.allowQuit).toBe(false);
    const lines = eff.problems.map(formatConfigProblem);
    expect(lines).toHaveLength(3);
    expect(lines.find((l) => l.includes('scanIntervalSec'))).toMatch(/^machine policy \(P\): scanIntervalSec: bad value for scanIntervalSec: .*; ignored$/);
    expect(lines.some((l) => l.startsWith('machine policy (P): logLevel: bad value for logLevel'))).toBe(true);
    expect(lines.some((l) => l.startsWith('machine policy (P): allowQuit: bad value for allowQuit'))).toBe(true);
  });

  it('a bad server URL falls back to the last good one, never to "no server"', async () => {
    const stateDir = tmp();
    const good = await loadEffectiveConfig({ stateDir, sources: [fixed('policy', 'machine policy (P)', present({ serverUrl: 'https://good.example', tenant: 'Contoso' }))] });
    expect(good.lastGood.saved).toBe(true);

    const eff = await loadEffectiveConfig({ stateDir, sources: [fixed('policy', 'machine policy (P)', present({ serverUrl: 'not a url', tenant: 'Contoso' }))] });
    expect(eff.config.serverUrl).toBe('https://good.example');
    expect(eff.origins.serverUrl).toEqual({ kind: 'last-good', source: `last good configuration (${path.join(stateDir, LAST_GOOD_FILE)})`, from: 'machine policy (P)' });
    expect(eff.problems.map(formatConfigProblem)).toEqual([expect.stringMatching(/^machine policy \(P\): serverUrl: bad value for serverUrl: .*; ignored$/)]);
  });

  it('whole-object rules (plain http needs allowInsecureHttp) drop the value to the next candidate', async () => {
    const stateDir = tmp();
    const eff = await loadEffectiveConfig({
      stateDir,
      sources: [
        fixed('policy', 'machine policy (P)', present({ serverUrl: 'http://insecure.example' })),
        fixed('file', 'settings file (F)', present({ serverUrl: 'https://secure.example' })),
      ],
    });
    expect(eff.config.serverUrl).toBe('https://secure.example');
    expect(eff.problems).toHaveLength(1);
    expect(eff.problems[0]).toMatchObject({ source: 'machine policy (P)', key: 'serverUrl' });
  });

  it('without any last good value, a bad setting becomes the default and is reported', async () => {
    const eff = await loadEffectiveConfig({ stateDir: tmp(), sources: [fixed('policy', 'machine policy (P)', present({ serverUrl: 'ftp://x' }))] });
    expect(eff.config.serverUrl).toBeUndefined();
    expect(eff.origins.serverUrl.kind).toBe('default');
    expect(eff.problems[0]).toMatchObject({ key: 'serverUrl', source: 'machine policy (P)' });
  });

  it('a setting removed from policy is not resurrected from last-good', async () => {
    const stateDir = tmp();
    await loadEffectiveConfig({ stateDir, sources: [fixed('policy', 'machine policy (P)', present({ serverUrl: 'https://good.example' }))] });
    const eff = await loadEffectiveConfig({ stateDir, sources: [fixed('policy', 'machine policy (P)', { state: 'absent' })] });
    expect(eff.config.serverUrl).toBeUndefined();
    expect(eff.problems).toEqual([]);
  });
});

describe('unreadable sources', () => {
  it('a corrupt policy file keeps the settings it gave last time, ahead of lower sources', async () => {
    const dir = tmp();
    const policy = path.join(dir, 'policy.json');
    const settings = path.join(dir, 'config.json');
    writeFileSync(policy, JSON.stringify({ serverUrl: 'https://policy.example', scanIntervalSec: 600 }));
    writeFileSync(settings, JSON.stringify({ serverUrl: 'https://file.example', tenant: 'Contoso' }));
    const sources = () => [jsonFileSource(policy, 'policy'), jsonFileSource(settings, 'file')];
    const first = await loadEffectiveConfig({ stateDir: dir, sources: sources() });
    expect(first.config.serverUrl).toBe('https://policy.example');

    writeFileSync(policy, '{ "serverUrl": "https://pol'); // truncated by a failed deployment
    const eff = await loadEffectiveConfig({ stateDir: dir, sources: sources() });
    expect(eff.config.serverUrl).toBe('https://policy.example');
    expect(eff.config.scanIntervalSec).toBe(600);
    expect(eff.origins.serverUrl.kind).toBe('last-good');
    expect(eff.config.tenant).toBe('Contoso');
    expect(eff.sources[0]).toMatchObject({ state: 'error', name: `machine policy (${policy})` });
    expect(eff.problems.map(formatConfigProblem)).toEqual([expect.stringMatching(new RegExp(`^machine policy \\(${policy.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}\\): not valid JSON .*its settings keep their last good values$`))]);
  });

  it('a source that throws is an error, not a crash', async () => {
    const eff = await loadEffectiveConfig({
      stateDir: tmp(),
      sources: [{ kind: 'policy', name: 'P', read: async () => { throw new Error('boom'); } }],
    });
    expect(eff.sources[0]).toMatchObject({ state: 'error' });
    expect(eff.problems[0]!.message).toMatch(/boom/);
  });
});

describe('the last-good file', () => {
  it('is 0600, never holds the enrolment token, and is rewritten only when something changed', async () => {
    const stateDir = tmp();
    const sources = [fixed('policy', 'machine policy (P)', present({ serverUrl: 'https://good.example', enrollToken: TOKEN, allowQuit: true }))];
    const first = await loadEffectiveConfig({ stateDir, sources });
    const file = path.join(stateDir, LAST_GOOD_FILE);
    expect(first.lastGood).toEqual({ file, saved: true });
    const text = readFileSync(file, 'utf8');
    expect(text).not.toContain(TOKEN);
    expect(JSON.parse(text).values).toEqual({
      serverUrl: { value: 'https://good.example', source: 'machine policy (P)' },
      allowQuit: { value: true, source: 'machine policy (P)' },
    });
    if (process.platform !== 'win32') expect(statSync(file).mode & 0o777).toBe(0o600);

    const again = await loadEffectiveConfig({ stateDir, sources });
    expect(again.lastGood.saved).toBe(false);
    const readOnly = await loadEffectiveConfig({ stateDir, sources: [fixed('policy', 'machine policy (P)', present({ serverUrl: 'https://other.example' }))], persistLastGood: false });
    expect(readOnly.lastGood.saved).toBe(false);
    expect(JSON.parse(readFileSync(file, 'utf8')).values.serverUrl.value).toBe('https://good.example');
  });

  it('a damaged last-good file is reported and ignored', async () => {
    const stateDir = tmp();
    writeFileSync(path.join(stateDir, LAST_GOOD_FILE), '{"version":1');
    const eff = await loadEffectiveConfig({ stateDir, sources: [], persistLastGood: false });
    expect(eff.problems.map(formatConfigProblem)).toEqual([`last good configuration (${path.join(stateDir, LAST_GOOD_FILE)}): not valid JSON; ignored`]);
  });

  it('lives in the stateDir a source names when none is given', async () => {
    const stateDir = tmp();
    const eff = await loadEffectiveConfig({ sources: [fixed('file', 'F', present({ stateDir }))] });
    expect(eff.lastGood.file).toBe(path.join(stateDir, LAST_GOOD_FILE));
    expect(eff.lastGood.saved).toBe(true);
  });
});

describe('secrets and enrolment', () => {
  it('masks the enrolment token for display only', () => {
    expect(displayValue('enrollToken', TOKEN)).toBe(MASK);
    expect(displayValue('serverUrl', 'https://x.example')).toBe('https://x.example');
    expect(displayValue('enrollToken', undefined)).toBeUndefined();
  });

  it('masks the password of a proxy URL, and nothing of one without credentials', () => {
    expect(displayValue('proxy', 'http://svc-vigil:hunter2@proxy.corp:3128')).toBe('http://svc-vigil:****@proxy.corp:3128/');
    expect(displayValue('proxy', 'http://proxy.corp:3128')).toBe('http://proxy.corp:3128');
    expect(displayValue('proxy', 'system')).toBe('system');
  });

  it('the token is needed until the device holds a credential from the configured server', async () => {
    const dir = tmp();
    const store = new FileCredentialStore(dir);
    const cfg = { serverUrl: 'https://vigil.partner.example', enrollToken: TOKEN };
    expect(enrolmentState({ serverUrl: undefined, enrollToken: TOKEN }, await store.load())).toBe('no-server');
    expect(enrolmentState(cfg, await store.load())).toBe('pending');
    expect(enrolmentState({ serverUrl: cfg.serverUrl, enrollToken: undefined }, await store.load())).toBe('missing-token');
    const oldUmask = process.umask(0o000); // the file must be 0600 whatever the umask
    try {
      await store.save({
        version: 1,
        serverUrl: 'https://vigil.partner.example/',
        deviceId: 'dev_AAAAAAAAAAAAAAAAAAAAAA',
        deviceSecret: 'BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc',
        tenant: { id: 'ten_1', name: 'Acme Dental' },
        enrolledAt: '2026-11-25T09:00:00.000Z',
      });
    } finally {
      process.umask(oldUmask);
    }
    if (process.platform === 'linux') expect(statSync(path.join(dir, CREDENTIAL_FILE)).mode & 0o777).toBe(0o600);
    expect(enrolmentState(cfg, await store.load())).toBe('enrolled');
    expect(enrolmentState({ ...cfg, serverUrl: 'https://elsewhere.example' }, await store.load())).toBe('pending');
  });
});

describe('windowsPolicySource through loadEffectiveConfig', () => {
  it('reg.exe failing keeps last good policy values', async () => {
    const stateDir = tmp();
    const key = RecordedCommandRunner.key('reg', ['query', WINDOWS_POLICY_KEY, '/reg:64']);
    const ok = new RecordedCommandRunner({ [key]: '\r\nHKEY_LOCAL_MACHINE\\SOFTWARE\\Policies\\Vigil\r\n    ServerUrl    REG_SZ    https://msi.example\r\n' });
    await loadEffectiveConfig({ stateDir, sources: [windowsPolicySource(ok)] });
    const denied = new RecordedCommandRunner({ [key]: { code: 1, stdout: '', stderr: 'ERROR: Access is denied.' } });
    const eff = await loadEffectiveConfig({ stateDir, sources: [windowsPolicySource(denied)] });
    expect(eff.config.serverUrl).toBe('https://msi.example');
    expect(eff.origins.serverUrl.kind).toBe('last-good');
    expect(formatConfigProblem(eff.problems[0]!)).toBe('machine policy (HKLM\\SOFTWARE\\Policies\\Vigil): reg query failed: Access is denied.; its settings keep their last good values');
  });
});
