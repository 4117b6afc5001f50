/**
 * A live Windows scan as the agent runs it, on Linux: the file system is a fixture tree and
 * reg.exe is replaced by its recorded outputs (tests/fixtures/windows/reg, see its README
 * for the real output each file reproduces). Covers uninstall entries in HKU per user, the
 * NSIS "<name> <version>" DisplayName, a stale registry version beside the executable's own
 * VERSIONINFO, and registry output that is malformed or denied.
 */
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { RecordedCommandRunner, type CommandResult } from '../../../src/core/os/command-runner.js';
import { LocalTargetFs } from '../../../src/core/os/target-fs.js';
import { runScan } from '../../../src/core/scan.js';
import { builtinPacks } from '../../../src/core/pack/load.js';
import { regQueryInvocation } from '../../../src/core/inventory/windows/reg-command.js';
import { HKLM_UNINSTALL, HKLM_WOW64_UNINSTALL, PROFILE_LIST, UNINSTALL_SUBKEY } from '../../../src/core/inventory/windows/uninstall-entries.js';
import type { ScanTarget } from '../../../src/core/inventory/scan-target.js';
import { makePe } from '../../helpers/make-pe.js';
import { electronAppVersionSpec, makeVersionResource } from '../../helpers/make-version-resource.js';

const FIX = path.resolve('tests/fixtures/windows/reg');
const ALICE = 'S-1-5-21-3623811015-3361044348-30300820-1001';
const JURGEN = 'S-1-5-21-3623811015-3361044348-30300820-1002';
const fixture = (name: string) => readFileSync(path.join(FIX, name), 'utf8');

function key(regKey: string, recurse: boolean): string {
  const inv = regQueryInvocation(regKey, { systemRoot: 'C:\\Windows', recurse });
  return RecordedCommandRunner.key(inv.command, inv.args);
}

function recordings(overrides: Record<string, CommandResult | string> = {}): Record<string, CommandResult | string> {
  const notFound: CommandResult = { code: 1, stdout: '', stderr: fixture('error-not-found.stderr.txt') };
  return {
    [key(HKLM_UNINSTALL, true)]: fixture('hklm-uninstall.stdout.txt'),
    [key(HKLM_WOW64_UNINSTALL, true)]: fixture('hklm-wow6432node-uninstall.stdout.txt'),
    [key('HKU', false)]: fixture('hku.stdout.txt'),
    [key(`HKU\\${ALICE}\\${UNINSTALL_SUBKEY}`, true)]: fixture(`hku-${ALICE}-uninstall.stdout.txt`),
    [key(`HKU\\${JURGEN}\\${UNINSTALL_SUBKEY}`, true)]: fixture(`hku-${JURGEN}-uninstall.stdout.txt`),
    [key(PROFILE_LIST, true)]: fixture('profilelist.stdout.txt'),
    // The Entra ID user's hive is loaded but has no Uninstall key.
    ...Object.fromEntries(
      [...fixture('hku.stdout.txt').matchAll(/^HKEY_USERS\\(S-1-12-1-[\d-]+)\r?$/gm)].map((m) => [key(`HKU\\${m[1]}\\${UNINSTALL_SUBKEY}`, true), notFound]),
    ),
    ...overrides,
  };
}

const exe = (version: string) => makePe({ resources: (rva) => makeVersionResource(rva, { languages: [{ id: 0x0409, info: electronAppVersionSpec(version) }] }) });

async function liveTarget(files: Record<string, Buffer | string>, runner: RecordedCommandRunner): Promise<ScanTarget> {
  const root = await mkdtemp(path.join(tmpdir(), 'vigil-live-'));
  for (const [rel, content] of Object.entries({ 'Windows/System32/': '', ...files })) {
    if (rel.endsWith('/')) await mkdir(path.join(root, rel), { recursive: true });
    else {
      await mkdir(path.dirname(path.join(root, rel)), { recursive: true });
      await writeFile(path.join(root, rel), content);
    }
  }
  return { platform: 'windows', fs: new LocalTargetFs(root, { caseInsensitive: true }), live: true, runner };
}

const APP = 'AppData/Local/Programs/3CXDesktopApp/3CXDesktopApp.exe';

describe('live Windows scan with recorded reg.exe output', () => {
  it('joins the uninstall entries with the installs on disk; the executable\'s own version wins over a stale entry', async () => {
    const runner = new RecordedCommandRunner(recordings());
    // alice's MSI entry says 18.12.416.0, but the executable on disk was since replaced by 18.12.425.
    const target = await liveTarget({ [`Users/alice/${APP}`]: exe('18.12.425'), [`Users/Jürgen/${APP}`]: exe('18.12.425'), 'Users/alice/NTUSER.DAT': 'x', 'Users/Jürgen/NTUSER.DAT': 'x' }, runner);
    const report = await runScan({ target, packs: await builtinPacks() });
    expect(report.installs).toHaveLength(2);
    const alice = report.installs.find((i) => i.user === 'alice')!;
    expect(alice).toMatchObject({ version: '18.12.425', versionSource: 'versioninfo', registryVersion: '18.12.416.0', publisher: '3CX Ltd' });
    // The NSIS entry's DisplayName carries the version ("3CX Desktop App 18.12.425") and no InstallLocation.
    const jurgen = report.installs.find((i) => i.user === 'Jürgen')!;
    expect(jurgen).toMatchObject({ version: '18.12.425', versionSource: 'versioninfo', registryVersion: '18.12.425' });
    expect(report.verdict.status).toBe('ok');
    // Every hive was asked, and nothing outside the recorded commands ran.
    expect(runner.calls).toContain(key(`HKU\\${JURGEN}\\${UNINSTALL_SUBKEY}`, true));
  });

  it('an uninstall entry whose folder is gone is still reported with the registry\'s version: amber, since no code is on disk', async () => {
    const runner = new RecordedCommandRunner(recordings());
    const target = await liveTarget({ 'Users/alice/NTUSER.DAT': 'x' }, runner);
    const report = await runScan({ target, packs: await builtinPacks() });
    const alice = report.installs.find((i) => i.user === 'alice')!;
    expect(alice).toMatchObject({ version: '18.12.416.0', versionSource: 'registry', versionClass: 'compromised' });
    const f = report.findings.find((x) => x.ruleId === 'windows-trojanized')!;
    expect(f.severity).toBe('attention');
    expect(f.title).toMatch(/per its uninstall entry; its files were not found/);
    expect(report.verdict.status).toBe('attention');
  });

  it('malformed and denied registry output: the rest is still read, and each problem is a note naming the key and line', async () => {
    const garbled = fixture(`hku-${ALICE}-uninstall.stdout.txt`).replace('    DisplayName    REG_SZ    3CX Desktop App', '\u0000\u0000garbage without columns');
    const runner = new RecordedCommandRunner(
      recordings({
        [key(`HKU\\${ALICE}\\${UNINSTALL_SUBKEY}`, true)]: garbled,
        [key(`HKU\\${JURGEN}\\${UNINSTALL_SUBKEY}`, true)]: { code: 1, stdout: '', stderr: fixture('error-access-denied.stderr.txt') },
      }),
    );
    const target = await liveTarget({ [`Users/alice/${APP}`]: exe('18.12.416'), 'Users/alice/NTUSER.DAT': 'x' }, runner);
    const report = await runScan({ target, packs: await builtinPacks() });
    // The file on disk still decides: the garbled entry cannot hide a compromised build.
    expect(report.verdict.status).toBe('compromised');
    expect(report.notes.some((n) => n.startsWith('registry: ') && n.includes(ALICE) && /output line \d+/.test(n))).toBe(true);
    expect(report.notes.some((n) => n.includes(JURGEN) && /access denied/.test(n))).toBe(true);
  });

  it('reg.exe that cannot run at all is a note, and the folder scan still finds the install', async () => {
    const runner = new RecordedCommandRunner({});
    const target = await liveTarget({ [`Users/alice/${APP}`]: exe('18.12.416'), 'Users/alice/NTUSER.DAT': 'x' }, runner);
    const report = await runScan({ target, packs: await builtinPacks() });
    expect(report.installs).toHaveLength(1);
    expect(report.verdict.status).toBe('compromised');
    expect(report.notes.some((n) => /reg\.exe could not be run/.test(n))).toBe(true);
  });
});
