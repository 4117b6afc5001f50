/**
 * The per-machine MSI (packaging/msi/vigil.wxs + scripts/build-msi.ts), built here with
 * msitools' wixl and inspected with msiinfo / msidump, since no Windows machine is
 * available: properties (ALLUSERS, UpgradeCode, hidden token, secure public properties),
 * the policy registry values formatted from each public property, the HKLM Run entry,
 * the upgrade and uninstall logic, and the files landing under Program Files\Vigil as
 * docs/DEPLOY.md says. One MSI is built from the labelled placeholder payload, one from a
 * win-unpacked-shaped tree, and one is signed with a throwaway certificate from the
 * environment and verified with osslsigncode.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildMsi, msiVersion, payloadFragment, PUBLIC_PROPERTIES, type BuildMsiResult } from '../../scripts/build-msi.js';
import { makeSigningPki } from '../helpers/signing-fixtures.js';
import { needsTools } from '../helpers/system-tool.js';

const UPGRADE_CODE = '{6F1C2A4E-7B3D-4E59-9C2A-5D8E1F0B7A61}';

/** `msiinfo export` of one table as rows of named columns (first three lines: names, types, key). */
function table(msi: string, name: string): Record<string, string>[] {
  const text = execFileSync('msiinfo', ['export', msi, name], { encoding: 'utf8' });
  const lines = text.split(/\r?\n/).filter((l) => l !== '');
  const cols = lines[0]!.split('\t');
  return lines.slice(3).map((l) => Object.fromEntries(l.split('\t').map((v, i) => [cols[i]!, v])));
}

function properties(msi: string): Record<string, string> {
  return Object.fromEntries(table(msi, 'Property').map((r) => [r.Property!, r.Value!]));
}

/** Resolves a Directory row to its install path, the way Windows Installer does for a 64-bit package. */
function installPath(dirs: Record<string, string>[], id: string): string {
  const row = dirs.find((d) => d.Directory === id)!;
  if (id === 'TARGETDIR') return 'C:';
  if (id === 'ProgramFiles64Folder') return 'C:\\Program Files';
  if (id === 'ProgramMenuFolder') return 'C:\\ProgramData\\Microsoft\\Windows\\Start Menu\\Programs';
  const name = row.DefaultDir!.split('|').pop()!.split(':')[0]!;
  return `${installPath(dirs, row.Directory_Parent!)}\\${name}`;
}

function filesInstalledAt(msi: string): string[] {
  const dirs = table(msi, 'Directory');
  const comps = Object.fromEntries(table(msi, 'Component').map((c) => [c.Component!, c.Directory_!]));
  return table(msi, 'File')
    .map((f) => `${installPath(dirs, comps[f.Component_!]!)}\\${f.FileName!.split('|').pop()}`)
    .sort();
}

const WINSW = path.join(path.dirname(fileURLToPath(import.meta.url)), '../../node_modules/node-windows/bin/winsw/winsw.exe');
const work = mkdtempSync(path.join(tmpdir(), 'vigil-msi-test-'));
let placeholder: BuildMsiResult;
let release: BuildMsiResult;
const logs: string[] = [];

/** A tree shaped like electron-builder's win-unpacked (made once). */
function unpackedTree(): string {
  const unpacked = path.join(work, 'win-unpacked');
  if (existsSync(unpacked)) return unpacked;
  for (const [rel, text] of Object.entries({
    'Vigil.exe': 'MZ not really',
    'ffmpeg.dll': 'MZ',
    'resources.pak': 'pak',
    'resources/app.asar': 'asar',
    'locales/en-US.pak': 'pak',
    'locales/de.pak': 'pak',
    'LICENSE.electron.txt': 'MIT',
  })) {
    mkdirSync(path.dirname(path.join(unpacked, rel)), { recursive: true });
    writeFileSync(path.join(unpacked, rel), text);
  }
  // The service host the release ships: WinSW from the node-windows devDependency (the path
  // .github/workflows/release.yml passes); the build copies it in as VigilService.exe.
  copyFileSync(WINSW, path.join(work, 'winsw.exe'));
  return unpacked;
}

describe('the MSI definition (wixl build, msiinfo/msidump inspection)', needsTools('wixl', 'msibuild', 'msiinfo', 'msidump'), () => {
  beforeAll(() => {
    placeholder = buildMsi({ placeholder: true, out: path.join(work, 'placeholder.msi'), env: {}, log: (l) => logs.push(l) });
    release = buildMsi({ payloadDir: unpackedTree(), out: path.join(work, 'release.msi'), version: '1.2.3', env: {}, log: (l) => logs.push(l), serviceWrapper: path.join(work, 'winsw.exe') });
  });

  it('is per-machine with the fixed UpgradeCode, no reboot, and the token hidden from logs', () => {
    const p = properties(release.msi);
    expect(p.ALLUSERS).toBe('1');
    expect(p.UpgradeCode).toBe(UPGRADE_CODE);
    expect(p.ProductName).toBe('Vigil');
    expect(p.ProductVersion).toBe('1.2.3');
    expect(p.Manufacturer).toBe('Vigil');
    expect(p.ProductCode).toMatch(/^\{[0-9A-F-]{36}\}$/);
    expect(p.REBOOT).toBe('ReallySuppress');
    expect(p.MSIHIDDENPROPERTIES).toBe('VIGIL_ENROLL_TOKEN');
    expect(p.VIGIL_PAYLOAD).toBe('release');
    expect(p.SecureCustomProperties!.split(';')).toEqual(expect.arrayContaining(['WIX_UPGRADE_DETECTED', 'WIX_DOWNGRADE_DETECTED', ...PUBLIC_PROPERTIES]));
    // Public properties carry no default: what is not given on the command line stays unset.
    for (const prop of ['VIGIL_SERVER_URL', 'VIGIL_ENROLL_TOKEN', 'VIGIL_TENANT', 'VIGIL_ALLOW_QUIT', 'VIGIL_PACK_KEYS']) expect(p[prop]).toBeUndefined();
    const summary = execFileSync('msiinfo', ['suminfo', release.msi], { encoding: 'utf8' });
    expect(summary).toMatch(/Template: x64;1033/);
    expect(summary).toMatch(/Comments: Vigil 1\.2\.3 \(release payload\)/);
  });

  it('writes each public property into HKLM\\SOFTWARE\\Policies\\Vigil, and the Run entry for every user', () => {
    const reg = table(release.msi, 'Registry');
    const policy = Object.fromEntries(reg.filter((r) => r.Root === '2' && r.Key === 'SOFTWARE\\Policies\\Vigil').map((r) => [r.Name!, { value: r.Value, component: r.Component_ }]));
    expect(policy).toEqual({
      ServerUrl: { value: '[VIGIL_SERVER_URL]', component: 'PolicyValues' },
      EnrollToken: { value: '[VIGIL_ENROLL_TOKEN]', component: 'PolicyValues' },
      Tenant: { value: '[VIGIL_TENANT]', component: 'PolicyValues' },
      AllowQuit: { value: '[VIGIL_ALLOW_QUIT]', component: 'PolicyValues' },
      PackKeys: { value: '[VIGIL_PACK_KEYS]', component: 'PolicyValues' },
      Autostart: { value: 'machine', component: 'PolicyValues' },
    });
    const run = reg.filter((r) => r.Key === 'SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Run');
    expect(run).toEqual([expect.objectContaining({ Root: '2', Name: 'Vigil', Value: '"[#VigilExe]" --autostart', Component_: 'RunAtLogon' })]);
    // 64-bit components (attribute 256): the values land in the 64-bit view, not WOW6432Node.
    const comps = Object.fromEntries(table(release.msi, 'Component').map((c) => [c.Component!, Number(c.Attributes)]));
    expect(comps.PolicyValues! & 256).toBe(256);
    expect(comps.RunAtLogon! & 256).toBe(256);
  });

  it('keeps installed policy on upgrade (AppSearch) unless the command line gives a new value', () => {
    const locators = table(release.msi, 'RegLocator');
    expect(locators.map((l) => [l.Root, l.Key, l.Name, l.Type])).toEqual(
      expect.arrayContaining([
        ['2', 'SOFTWARE\\Policies\\Vigil', 'ServerUrl', '18'],
        ['2', 'SOFTWARE\\Policies\\Vigil', 'EnrollToken', '18'],
        ['2', 'SOFTWARE\\Policies\\Vigil', 'Tenant', '18'],
        ['2', 'SOFTWARE\\Policies\\Vigil', 'AllowQuit', '18'],
        ['2', 'SOFTWARE\\Policies\\Vigil', 'PackKeys', '18'],
      ]),
    );
    expect(table(release.msi, 'AppSearch').map((a) => a.Property).sort()).toEqual(['VIGIL_ALLOW_QUIT', 'VIGIL_ENROLL_TOKEN', 'VIGIL_PACK_KEYS', 'VIGIL_SERVER_URL', 'VIGIL_TENANT']);
    for (const seqName of ['InstallExecuteSequence', 'InstallUISequence']) {
      const seq = Object.fromEntries(table(release.msi, seqName).map((r) => [r.Action!, { cond: r.Condition, n: Number(r.Sequence) }]));
      const appSearch = seq.AppSearch!.n;
      for (const name of ['ServerUrl', 'EnrollToken', 'Tenant', 'AllowQuit', 'PackKeys']) {
        expect(seq[`Save${name}`]!.n, `${seqName} Save${name}`).toBeLessThan(appSearch);
        expect(seq[`Restore${name}`]!.n, `${seqName} Restore${name}`).toBeGreaterThan(appSearch);
        expect(seq[`Restore${name}`]!.n).toBeLessThan(seq.LaunchConditions!.n);
      }
    }
  });

  it('upgrades in place: major upgrade on the same UpgradeCode, old version removed first', () => {
    const upgrade = table(release.msi, 'Upgrade');
    expect(upgrade).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ UpgradeCode: UPGRADE_CODE, VersionMax: '1.2.3', ActionProperty: 'WIX_UPGRADE_DETECTED' }),
        expect.objectContaining({ UpgradeCode: UPGRADE_CODE, VersionMin: '1.2.3', ActionProperty: 'WIX_DOWNGRADE_DETECTED' }),
      ]),
    );
    const seq = Object.fromEntries(table(release.msi, 'InstallExecuteSequence').map((r) => [r.Action!, Number(r.Sequence)]));
    expect(seq.RemoveExistingProducts).toBeGreaterThan(seq.InstallValidate!);
    expect(seq.RemoveExistingProducts).toBeLessThan(seq.InstallInitialize!);
  });

  it('uninstall removes the machine state folder unless VIGIL_KEEP_DATA, never during an upgrade', () => {
    const ca = Object.fromEntries(table(release.msi, 'CustomAction').map((r) => [r.Action!, r]));
    expect(ca.RemoveMachineState).toMatchObject({ Source: 'VIGIL_CMD', Target: '/d /c rmdir /s /q "[CommonAppDataFolder]Vigil"' });
    const type = Number(ca.RemoveMachineState!.Type);
    expect(type & 0x3f).toBe(50); // exe named by a property
    expect(type & 0x400).toBe(0x400); // deferred
    expect(type & 0x800).toBe(0x800); // as SYSTEM (no impersonation)
    expect(type & 0x40).toBe(0x40); // failure ignored: never blocks an uninstall
    const seq = Object.fromEntries(table(release.msi, 'InstallExecuteSequence').map((r) => [r.Action!, r]));
    expect(seq.RemoveMachineState!.Condition).toBe('REMOVE="ALL" AND NOT UPGRADINGPRODUCTCODE AND NOT VIGIL_KEEP_DATA');
    expect(Number(seq.RemoveMachineState!.Sequence)).toBeLessThan(Number(seq.InstallFinalize!.Sequence));
    expect(Number(seq.SetCmdPath!.Sequence)).toBeLessThan(Number(seq.RemoveMachineState!.Sequence));
  });

  it('puts the payload under C:\\Program Files\\Vigil and a Start-menu shortcut with the AppUserModelID', () => {
    expect(filesInstalledAt(release.msi)).toEqual(
      [
        'C:\\Program Files\\Vigil\\LICENSE.electron.txt',
        'C:\\Program Files\\Vigil\\Vigil.exe',
        'C:\\Program Files\\Vigil\\ffmpeg.dll',
        'C:\\Program Files\\Vigil\\locales\\de.pak',
        'C:\\Program Files\\Vigil\\locales\\en-US.pak',
        'C:\\Program Files\\Vigil\\resources.pak',
        'C:\\Program Files\\Vigil\\resources\\app.asar',
        'C:\\Program Files\\Vigil\\VigilService.exe',
        'C:\\Program Files\\Vigil\\VigilService.xml',
      ].sort(),
    );
    const vigilExe = table(release.msi, 'File').find((f) => f.File === 'VigilExe')!;
    expect(vigilExe.FileName).toBe('Vigil.exe');
    expect(table(release.msi, 'Shortcut')).toEqual([expect.objectContaining({ Shortcut: 'VigilStartMenu', Directory_: 'ProgramMenuFolder', Name: 'Vigil', Target: '[#VigilExe]', WkDir: 'INSTALLDIR' })]);
    expect(table(release.msi, 'MsiShortcutProperty')).toEqual([{ MsiShortcutProperty: 'VigilAumid', Shortcut_: 'VigilStartMenu', PropertyKey: 'System.AppUserModel.ID', PropVariantValue: 'com.vigil.agent' }]);
    expect(Number(table(release.msi, 'Media')[0]!.LastSequence)).toBe(9);
  });

  it('installs the machine agent as the service "Vigil" (LocalSystem, automatic), starts it, stops it on upgrade and uninstall, and restarts it on failure', () => {
    const [svc] = table(release.msi, 'ServiceInstall');
    expect(svc).toMatchObject({ Name: 'Vigil', DisplayName: 'Vigil agent', ServiceType: '16', StartType: '2', ErrorControl: '32769', StartName: 'LocalSystem', Component_: 'AgentService' });
    const comp = table(release.msi, 'Component').find((c) => c.Component === 'AgentService')!;
    const exe = table(release.msi, 'File').find((f) => f.File === comp.KeyPath)!;
    expect(exe.FileName!.split('|').pop()).toBe('VigilService.exe');
    // The service executable is the WinSW binary the release ships, byte for byte in size.
    expect(Number(exe.FileSize)).toBe(readFileSync(WINSW).length);
    expect(filesInstalledAt(release.msi)).toEqual(expect.arrayContaining(['C:\\Program Files\\Vigil\\VigilService.exe', 'C:\\Program Files\\Vigil\\VigilService.xml']));
    // 0x01 start on install, 0x02 stop on install (a major upgrade's removal of the old product
    // stops it too, through that product's own row), 0x20 stop and 0x80 delete on uninstall.
    const [ctl] = table(release.msi, 'ServiceControl');
    expect(ctl).toMatchObject({ Name: 'Vigil', Event: String(0x01 | 0x02 | 0x20 | 0x80), Wait: '1', Component_: 'AgentService' });
    const seq = Object.fromEntries(table(release.msi, 'InstallExecuteSequence').map((r) => [r.Action!, Number(r.Sequence)]));
    expect(seq.StopServices).toBeLessThan(seq.InstallFiles!);
    expect(seq.DeleteServices).toBeLessThan(seq.InstallFiles!);
    expect(seq.InstallServices).toBeGreaterThan(seq.InstallFiles!);
    expect(seq.StartServices).toBeGreaterThan(seq.InstallServices!);
    const [recovery] = table(release.msi, 'MsiServiceConfigFailureActions');
    expect(recovery).toMatchObject({ Name: 'Vigil', Event: '5', ResetPeriod: '86400', Actions: '1[~]1[~]1', DelayActions: '10000[~]10000[~]60000', Component_: 'AgentService' });
    // The host runs the app's CLI mode as the machine agent.
    const xml = readFileSync(path.resolve('packaging/msi/VigilService.xml'), 'utf8');
    expect(xml).toMatch(/<executable>%BASE%\\Vigil\.exe<\/executable>/);
    expect(xml).toMatch(/<arguments>run --machine<\/arguments>/);
  });

  it('msidump sees the same tables (and the embedded cabinet)', () => {
    const out = path.join(work, 'dump');
    mkdirSync(out);
    execFileSync('msidump', ['-t', '-s', '-d', out, release.msi]);
    const files = readdirSync(out);
    expect(files).toEqual(expect.arrayContaining(['Property.idt', 'Registry.idt', 'Upgrade.idt', 'File.idt', 'Directory.idt', 'Component.idt']));
    const registry = readFileSync(path.join(out, 'Registry.idt'), 'utf8');
    expect(registry).toContain('SOFTWARE\\Policies\\Vigil\tServerUrl\t[VIGIL_SERVER_URL]');
    expect(registry).toContain('SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Run\tVigil\t"[#VigilExe]" --autostart');
    expect(readFileSync(path.join(out, 'Property.idt'), 'utf8')).toMatch(/^ALLUSERS\t1\r?$/m);
    const streams = readdirSync(path.join(out, '_Streams'));
    expect(streams.some((s) => /vigil\.cab/.test(s))).toBe(true);
  });

  it('a placeholder payload is labelled as such everywhere', () => {
    expect(placeholder.payloadKind).toBe('placeholder');
    expect(properties(placeholder.msi).VIGIL_PAYLOAD).toBe('placeholder');
    expect(execFileSync('msiinfo', ['suminfo', placeholder.msi], { encoding: 'utf8' })).toMatch(/Comments: Vigil \d+\.\d+\.\d+ \(placeholder payload\)/);
    expect(filesInstalledAt(placeholder.msi)).toContain('C:\\Program Files\\Vigil\\PLACEHOLDER-PAYLOAD.txt');
    expect(logs.some((l) => /PLACEHOLDER PAYLOAD/.test(l))).toBe(true);
    expect(logs.some((l) => /WARNING: UNSIGNED MSI/.test(l))).toBe(true);
  });
});

describe('MSI signing from the environment', needsTools('wixl', 'msibuild', 'msiinfo', 'osslsigncode', 'openssl'), () => {
  it('signs with the .pfx named by WIN_CSC_LINK; osslsigncode verifies it', () => {
    const pki = makeSigningPki(path.join(work, 'pki'));
    const pfx = path.join(work, 'release.pfx');
    execFileSync('openssl', ['pkcs12', '-export', '-in', pki.leafPem, '-inkey', pki.leafKey, '-certfile', pki.interPem, '-passout', 'pass:test-pass', '-out', pfx]);
    const signedLogs: string[] = [];
    const r = buildMsi({
      payloadDir: unpackedTree(),
      out: path.join(work, 'signed.msi'),
      env: { WIN_CSC_LINK: readFileSync(pfx).toString('base64'), WIN_CSC_KEY_PASSWORD: 'test-pass', ELECTRON_BUILDER_OFFLINE: 'true' },
      log: (l) => signedLogs.push(l),
      serviceWrapper: path.join(work, 'winsw.exe'),
    });
    expect(r.signed).toBe(true);
    expect(signedLogs.some((l) => /signed/.test(l))).toBe(true);
    const verify = execFileSync('osslsigncode', ['verify', '-CAfile', pki.rootPem, '-in', r.msi], { encoding: 'utf8' });
    expect(verify).toMatch(/Signature verification: ok/);
    expect(verify).toMatch(/Example Softphone Ltd/);
    expect(properties(r.msi).UpgradeCode).toBe(UPGRADE_CODE);
  });
});

describe('build-msi helpers', () => {
  it('MSI versions are x.y.z within Windows Installer limits', () => {
    expect(msiVersion('0.1.0')).toBe('0.1.0');
    expect(msiVersion('2.10.7-beta.1')).toBe('2.10.7');
    expect(() => msiVersion('256.0.0')).toThrow(/not an MSI ProductVersion/);
    expect(() => msiVersion('v1')).toThrow();
  });

  it('the payload fragment needs Vigil.exe at the root and has stable ids', () => {
    expect(() => payloadFragment(['app/Vigil.exe'])).toThrow(/no Vigil.exe/);
    expect(() => payloadFragment(['Vigil.exe'])).toThrow(/no VigilService.exe .*--service-wrapper/);
    const a = payloadFragment(['Vigil.exe', 'VigilService.exe', 'a b/c&d.txt']);
    expect(a).not.toContain('VigilService.exe');
    expect(a).toContain('<File Id="VigilExe" Name="Vigil.exe" Source="payload/Vigil.exe" KeyPath="yes" />');
    expect(a).toContain('Name="c&amp;d.txt" Source="payload/a b/c&amp;d.txt"');
    expect(payloadFragment(['Vigil.exe', 'VigilService.exe', 'a b/c&d.txt'])).toBe(a);
  });

  it('refuses ambiguous input', () => {
    expect(() => buildMsi({ out: path.join(work, 'x.msi'), env: {} })).toThrow(/--payload DIR .* or --placeholder/);
    expect(() => buildMsi({ out: path.join(work, 'x.msi'), placeholder: true, payloadDir: work, env: {} })).toThrow(/exclude each other/);
  });
});
