/**
 * `vigil check --root` end to end for pack version 2's new kinds: a Linux and a Windows
 * 3CX PBX laid out as real ones are (its web folder's electron/windows and electron/osx),
 * the new Windows per-user and macOS hash kinds, and an X_TRADER install.
 *
 * Real malware cannot be planted and a SHA-256 cannot be forged, so hash tests use a pack
 * derived from the built-in one in which exactly one real hash entry has the planted file's
 * SHA-256 instead (same file name, platform, advice, sources); a separate test proves the
 * derived pack differs from the built-in one only there, so the built-in entries are wired
 * to the same locations and rules.
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/main.js';
import type { CliIo } from '../../src/cli/io.js';
import { ScanReportSchema, type ScanReport } from '../../src/shared/scan.js';
import { makePe } from '../helpers/make-pe.js';
import { electronAppVersionSpec, makeVersionResource } from '../helpers/make-version-resource.js';
import { PLANTED_PAYLOAD, PLANTED_SHA256 } from '../helpers/test-pack.js';
import { makeTree } from '../helpers/file-tree.js';

const BUILTIN = fileURLToPath(new URL('../../src/core/pack/builtin/', import.meta.url));
const WIN_APP = 'Users/alice/AppData/Local/Programs/3CXDesktopApp';
const PBX_LINUX = 'var/lib/3cxpbx/Instance1/Data/Http/electron';
const PBX_WINDOWS = 'ProgramData/3CX/Instance1/Data/Http/electron';

type Json = Record<string, unknown>;
function builtin(file: string): Json {
  return JSON.parse(readFileSync(path.join(BUILTIN, file), 'utf8')) as Json;
}

/** The built-in pack with one real hash entry's SHA-256 replaced by the planted file's. */
function withPlanted(file: string, realSha256: string): Json {
  const pack = builtin(file);
  const hashes = pack.hashes as { sha256: string }[];
  const entry = hashes.find((h) => h.sha256 === realSha256);
  if (!entry) throw new Error(`${file} has no hash ${realSha256}`);
  entry.sha256 = PLANTED_SHA256;
  return pack;
}

function exe(version: string, strings: Record<string, string> = {}): Buffer {
  const spec = electronAppVersionSpec(version);
  Object.assign(spec.stringTables![0]!.strings, strings);
  return makePe({ resources: (rva) => makeVersionResource(rva, { languages: [{ id: 0x0409, info: spec }] }) });
}

const tree = (files: Record<string, string | Buffer>) => makeTree(files, 'vigil-served-');

const windowsTree = (extra: Record<string, string | Buffer> = {}) => ({ 'Windows/System32/': '', 'Users/alice/NTUSER.DAT': 'x', 'Users/Public/': '', ...extra });
/** A Debian 3CX PBX: the files outside the PBX folder are what such a root has anyway. */
const linuxPbxTree = (extra: Record<string, string | Buffer> = {}) => ({
  'etc/debian_version': '12.5\n',
  'etc/hostname': 'pbx\n',
  'home/admin/': '',
  'var/lib/3cxpbx/Instance1/Data/Http/Interface/': '',
  [`${PBX_LINUX}/windows/RELEASES`]: 'ABCDEF 3CXDesktopApp-18.12.425-full.nupkg 1000\n',
  ...extra,
});

async function checkJson(args: string[]): Promise<{ code: number; report: ScanReport }> {
  let out = '';
  let err = '';
  const io: CliIo = { stdout: (t) => void (out += t), stderr: (t) => void (err += t), env: {}, cwd: process.cwd(), interrupted: new Promise(() => {}) };
  const code = await runCli(['check', ...args, '--json'], io);
  expect(err).toBe('');
  return { code, report: ScanReportSchema.parse(JSON.parse(out)) };
}

async function checkHuman(args: string[]): Promise<string> {
  let out = '';
  const io: CliIo = { stdout: (t) => void (out += t), stderr: () => undefined, env: {}, cwd: process.cwd(), interrupted: new Promise(() => {}) };
  await runCli(['check', ...args], io);
  return out;
}

async function packFile(pack: Json): Promise<string> {
  const file = path.join(await mkdtemp(path.join(tmpdir(), 'vigil-pack-')), 'pack.json');
  await writeFile(file, JSON.stringify(pack));
  return file;
}

describe('the derived test packs are the built-in packs but for one hash', () => {
  it.each([
    ['3cx-2023.json', '59e1edf4d82fae4978e97512b0331b7eb21dd4b838b850ba46794d9c7a2c0983'],
    ['3cx-2023.json', '7c55c3dfa373b6b342390938029cb76ef31f609d9a07780772c6010a4297e321'],
    ['3cx-2023.json', '29ce6bca0ffcf5891ac6a554fdd0355dddd71fe8f6e8e3f833b5753d7bbc73d9'],
    ['3cx-2023.json', '253f3a53796f1b0fbe64f7b05ae1d66bc2b0773588d00c3d2bf08572a497fa59'],
    ['3cx-2023.json', '6c121f2b2efa6592c2c22b29218157ec9e63f385e7a1d7425857d603ddef8c59'],
    ['x-trader-2023.json', 'aa318070ad1bf90ed459ac34dc5254acc178baff3202d2ea7f49aaf5a055dd43'],
  ])('%s with %s substituted', (file, sha) => {
    const derived = withPlanted(file, sha);
    const restored = JSON.parse(JSON.stringify(derived).replace(PLANTED_SHA256, sha)) as Json;
    expect(restored).toEqual(builtin(file));
  });
});

describe('vigil check --root on a Linux 3CX PBX', () => {
  it('with the built-in packs: the PBX is found, every served installer and update package hashed, nothing known-bad, exit 0', async () => {
    const root = await tree(
      linuxPbxTree({
        [`${PBX_LINUX}/windows/3CXDesktopApp-18.12.425.msi`]: 'msi 18.12.425',
        [`${PBX_LINUX}/windows/3CXDesktopApp-18.12.425-full.nupkg`]: 'nupkg 18.12.425',
        [`${PBX_LINUX}/osx/3CXDesktopApp-18.12.425.dmg`]: 'dmg',
        [`${PBX_LINUX}/osx/3CXDesktopApp-18.12.425-mac.zip`]: 'zip',
      }),
    );
    const { code, report } = await checkJson(['--root', root]);
    expect(report.target.platform).toBe('linux');
    expect(code).toBe(0);
    expect(await checkHuman(['--root', root])).toContain(`found  3CX Phone System (PBX) (serves 4 files) at ${root}/var/lib/3cxpbx/Instance1`);
    expect(report.installs).toHaveLength(1);
    const pbx = report.installs[0]!;
    expect(pbx).toMatchObject({ application: '3cx-pbx', applicationName: '3CX Phone System (PBX)', location: `${root}/var/lib/3cxpbx/Instance1`, versionSource: 'not judged: distribution point' });
    expect(pbx.files.map((f) => path.relative(root, f.path)).sort()).toEqual([
      `${PBX_LINUX}/osx/3CXDesktopApp-18.12.425-mac.zip`,
      `${PBX_LINUX}/osx/3CXDesktopApp-18.12.425.dmg`,
      `${PBX_LINUX}/windows/3CXDesktopApp-18.12.425-full.nupkg`,
      `${PBX_LINUX}/windows/3CXDesktopApp-18.12.425.msi`,
    ]);
    for (const f of pbx.files) expect(f.sha256).toMatch(/^[0-9a-f]{64}$/);
    const info = report.findings.find((f) => f.ruleId === 'distribution-point')!;
    expect(info).toMatchObject({ severity: 'info', application: '3cx-pbx', evidence: { detail: { servedFiles: 4, hashed: 4 } } });
    expect(report.findings.some((f) => f.ruleId === 'version-unreadable')).toBe(false);
    // The desktop app itself still has no Linux build; the note now points at the PBX entry.
    expect(report.notes.join('\n')).toMatch(/3CX Desktop App: not applicable on linux: .*3CX Phone System \(PBX\)/);
    expect(report.verdict.status).toBe('ok');
  });

  it.each([
    ['an MSI', '59e1edf4d82fae4978e97512b0331b7eb21dd4b838b850ba46794d9c7a2c0983', `${PBX_LINUX}/windows/3CXDesktopApp-18.12.416.msi`],
    ['a full update package', '7c55c3dfa373b6b342390938029cb76ef31f609d9a07780772c6010a4297e321', `${PBX_LINUX}/windows/3CXDesktopApp-18.12.416-full.nupkg`],
    ['a Mac disk image', '29ce6bca0ffcf5891ac6a554fdd0355dddd71fe8f6e8e3f833b5753d7bbc73d9', `${PBX_LINUX}/osx/3CXDesktopApp-18.12.402.dmg`],
  ])('serving %s with a known-bad hash: exit 2, the served file named, the PBX advice', async (_kind, real, planted) => {
    const pack = await packFile(withPlanted('3cx-2023.json', real));
    const root = await tree(linuxPbxTree({ [planted]: PLANTED_PAYLOAD, [`${PBX_LINUX}/windows/3CXDesktopApp-18.12.425.msi`]: 'clean' }));
    const { code, report } = await checkJson(['--root', root, '--no-builtin', '--pack', pack]);
    expect(code).toBe(2);
    const hits = report.findings.filter((f) => f.category === 'hash');
    expect(hits).toHaveLength(1);
    expect(hits[0]).toMatchObject({ severity: 'compromised', packId: '3cx-desktopapp-2023-03', evidence: { path: `${root}/${planted}`, sha256: PLANTED_SHA256 } });
    // The 18.12.416 MSI has several publishers behind it; the nupkg and the 18.12.402 DMG rest on Nextron's list alone.
    const multiSource = real === '59e1edf4d82fae4978e97512b0331b7eb21dd4b838b850ba46794d9c7a2c0983';
    expect(hits[0]!.evidence.detail).toEqual(multiSource ? { served: true } : { served: true, singleSource: true });
    expect(hits[0]!.title).toMatch(/^3CX Phone System \(PBX\) hands a known malicious file to its clients: /);
    expect(hits[0]!.advice).toMatchObject({ id: 'pbx-serves-bad-file', title: 'This phone system hands out a tampered 3CX app' });
    expect(hits[0]!.advice!.steps.join(' ')).toMatch(/electron/);
    expect(report.verdict.status).toBe('compromised');
  });
});

describe('vigil check --root on a Windows 3CX PBX', () => {
  it('hashes what it serves under ProgramData\\3CX; a known-bad update package is named, and served installers get no signature verdicts', async () => {
    const pack = await packFile(withPlanted('3cx-2023.json', '7c55c3dfa373b6b342390938029cb76ef31f609d9a07780772c6010a4297e321'));
    const root = await tree(
      windowsTree({
        'Program Files/3CX Phone System/': '',
        [`${PBX_WINDOWS}/windows/3CXDesktopApp-18.12.416-full.nupkg`]: PLANTED_PAYLOAD,
        [`${PBX_WINDOWS}/windows/3CXDesktopApp-18.12.425.msi`]: 'not a PE: an MSI stand-in',
      }),
    );
    const { code, report } = await checkJson(['--root', root, '--no-builtin', '--pack', pack]);
    expect(report.target.platform).toBe('windows');
    expect(code).toBe(2);
    expect(report.installs.find((i) => i.application === '3cx-pbx')!.files).toHaveLength(2);
    const hit = report.findings.find((f) => f.category === 'hash')!;
    expect(hit.evidence.path?.toLowerCase()).toBe(`${root}/${PBX_WINDOWS}/windows/3CXDesktopApp-18.12.416-full.nupkg`.toLowerCase());
    expect(hit.advice?.id).toBe('pbx-serves-bad-file');
    expect(report.findings.filter((f) => f.category === 'signature')).toEqual([]);
  });
});

describe('new hash kinds on a Windows PC and a Mac', () => {
  it('a further ffmpeg.dll build under app\\ (one public source): compromised, and the finding says so', async () => {
    const pack = await packFile(withPlanted('3cx-2023.json', '253f3a53796f1b0fbe64f7b05ae1d66bc2b0773588d00c3d2bf08572a497fa59'));
    const root = await tree(windowsTree({ [`${WIN_APP}/3CXDesktopApp.exe`]: exe('18.12.425'), [`${WIN_APP}/app/ffmpeg.dll`]: PLANTED_PAYLOAD }));
    const { code, report } = await checkJson(['--root', root, '--no-builtin', '--pack', pack]);
    expect(code).toBe(2);
    const hit = report.findings.find((f) => f.category === 'hash')!;
    expect(hit).toMatchObject({ severity: 'compromised', evidence: { path: `${root}/${WIN_APP}/app/ffmpeg.dll`, user: 'alice', indicator: 'ffmpeg.dll', detail: { singleSource: true } } });
    expect(hit.title).toMatch(/A known malicious file is on this PC: .*\(one public source\)\.$/);
    expect(hit.advice?.id).toBe('known-bad-file');
  });

  it('the macOS UpdateAgent is hashed where the dylib drops it, and a downloaded 18.12.402 DMG is matched', async () => {
    const agent = await packFile(withPlanted('3cx-2023.json', '6c121f2b2efa6592c2c22b29218157ec9e63f385e7a1d7425857d603ddef8c59'));
    const root = await tree({ 'Applications/': '', 'Users/carol/Library/Application Support/3CX Desktop App/UpdateAgent': PLANTED_PAYLOAD });
    const a = await checkJson(['--root', root, '--no-builtin', '--pack', agent]);
    expect(a.report.target.platform).toBe('macos');
    expect(a.code).toBe(2);
    expect(a.report.findings.find((f) => f.category === 'hash')).toMatchObject({ evidence: { user: 'carol', indicator: 'UpdateAgent', sha256: PLANTED_SHA256 } });
    // The same file is also the artefact the pack always named.
    expect(a.report.findings.find((f) => f.ruleId === 'mac-update-agent')?.severity).toBe('compromised');

    const dmg = await packFile(withPlanted('3cx-2023.json', '29ce6bca0ffcf5891ac6a554fdd0355dddd71fe8f6e8e3f833b5753d7bbc73d9'));
    const root2 = await tree({ 'Applications/': '', 'Users/carol/Downloads/3CXDesktopApp-18.12.402.dmg': PLANTED_PAYLOAD });
    const d = await checkJson(['--root', root2, '--no-builtin', '--pack', dmg]);
    expect(d.code).toBe(2);
    expect(d.report.findings.find((f) => f.category === 'hash')).toMatchObject({ evidence: { path: `${root2}/Users/carol/Downloads/3CXDesktopApp-18.12.402.dmg`, indicator: '3CXDesktopApp-18.12.402.dmg' } });
  });
});

describe('vigil check --root with an X_TRADER install (built-in packs)', () => {
  const xtrader = (version: string) => exe(version, { CompanyName: 'Trading Technologies International, Inc.', FileDescription: 'X_TRADER', ProductName: 'X_TRADER', InternalName: 'X_TRADER' });

  it('the release of the trojanized installer is at risk (exit 1) with its own advice; an older release is at risk as retired software', async () => {
    const root = await tree(windowsTree({ 'tt/x_trader/bin/x_trader.exe': xtrader('7.17.90'), 'tt/config/': '' }));
    const { code, report } = await checkJson(['--root', root]);
    expect(code).toBe(1);
    const inst = report.installs.find((i) => i.application === 'x-trader')!;
    expect(inst).toMatchObject({ applicationName: 'X_TRADER', location: `${root}/tt`, versionSource: 'versioninfo', versionClass: 'at-risk' });
    expect(inst.version).toMatch(/^7\.17\.90/);
    const f = report.findings.find((x) => x.application === 'x-trader' && x.category === 'install')!;
    expect(f).toMatchObject({ severity: 'attention', ruleId: 'xtrader-7-17-90', packId: 'x-trader-2023' });
    expect(f.title).toMatch(/X_TRADER_r7\.17\.90p608\.exe.*\(one public source\)$/);
    expect(f.advice?.id).toBe('xtrader-release-of-trojanized-installer');
    expect(f.advice?.steps.join(' ')).toMatch(/ProgramData\\TPM/);
    expect(report.verdict.status).toBe('attention');

    const old = await tree(windowsTree({ 'tt/x_trader/bin/x_trader.exe': xtrader('7.12.1') }));
    const r = await checkJson(['--root', old]);
    expect(r.report.findings.find((x) => x.application === 'x-trader' && x.category === 'install')).toMatchObject({ severity: 'attention', ruleId: 'xtrader-retired', advice: { id: 'xtrader-retired' } });
  });

  it('the dropped loader under ProgramData\\TPM makes it compromised (exit 2) with the isolate advice', async () => {
    const root = await tree(
      windowsTree({
        'tt/x_trader/bin/x_trader.exe': xtrader('7.17.90'),
        'ProgramData/TPM/TpmVscMgrSvr.exe': 'stand-in',
        'ProgramData/TPM/winscard.dll': 'stand-in',
      }),
    );
    const { code, report } = await checkJson(['--root', root]);
    expect(code).toBe(2);
    const winscard = report.findings.find((f) => f.ruleId === 'win-tpm-winscard')!;
    expect(winscard).toMatchObject({ severity: 'compromised', packId: 'x-trader-2023', evidence: { path: `${root}/ProgramData/TPM/winscard.dll` } });
    expect(winscard.advice?.id).toBe('known-bad-file');
    expect(winscard.advice?.text).toMatch(/leave it switched on, and contact IT now/);
    expect(report.findings.find((f) => f.ruleId === 'win-tpm-tpmvscmgrsvr')?.severity).toBe('compromised');
    expect(report.findings.find((f) => f.ruleId === 'win-tpm-folder')?.severity).toBe('attention');
    // Both dropped files are hashed as candidate files, so a published VEILEDSIGNAL hash can match them.
    expect(report.verdict.status).toBe('compromised');
  });

  it('a VEILEDSIGNAL component in ProgramData\\TPM with a known hash is named by hash', async () => {
    const pack = await packFile(withPlanted('x-trader-2023.json', 'aa318070ad1bf90ed459ac34dc5254acc178baff3202d2ea7f49aaf5a055dd43'));
    const root = await tree(windowsTree({ 'ProgramData/TPM/msvcr100.dll': PLANTED_PAYLOAD }));
    const { code, report } = await checkJson(['--root', root, '--no-builtin', '--pack', pack]);
    expect(code).toBe(2);
    expect(report.findings.find((f) => f.category === 'hash')).toMatchObject({ packId: 'x-trader-2023', evidence: { path: `${root}/ProgramData/TPM/msvcr100.dll`, indicator: '(VEILEDSIGNAL component)' } });
  });
});
