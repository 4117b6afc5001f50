/**
 * `vigil check --root` end to end: the real CLI entry (runCli) over fixture trees laid out
 * as a Windows, macOS or Linux disk, with executables whose VERSIONINFO the tests write,
 * Info.plists written by Python's plistlib (an independent writer), and packs from disk.
 * What RMM scripts read is asserted: the exit code, the human lines and the JSON document.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmod, mkdtemp, writeFile } from 'node:fs/promises';
import { readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/main.js';
import type { CliIo } from '../../src/cli/io.js';
import { ScanReportSchema, type ScanReport } from '../../src/shared/scan.js';
import { makePe } from '../helpers/make-pe.js';
import { electronAppVersionSpec, makeVersionResource } from '../helpers/make-version-resource.js';
import { disarmedCopy, PLANTED_PAYLOAD, PLANTED_SHA256, testPack } from '../helpers/test-pack.js';
import { emptyHive, hivexMkdirs, hivexSetStrings, hivexsh } from '../helpers/make-hive.js';
import { needsTools } from '../helpers/system-tool.js';
import { needsCheckoutOthersCanRead } from '../helpers/checkout-access.js';
import { makeTree } from '../helpers/file-tree.js';

const WIN_APP = 'Users/alice/AppData/Local/Programs/3CXDesktopApp';
const MAC_APP = 'Applications/3CX Desktop App.app';

/** An x64 3CXDesktopApp.exe carrying the VERSIONINFO electron-builder writes for `version`. */
function exeWithVersion(version: string): Buffer {
  return makePe({ resources: (rva) => makeVersionResource(rva, { languages: [{ id: 0x0409, info: electronAppVersionSpec(version) }] }) });
}

const tree = (files: Record<string, string | Buffer>) => makeTree(files, 'vigil-check-');

function windowsTree(extra: Record<string, string | Buffer> = {}): Record<string, string | Buffer> {
  return { 'Windows/System32/': '', 'Users/alice/NTUSER.DAT': 'x', 'Users/bob/NTUSER.DAT': 'x', 'Users/Public/': '', ...extra };
}

/** Info.plist bytes from Python's plistlib, as electron-builder lays it out. */
function infoPlist(version: string, format: 'xml' | 'binary'): Buffer {
  const py = `
import plistlib, sys
d = {"CFBundleIdentifier": "com.electron.3cx-desktop-app", "CFBundleName": "3CX Desktop App",
     "CFBundleExecutable": "3CX Desktop App", "CFBundleShortVersionString": sys.argv[1],
     "CFBundleVersion": sys.argv[1], "LSMinimumSystemVersion": "10.11.0"}
sys.stdout.buffer.write(plistlib.dumps(d, fmt=plistlib.FMT_BINARY if sys.argv[2] == "binary" else plistlib.FMT_XML))`;
  return execFileSync('python3', ['-c', py, version, format]);
}

async function check(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: CliIo = { stdout: (t) => void (out += t), stderr: (t) => void (err += t), env: {}, cwd: process.cwd(), interrupted: new Promise(() => {}) };
  const code = await runCli(['check', ...args], io);
  return { code, out, err };
}

async function checkJson(args: string[]): Promise<{ code: number; report: ScanReport }> {
  const r = await check([...args, '--json']);
  expect(r.err).toBe('');
  return { code: r.code, report: ScanReportSchema.parse(JSON.parse(r.out)) };
}

async function packFile(pack: Record<string, unknown>): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'vigil-pack-'));
  const file = path.join(dir, 'pack.json');
  await writeFile(file, JSON.stringify(pack));
  return file;
}

describe('vigil check --root on a Windows per-user layout, built-in 3CX pack', () => {
  it('18.12.416 in VERSIONINFO: exit 2, naming the file and the version', async () => {
    const root = await tree(windowsTree({ [`${WIN_APP}/3CXDesktopApp.exe`]: exeWithVersion('18.12.416') }));
    const human = await check(['--root', root]);
    expect(human.code).toBe(2);
    expect(human.out).toContain(`found  3CX Desktop App 18.12.416 for alice at ${root}/${WIN_APP}`);
    expect(human.out).toMatch(/RED {3}.*18\.12\.416/);
    expect(human.out).toMatch(/what to do: .*[Uu]ninstall/);
    expect(human.out).toMatch(/^verdict: COMPROMISED/m);

    const { code, report } = await checkJson(['--root', root]);
    expect(code).toBe(2);
    expect(report.target).toMatchObject({ platform: 'windows', live: false });
    expect(report.installs).toHaveLength(1);
    expect(report.installs[0]).toMatchObject({ version: '18.12.416', versionSource: 'versioninfo', user: 'alice' });
    expect(report.installs[0]!.files.map((f) => f.path)).toContain(`${root}/${WIN_APP}/3CXDesktopApp.exe`);
    const finding = report.findings.find((f) => f.severity === 'compromised')!;
    expect(finding).toMatchObject({ ruleId: 'windows-trojanized', evidence: { version: '18.12.416' } });
    expect(finding.evidence.path).toContain('3CXDesktopApp');
    expect(finding.advice?.text).toMatch(/web app|PWA/i);
    expect(report.verdict.status).toBe('compromised');
  });

  it('an offline image: uninstall entries come from its SOFTWARE hive and NTUSER.DAT, and a custom install folder they name is inspected', needsTools('hivexsh'), async () => {
    const software = path.join(await mkdtemp(path.join(tmpdir(), 'vigil-hive-')), 'SOFTWARE');
    writeFileSync(software, emptyHive());
    hivexsh(software, [
      ...hivexMkdirs(['Microsoft', 'Windows', 'CurrentVersion', 'Uninstall', '{3CX-MACHINE-WIDE}']),
      ...hivexSetStrings({ DisplayName: '3CX Desktop App', DisplayVersion: '18.12.416', Publisher: '3CX', InstallLocation: 'C:\\Tools\\3CXDesktopApp\\' }),
      'cd ..',
      'add 7-Zip',
      'cd 7-Zip',
      ...hivexSetStrings({ DisplayName: '7-Zip 23.01 (x64)', InstallLocation: 'C:\\Program Files\\7-Zip\\' }),
    ]);
    const ntuser = path.join(path.dirname(software), 'NTUSER.DAT');
    writeFileSync(ntuser, emptyHive());
    // A per-user MSI entry: no InstallLocation; it describes bob's copy in his profile.
    hivexsh(ntuser, [...hivexMkdirs(['Software', 'Microsoft', 'Windows', 'CurrentVersion', 'Uninstall', '{3CX-PER-USER}']), ...hivexSetStrings({ DisplayName: '3CX Desktop App', DisplayVersion: '18.12.407', Publisher: '3CX Ltd' })]);
    const root = await tree(
      windowsTree({
        'Windows/System32/config/SOFTWARE': readFileSync(software),
        'Users/bob/NTUSER.DAT': readFileSync(ntuser),
        'Tools/3CXDesktopApp/3CXDesktopApp.exe': exeWithVersion('18.12.416'),
        'Users/bob/AppData/Local/Programs/3CXDesktopApp/3CXDesktopApp.exe': exeWithVersion('18.12.407'),
      }),
    );
    const { code, report } = await checkJson(['--root', root]);
    expect(code).toBe(2);
    const byPlace = Object.fromEntries(report.installs.map((i) => [i.location, i]));
    // Found only through the registry: its version is read from the executable, its files hashed.
    expect(byPlace[`${root}/Tools/3CXDesktopApp`]).toMatchObject({ version: '18.12.416', versionSource: 'versioninfo', registryVersion: '18.12.416', publisher: '3CX', versionClass: 'compromised' });
    expect(byPlace[`${root}/Tools/3CXDesktopApp`]!.files[0]).toMatchObject({ role: 'executable', sha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
    // The per-user entry joins bob's copy, found in his profile.
    expect(byPlace[`${root}/Users/bob/AppData/Local/Programs/3CXDesktopApp`]).toMatchObject({ user: 'bob', version: '18.12.407', registryVersion: '18.12.407', publisher: '3CX Ltd', versionClass: 'compromised' });
    expect(report.installs).toHaveLength(2);
    // alice's NTUSER.DAT is not a hive: said, not fatal.
    expect(report.notes).toContainEqual(expect.stringMatching(/^registry: .*Users\/alice\/NTUSER\.DAT: too small for a registry hive \(1 byte\)$/));
    expect(report.notes.join('\n')).not.toMatch(/uninstall entries were not read/);
  });

  it('18.12.425 (the cleared build) is safe by version; unsigned, it is amber only for the signature. 18.12.300 is at risk', async () => {
    // The built-in pack trusts only 3CX's real certificates, which a test cannot sign with,
    // so the generated executable is unsigned: the pack's rules make that exit 1, and the
    // version rule itself says "safe". (tests/cli/check-signing.test.ts signs with a test
    // pack's trusted certificate and gets exit 0.)
    const clean = await tree(windowsTree({ [`${WIN_APP}/3CXDesktopApp.exe`]: exeWithVersion('18.12.425') }));
    const ok = await checkJson(['--root', clean]);
    expect(ok.code).toBe(1);
    expect(ok.report.installs[0]).toMatchObject({ version: '18.12.425', versionClass: 'safe' });
    expect(ok.report.findings.find((f) => f.ruleId === 'windows-cleared-build')?.severity).toBe('info');
    const notInfo = ok.report.findings.filter((f) => f.severity !== 'info');
    expect(notInfo.map((f) => [f.category, f.severity])).toEqual([['signature', 'attention']]);
    expect(notInfo[0]!.title).toMatch(/not code-signed/);

    const old = await tree(windowsTree({ [`${WIN_APP}/3CXDesktopApp.exe`]: exeWithVersion('18.12.300') }));
    const risk = await checkJson(['--root', old]);
    expect(risk.code).toBe(1);
    expect(risk.report.findings.find((f) => f.severity === 'attention')).toMatchObject({ ruleId: 'windows-before-cleared-build', evidence: { version: '18.12.300' } });
  });

  it('a truncated or non-PE executable: the version cannot be read, which is attention, not a crash', async () => {
    const truncated = exeWithVersion('18.12.416').subarray(0, 300);
    for (const content of [truncated, Buffer.from('#!/bin/sh\necho not a PE\n')]) {
      const root = await tree(windowsTree({ [`${WIN_APP}/3CXDesktopApp.exe`]: content }));
      const { code, report } = await checkJson(['--root', root]);
      expect(code).toBe(1);
      expect(report.verdict.status).toBe('attention');
      expect(report.installs[0]!.version).toBeUndefined();
      const f = report.findings.find((x) => x.severity === 'attention')!;
      expect(f).toMatchObject({ ruleId: 'version-unreadable', evidence: { path: `${root}/${WIN_APP}` } });
      expect(f.evidence.error).toContain('3CXDesktopApp.exe');
      // The pack's fallbackAdvice, not whichever advice happens to come first.
      expect(f.advice?.id).toBe('check-version');
    }
  });

  it('the manifest artefact alone is found in the profile that has it', async () => {
    const root = await tree(windowsTree({ 'Users/bob/AppData/Local/Programs/3CXDesktopApp/app/manifest': '1680000000' }));
    const { code, report } = await checkJson(['--root', root]);
    expect(code).toBe(1);
    const f = report.findings.find((x) => x.ruleId === 'win-app-manifest')!;
    expect(f).toMatchObject({ severity: 'attention', evidence: { user: 'bob' } });
    expect(f.evidence.path).toBe(`${root}/Users/bob/AppData/Local/Programs/3CXDesktopApp/app/manifest`);
  });
});

describe('known-bad hashes (a test pack whose hash is of a generated file)', () => {
  it('a side-loaded ffmpeg.dll with the pack hash: exit 2 with the SHA-256; another DLL is not flagged', async () => {
    const pack = await packFile(testPack());
    const root = await tree(
      windowsTree({
        [`${WIN_APP}/3CXDesktopApp.exe`]: exeWithVersion('18.12.425'),
        [`${WIN_APP}/ffmpeg.dll`]: PLANTED_PAYLOAD,
        [`${WIN_APP}/d3dcompiler_47.dll`]: 'an ordinary dll',
      }),
    );
    const human = await check(['--root', root, '--no-builtin', '--pack', pack]);
    expect(human.code).toBe(2);
    expect(human.out).toContain(`sha256 ${PLANTED_SHA256}`);
    const { report } = await checkJson(['--root', root, '--no-builtin', '--pack', pack]);
    const hits = report.findings.filter((f) => f.category === 'hash');
    expect(hits).toHaveLength(1);
    expect(hits[0]).toMatchObject({ severity: 'compromised', evidence: { sha256: PLANTED_SHA256, user: 'alice' } });
    expect(hits[0]!.evidence.path).toBe(`${root}/${WIN_APP}/ffmpeg.dll`);
    // Every file the pack names is hashed and reported, so IT can compare with other tools.
    const files = report.installs[0]!.files;
    expect(files.find((f) => f.path.endsWith('d3dcompiler_47.dll'))?.sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it('a downloaded installer matching the pack hash, with no install at all', async () => {
    const pack = await packFile(testPack({ hashes: [{ sha256: PLANTED_SHA256, fileName: '3CXDesktopApp-18.12.416.msi', platform: 'windows', description: 'trojanized MSI (test stand-in)', advice: 'isolate', sources: ['advisory'] }] }));
    const root = await tree(windowsTree({ 'Users/bob/Downloads/3CXDesktopApp-18.12.416.msi': PLANTED_PAYLOAD }));
    const { code, report } = await checkJson(['--root', root, '--no-builtin', '--pack', pack]);
    expect(code).toBe(2);
    expect(report.installs).toEqual([]);
    expect(report.findings.find((f) => f.category === 'hash')?.evidence.path).toBe(`${root}/Users/bob/Downloads/3CXDesktopApp-18.12.416.msi`);
  });
});

describe('vigil check --root on a macOS layout', () => {
  it('reads XML and binary Info.plists: 18.12.416 in /Applications is compromised, a user copy at 18.12.422 is at risk', needsTools('python3'), async () => {
    const root = await tree({
      [`${MAC_APP}/Contents/Info.plist`]: infoPlist('18.12.416', 'xml'),
      [`Users/carol/${MAC_APP}/Contents/Info.plist`]: infoPlist('18.12.422', 'binary'),
      'Users/carol/Library/Preferences/': '',
    });
    const { code, report } = await checkJson(['--root', root]);
    expect(code).toBe(2);
    expect(report.target.platform).toBe('macos');
    const byVersion = Object.fromEntries(report.installs.map((i) => [i.version, i]));
    expect(byVersion['18.12.416']).toMatchObject({ versionSource: 'info-plist', location: `${root}/${MAC_APP}` });
    expect(byVersion['18.12.422']).toMatchObject({ versionSource: 'info-plist', user: 'carol' });
    expect(report.findings.find((f) => f.ruleId === 'macos-trojanized')?.evidence.version).toBe('18.12.416');
    expect(report.findings.find((f) => f.ruleId === 'macos-rebuilt-unconfirmed')?.evidence.version).toBe('18.12.422');
  });

  it('the .main_storage artefact in a profile is compromised even with the app removed', async () => {
    const root = await tree({ 'Applications/': '', 'Users/carol/Library/Application Support/3CX Desktop App/.main_storage': 'x' });
    const { code, report } = await checkJson(['--root', root]);
    expect(code).toBe(2);
    expect(report.findings.find((f) => f.ruleId === 'mac-main-storage')).toMatchObject({ severity: 'compromised', evidence: { user: 'carol' } });
  });

  it('a malformed Info.plist: the copy is reported with an unreadable version (attention), exit 1', async () => {
    const root = await tree({ [`${MAC_APP}/Contents/Info.plist`]: '<?xml version="1.0"?><plist><dict><key>CFBundleShortVersionString</key>' });
    const { code, report } = await checkJson(['--root', root]);
    expect(code).toBe(1);
    expect(report.installs).toHaveLength(1);
    expect(report.installs[0]!.version).toBeUndefined();
    const f = report.findings.find((x) => x.severity === 'attention')!;
    expect(f).toMatchObject({ ruleId: 'version-unreadable', evidence: { path: `${root}/${MAC_APP}` } });
    expect(f.evidence.error).toMatch(/Info\.plist: malformed Info\.plist: xml plist: unexpected end of input/);
  });
});

describe('vigil check --root on a Linux layout', () => {
  it('is a clean "not applicable" result with the reason, exit 0', async () => {
    const root = await tree({ 'etc/hostname': 'pc', 'home/dave/': '' });
    const human = await check(['--root', root]);
    expect(human.code).toBe(0);
    expect(human.out).toMatch(/note {3}3CX Desktop App: not applicable on linux: /);
    const { report } = await checkJson(['--root', root]);
    expect(report.target.platform).toBe('linux');
    expect(report.installs).toEqual([]);
    expect(report.verdict.status).toBe('ok');
  });
});

describe('an unsigned pack with the id of the built-in one (issue 11, hole 7)', () => {
  it('--pack with an unsigned copy of the 3CX pack at version 99, rules emptied: refused with a finding, and 18.12.416 is still compromised (exit 2)', async () => {
    const { builtinPacks } = await import('../../src/core/pack/load.js');
    const builtin = (await builtinPacks()).find((p) => p.pack.id === '3cx-desktopapp-2023-03')!;
    const evil = await packFile(disarmedCopy(builtin.pack));
    const root = await tree(windowsTree({ [`${WIN_APP}/3CXDesktopApp.exe`]: exeWithVersion('18.12.416') }));
    const { code, report } = await checkJson(['--root', root, '--pack', evil]);
    expect(code).toBe(2);
    expect(report.packs).toEqual((await builtinPacks()).map((p) => p.ref));
    expect(report.findings.find((f) => f.severity === 'compromised')).toMatchObject({ ruleId: 'windows-trojanized' });
    const refused = report.findings.find((f) => f.ruleId === 'pack-refused-unsigned')!;
    expect(refused).toMatchObject({ severity: 'attention', evidence: { path: evil } });
    expect(refused.evidence.error).toContain(`${evil}: unsigned pack "3cx-desktopapp-2023-03" version 99 not used: the built-in pack "3cx-desktopapp-2023-03" version ${builtin.pack.version} stays in use`);
    const human = await check(['--root', root, '--pack', evil]);
    expect(human.out).toMatch(/unsigned incident pack tried to replace the built-in/);

    // An administrator who means it runs the copy alone, with --no-builtin: nothing is refused.
    const alone = await checkJson(['--root', root, '--pack', evil, '--no-builtin']);
    expect(alone.report.findings.some((f) => f.ruleId === 'pack-refused-unsigned')).toBe(false);
    expect(alone.report.packs.map((p) => p.version)).toEqual([99]);
  });
});

describe('bad input', () => {
  it('a malformed pack: exit 64 with the field named, and no scan', async () => {
    const bad = testPack();
    (bad.versionRules as Record<string, unknown>[])[0]!.class = 'evil';
    const pack = await packFile(bad);
    const r = await check(['--root', await tree(windowsTree()), '--pack', pack]);
    expect(r.code).toBe(64);
    expect(r.err).toMatch(/versionRules\[0\]\.class: Invalid option/);
    expect(r.out).toBe('');
  });

  it('a missing --root folder and an unknown option are usage errors', async () => {
    expect((await check(['--root', '/nonexistent/vigil'])).code).toBe(64);
    expect((await check(['--frobnicate'])).code).toBe(64);
  });
});

describe('a profile the scan may not read', () => {
  it.skipIf(process.getuid?.() !== 0)('is a grey finding naming the user, and the verdict is unknown (exit 3) when nothing worse is found', { ...needsTools('setpriv'), ...needsCheckoutOthersCanRead() }, async () => {
    // Real permissions need a non-root reader: run the built CLI entry as "nobody".
    const root = await tree(windowsTree({ 'Users/alice/AppData/Local/Programs/3CXDesktopApp/3CXDesktopApp.exe': exeWithVersion('18.12.425') }));
    await chmod(root, 0o755);
    await chmod(path.join(root, 'Users/alice'), 0o700);
    const cli = path.resolve('src/cli/main.ts');
    const r = spawnSync('setpriv', ['--reuid=nobody', '--regid=nogroup', '--clear-groups', process.execPath, '--import', 'tsx', cli, 'check', '--json', '--root', root], {
      encoding: 'utf8',
      env: { ...process.env, HOME: '/tmp' },
    });
    expect(r.status).toBe(3);
    const report = ScanReportSchema.parse(JSON.parse(r.stdout));
    const f = report.findings.find((x) => x.severity === 'unknown')!;
    expect(f.evidence.user).toBe('alice');
    expect(f.title).toMatch(/permission|denied|read/i);
    expect(report.verdict.status).toBe('unknown');
  });
});
