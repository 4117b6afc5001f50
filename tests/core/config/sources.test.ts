/**
 * The configuration sources, each on what the real place holds: `reg query` output as
 * reg.exe prints it for HKLM\SOFTWARE\Policies\Vigil (values as the MSI and Group Policy
 * write them), managed-preferences plists (XML and binary), and JSON files.
 */
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { RecordedCommandRunner } from '../../../src/core/os/command-runner.js';
import {
  convertSetting,
  defaultConfigSources,
  jsonFileSource,
  machineSettingsFile,
  macosManagedPreferencesSource,
  SETTING_KEYS,
  settingKeyFor,
  windowsPolicySource,
  WINDOWS_POLICY_KEY,
} from '../../../src/core/config/sources.js';
import { AgentConfigSchema } from '../../../src/core/config/schema.js';
import { bplist, obj } from '../inventory/macos/bplist-builder.js';

const REG_KEY = RecordedCommandRunner.key('reg', ['query', WINDOWS_POLICY_KEY, '/reg:64']);

/** reg.exe's output for the key after `msiexec /i Vigil.msi VIGIL_SERVER_URL=... VIGIL_ENROLL_TOKEN=...` plus a GPO DWORD and MULTI_SZ. */
const MSI_POLICY = [
  '',
  'HKEY_LOCAL_MACHINE\\SOFTWARE\\Policies\\Vigil',
  '    ServerUrl    REG_SZ    https://vigil.partner.example',
  '    EnrollToken    REG_SZ    vigil_enroll_0123456789abcdef',
  '    Tenant    REG_SZ    ',
  '    AllowQuit    REG_SZ    1',
  '    Autostart    REG_SZ    machine',
  '    ScanIntervalSec    REG_DWORD    0xe10',
  '    Packs    REG_MULTI_SZ    C:\\ProgramData\\Vigil\\packs\\a.json\\0C:\\ProgramData\\Vigil\\packs\\b.json',
  '    LegacyThing    REG_SZ    x',
  '',
  'HKEY_LOCAL_MACHINE\\SOFTWARE\\Policies\\Vigil\\Sub',
  '',
].join('\r\n');

const tmp = () => mkdtempSync(path.join(tmpdir(), 'vigil-cfgsrc-'));

describe('setting names and conversions', () => {
  it('knows every schema key, case-insensitively', () => {
    expect([...SETTING_KEYS].sort()).toEqual(Object.keys(AgentConfigSchema.shape).sort());
    expect(settingKeyFor('SERVERURL')).toBe('serverUrl');
    expect(settingKeyFor('allowquit')).toBe('allowQuit');
    expect(settingKeyFor('nope')).toBeUndefined();
  });

  it('converts registry-style text and numbers, keeping what it cannot convert for the schema to reject', () => {
    expect(convertSetting('allowQuit', '1')).toBe(true);
    expect(convertSetting('allowQuit', 'FALSE')).toBe(false);
    expect(convertSetting('allowQuit', 0)).toBe(false);
    expect(convertSetting('allowQuit', 'maybe')).toBe('maybe');
    expect(convertSetting('scanIntervalSec', ' 900 ')).toBe(900);
    expect(convertSetting('scanIntervalSec', 'hourly')).toBe('hourly');
    expect(convertSetting('scanIntervalSec', 3600n)).toBe(3600);
    expect(convertSetting('packs', 'a.json; b.json;')).toEqual(['a.json', 'b.json']);
    expect(convertSetting('packs', [])).toBeUndefined();
    expect(convertSetting('serverUrl', '')).toBeUndefined();
  });
});

describe('Windows machine policy (reg query)', () => {
  it('reads the values the MSI and Group Policy write; empty means not set; unknown names are noted', async () => {
    const runner = new RecordedCommandRunner({ [REG_KEY]: MSI_POLICY });
    const read = await windowsPolicySource(runner).read();
    expect(runner.calls).toEqual([REG_KEY]);
    expect(read.state).toBe('present');
    if (read.state !== 'present') return;
    expect(read.values).toEqual({
      serverUrl: 'https://vigil.partner.example',
      enrollToken: 'vigil_enroll_0123456789abcdef',
      allowQuit: true,
      autostart: 'machine',
      scanIntervalSec: 3600,
      packs: ['C:\\ProgramData\\Vigil\\packs\\a.json', 'C:\\ProgramData\\Vigil\\packs\\b.json'],
    });
    expect(read.notes).toEqual(['registry value "LegacyThing" is not a Vigil setting; ignored']);
  });

  it('a missing key is absent; access denied or a missing reg.exe is an error', async () => {
    const notFound = { code: 1, stdout: '', stderr: 'ERROR: The system was unable to find the specified registry key or value.\r\n' };
    expect(await windowsPolicySource(new RecordedCommandRunner({ [REG_KEY]: notFound })).read()).toEqual({ state: 'absent' });
    const denied = { code: 1, stdout: '', stderr: 'ERROR: Access is denied.\r\n' };
    expect(await windowsPolicySource(new RecordedCommandRunner({ [REG_KEY]: denied })).read()).toEqual({ state: 'error', problem: 'reg query failed: Access is denied.' });
    const none = await windowsPolicySource(new RecordedCommandRunner({})).read();
    expect(none).toEqual({ state: 'error', problem: 'reg query failed: reg could not run: ENOENT' });
  });
});

describe('macOS managed preferences', () => {
  it('reads an XML plist written by a configuration profile', async () => {
    const dir = tmp();
    const file = path.join(dir, 'com.vigil.agent.plist');
    writeFileSync(
      file,
      `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0"><dict>
  <key>PayloadUUID</key><string>5A0C1D2E-0000-4000-8000-000000000001</string>
  <key>ServerUrl</key><string>https://vigil.partner.example</string>
  <key>AllowQuit</key><false/>
  <key>ScanIntervalSec</key><integer>7200</integer>
  <key>Packs</key><array><string>/Library/Application Support/Vigil/packs/x.json</string></array>
</dict></plist>`,
    );
    const read = await macosManagedPreferencesSource(file).read();
    expect(read).toEqual({
      state: 'present',
      values: { serverUrl: 'https://vigil.partner.example', allowQuit: false, scanIntervalSec: 7200, packs: ['/Library/Application Support/Vigil/packs/x.json'] },
      notes: [],
    });
  });

  it('reads a binary plist (what cfprefsd writes) and reports a corrupt one as an error', async () => {
    const dir = tmp();
    const file = path.join(dir, 'com.vigil.agent.plist');
    // { serverUrl: "https://b.example", allowQuit: true }
    writeFileSync(file, bplist([obj.dict([1, 2], [3, 4]), obj.ascii('serverUrl'), obj.ascii('allowQuit'), obj.ascii('https://b.example'), [0x09]]));
    expect(await macosManagedPreferencesSource(file).read()).toEqual({ state: 'present', values: { serverUrl: 'https://b.example', allowQuit: true }, notes: [] });
    writeFileSync(file, 'bplist00 garbage');
    const bad = await macosManagedPreferencesSource(file).read();
    expect(bad.state).toBe('error');
    expect(await macosManagedPreferencesSource(path.join(dir, 'missing.plist')).read()).toEqual({ state: 'absent' });
  });
});

describe('JSON files (Linux policy, per-machine settings file)', () => {
  it('resolves relative pack and state paths against the file and reports broken files', async () => {
    const dir = tmp();
    mkdirSync(path.join(dir, 'etc'));
    const file = path.join(dir, 'etc', 'policy.json');
    writeFileSync(file, JSON.stringify({ serverUrl: 'https://p.example', packs: ['packs/a.json'], stateDir: '../state', colour: 'blue' }));
    const read = await jsonFileSource(file, 'policy').read();
    expect(read).toEqual({
      state: 'present',
      values: { serverUrl: 'https://p.example', packs: [path.join(dir, 'etc', 'packs', 'a.json')], stateDir: path.join(dir, 'state') },
      notes: ['"colour" is not a Vigil setting; ignored'],
    });
    expect(jsonFileSource(file, 'policy').name).toBe(`machine policy (${file})`);
    expect(jsonFileSource(file, 'file').name).toBe(`settings file (${file})`);
    writeFileSync(file, '{"serverUrl": ');
    expect((await jsonFileSource(file, 'policy').read()).state).toBe('error');
    writeFileSync(file, '[1,2]');
    expect(await jsonFileSource(file, 'policy').read()).toEqual({ state: 'error', problem: 'not a JSON object' });
  });

  it('names the usual places per platform', () => {
    expect(machineSettingsFile('win32', { ProgramData: 'D:\\PD' })).toBe('D:\\PD\\Vigil\\config.json');
    expect(machineSettingsFile('darwin')).toBe('/Library/Application Support/Vigil/config.json');
    expect(machineSettingsFile('linux')).toBe('/etc/vigil/config.json');
    const runner = new RecordedCommandRunner({});
    expect(defaultConfigSources({ platform: 'win32', runner, env: {} }).map((s) => s.name)).toEqual([
      'machine policy (HKLM\\SOFTWARE\\Policies\\Vigil)',
      'settings file (C:\\ProgramData\\Vigil\\config.json)',
    ]);
    expect(defaultConfigSources({ platform: 'darwin', runner }).map((s) => s.name)).toEqual([
      'machine policy (/Library/Managed Preferences/com.vigil.agent.plist)',
      'settings file (/Library/Application Support/Vigil/config.json)',
    ]);
    expect(defaultConfigSources({ platform: 'linux', runner, settingsFile: '/x/c.json' }).map((s) => s.name)).toEqual(['machine policy (/etc/vigil/policy.json)', 'settings file (/x/c.json)']);
  });
});
