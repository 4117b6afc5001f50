/**
 * `vigil check --root DIR --json` with code signatures: the real CLI entry (runCli) scans a
 * Windows per-user install tree made at test time, whose 3CXDesktopApp.exe (a generated PE
 * with a VERSIONINFO resource) is signed by osslsigncode with a throwaway certificate, and
 * a test pack whose signer rules trust or distrust that certificate. Exit codes and JSON
 * findings are what an RMM script reads.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/main.js';
import { ScanReportSchema, type Finding, type ScanReport } from '../../src/shared/scan.js';
import { makePe, codeAndData } from '../helpers/make-pe.js';
import { electronAppVersionSpec, makeVersionResource } from '../helpers/make-version-resource.js';
import { appendInsideCertificateTable, fakePayload, LEAF_SERIAL, makeSigningPki, osslsign, samplePe, type SigningPki } from '../helpers/signing-fixtures.js';
import { needsTools } from '../helpers/system-tool.js';
import { testPack } from '../helpers/test-pack.js';

const INSTALL = 'Users/alice/AppData/Local/Programs/3CXDesktopApp';

let work: string;
let pki: SigningPki;
let leafSha256: string;
/** The signed client, 18.12.425 (a "safe" version in the test pack). */
let signedExe: Buffer;
let signedDll: Buffer;
let trees = 0;

function fingerprint(pem: string): string {
  return execFileSync('openssl', ['x509', '-in', pem, '-noout', '-fingerprint', '-sha256'], { encoding: 'utf8' }).split('=')[1]!.trim().replace(/:/g, '').toLowerCase();
}

function sign(unsigned: Buffer, name: string): Buffer {
  const input = path.join(work, `${name}.unsigned`);
  const output = path.join(work, `${name}.signed`);
  writeFileSync(input, unsigned);
  osslsign(pki, input, output, { name: 'Test Softphone' });
  return readFileSync(output);
}

beforeAll(() => {
  work = mkdtempSync(path.join(tmpdir(), 'vigil-check-signing-'));
  pki = makeSigningPki(path.join(work, 'pki'));
  leafSha256 = fingerprint(pki.leafPem);
  const exe = makePe({
    sections: codeAndData(Buffer.from('Test Softphone\0'.repeat(64), 'latin1')),
    resources: (rva) => makeVersionResource(rva, { languages: [{ id: 0x0409, info: electronAppVersionSpec('18.12.425') }] }),
  });
  signedExe = sign(exe, 'client');
  signedDll = sign(samplePe({ seed: 'd3dcompiler' }), 'd3dcompiler');
});
afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

/** A Windows root with one per-user install holding the given files. */
function tree(files: Record<string, Buffer>): string {
  const root = path.join(work, `root${trees++}`);
  mkdirSync(path.join(root, 'Users/alice/Documents'), { recursive: true });
  for (const [name, bytes] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(root, INSTALL, name)), { recursive: true });
    writeFileSync(path.join(root, INSTALL, name), bytes);
  }
  return root;
}

function signer(id: string, disposition: 'trusted' | 'distrusted' | 'compromised-generation', ident: Record<string, string>, advice = 'fine') {
  return { id, disposition, application: 'softphone', platform: 'windows', subject: 'Example Softphone Ltd', description: `test signer rule (${disposition})`, advice, sources: ['advisory'], ...ident };
}

async function check(root: string, signers: unknown[]): Promise<{ code: number; report: ScanReport; signatures: Finding[]; stderr: string }> {
  const packFile = path.join(root, '..', `${path.basename(root)}-pack.json`);
  writeFileSync(packFile, JSON.stringify(testPack({ signers })));
  let stdout = '';
  let stderr = '';
  const code = await runCli(['check', '--root', root, '--platform', 'windows', '--no-builtin', '--pack', packFile, '--json'], {
    stdout: (t) => (stdout += t),
    stderr: (t) => (stderr += t),
    env: {},
    cwd: work,
    interrupted: new Promise(() => {}),
  });
  const report = ScanReportSchema.parse(JSON.parse(stdout));
  return { code, report, signatures: report.findings.filter((f) => f.category === 'signature'), stderr };
}

describe('vigil check --root: code signatures of the installs it finds', needsTools('openssl', 'osslsigncode'), () => {
  it('client validly signed by the pack\'s trusted certificate: info finding with the signer, exit 0', async () => {
    const root = tree({ '3CXDesktopApp.exe': signedExe });
    const { code, report, signatures, stderr } = await check(root, [signer('good-cert', 'trusted', { sha256: leafSha256 })]);
    expect(stderr).toBe('');
    expect(report.installs).toHaveLength(1);
    expect(report.installs[0]).toMatchObject({ version: '18.12.425', versionClass: 'safe', user: 'alice' });
    expect(signatures).toHaveLength(1);
    const f = signatures[0]!;
    expect(f).toMatchObject({ severity: 'info', ruleId: 'good-cert', packId: 'test-softphone-2023', application: 'softphone' });
    expect(f.evidence.path).toBe(path.join(root, INSTALL, '3CXDesktopApp.exe'));
    expect(f.evidence.user).toBe('alice');
    expect(f.evidence.signer).toMatchObject({ subject: 'CN=Example Softphone Ltd, O=Example Softphone Ltd, L=London, C=GB', serial: LEAF_SERIAL, sha256: leafSha256 });
    expect(f.evidence.detail).toMatchObject({ status: 'valid', format: 'authenticode', digestAlgorithm: 'sha256', matchedBy: 'sha256' });
    expect(f.advice?.id).toBe('fine');
    expect(report.verdict.status).toBe('ok');
    expect(code).toBe(0);
  });

  it('the same certificate distrusted by the pack (by issuer + serial): compromised with the rule\'s advice, exit 2', async () => {
    const root = tree({ '3CXDesktopApp.exe': signedExe });
    const { code, signatures, report } = await check(root, [signer('stolen-cert', 'distrusted', { issuer: 'Vigil Test Code Signing CA', serial: LEAF_SERIAL }, 'isolate')]);
    expect(signatures.map((f) => [f.severity, f.ruleId])).toEqual([['compromised', 'stolen-cert']]);
    expect(signatures[0]!.evidence.detail).toMatchObject({ matchedBy: 'issuer+serial' });
    expect(signatures[0]!.advice?.id).toBe('isolate');
    expect(report.verdict.status).toBe('compromised');
    expect(code).toBe(2);
  });

  it('validly signed by a certificate the pack does not know: attention, exit 1', async () => {
    const root = tree({ '3CXDesktopApp.exe': signedExe });
    const { code, signatures } = await check(root, [signer('someone-else', 'trusted', { sha256: 'ab'.repeat(32) }, 'update')]);
    expect(signatures.map((f) => f.severity)).toEqual(['attention']);
    expect(signatures[0]!.title).toBe('3CXDesktopApp.exe is signed by Example Softphone Ltd, a signer Vigil does not know for this application.');
    // No rule matched: the advice of the application's signer rules.
    expect(signatures[0]!.advice?.id).toBe('update');
    expect(code).toBe(1);
  });

  it('one byte changed after signing: digest mismatch is attention even from a trusted signer, exit 1', async () => {
    const tampered = Buffer.from(signedExe);
    const at = tampered.indexOf(Buffer.from('Test Softphone', 'latin1'));
    tampered[at] = 'B'.charCodeAt(0);
    const root = tree({ '3CXDesktopApp.exe': tampered });
    const { code, signatures, report } = await check(root, [signer('good-cert', 'trusted', { sha256: leafSha256 })]);
    expect(report.installs[0]!.version).toBe('18.12.425');
    expect(signatures.map((f) => [f.severity, f.title])).toEqual([['attention', '3CXDesktopApp.exe was changed after it was signed: its contents no longer match the signature.']]);
    expect(signatures[0]!.evidence.detail).toMatchObject({ status: 'digest-mismatch' });
    expect(code).toBe(1);
  });

  it('side-loaded d3dcompiler_47.dll with data smuggled into its certificate table: compromised, exit 2; unsigned ffmpeg.dll: attention', async () => {
    const payload = fakePayload(2048);
    const root = tree({ '3CXDesktopApp.exe': signedExe, 'd3dcompiler_47.dll': appendInsideCertificateTable(signedDll, payload), 'ffmpeg.dll': samplePe({ seed: 'ffmpeg' }) });
    const { code, signatures, report } = await check(root, [signer('good-cert', 'trusted', { sha256: leafSha256 })]);
    const byFile = (name: string) => signatures.filter((f) => f.evidence.path === path.join(root, INSTALL, name));

    const dll = byFile('d3dcompiler_47.dll');
    const smuggled = dll.find((f) => f.severity === 'compromised');
    expect(smuggled?.title).toMatch(/^d3dcompiler_47\.dll hides \d+ bytes of data inside its code signature/);
    expect(smuggled!.evidence.detail!.extraDataBytes).toBeGreaterThanOrEqual(payload.length);
    expect(smuggled!.evidence.detail!.extraDataSha256).toMatch(/^[0-9a-f]{64}$/);
    // Compromised without a matching rule: the pack's known-bad-file advice (its first hash rule's).
    expect(smuggled!.advice?.id).toBe('isolate');
    // The signature itself still verifies and its signer is the trusted one, as with the real DLL.
    expect(dll.find((f) => f.severity === 'info')?.ruleId).toBe('good-cert');

    expect(byFile('ffmpeg.dll').map((f) => [f.severity, f.title])).toEqual([['attention', 'ffmpeg.dll is not code-signed, although the publisher signs its builds.']]);
    expect(byFile('3CXDesktopApp.exe').map((f) => f.severity)).toEqual(['info']);
    expect(report.verdict.status).toBe('compromised');
    expect(code).toBe(2);
  });

  it('finding ids are stable from one scan to the next', async () => {
    const root = tree({ '3CXDesktopApp.exe': signedExe });
    const rules = [signer('good-cert', 'trusted', { sha256: leafSha256 })];
    const a = await check(root, rules);
    const b = await check(root, rules);
    expect(a.signatures.map((f) => f.id)).toEqual(b.signatures.map((f) => f.id));
  });
});

describe('vigil verify on the same files (exit codes IT scripts read)', needsTools('openssl', 'osslsigncode'), () => {
  async function verify(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    let stdout = '';
    let stderr = '';
    const code = await runCli(['verify', '--no-os-trust', ...args], {
      stdout: (t) => (stdout += t),
      stderr: (t) => (stderr += t),
      env: {},
      cwd: work,
      interrupted: new Promise(() => {}),
    });
    return { code, stdout, stderr };
  }

  it('0 for a clean signature, 1 when any file carries smuggled data, 64 for a missing file', async () => {
    writeFileSync(path.join(work, 'clean.exe'), signedExe);
    writeFileSync(path.join(work, 'smuggled.dll'), appendInsideCertificateTable(signedDll, fakePayload(512)));
    const clean = await verify(['--json', 'clean.exe']);
    expect(clean.code).toBe(0);
    const [res] = JSON.parse(clean.stdout).results;
    expect(res).toMatchObject({ path: 'clean.exe', status: 'valid', format: 'authenticode' });
    expect(res.signatures[0].signer).toMatchObject({ serial: LEAF_SERIAL, sha256: leafSha256 });

    const mixed = await verify(['clean.exe', 'smuggled.dll']);
    expect(mixed.code).toBe(1);
    expect(mixed.stdout).toMatch(/smuggled\.dll\n {2}status: {5}valid \(authenticode\)\n {2}flags: {6}extraDataInCertificateTable\n {2}extra data: \d+ bytes at offset \d+ \(certificate-table\) sha256 [0-9a-f]{64}/);

    const missing = await verify(['no-such.exe']);
    expect(missing.code).toBe(64);
    expect(missing.stdout).toMatch(/status: {5}unreadable/);
    expect((await verify([])).code).toBe(64);
  });
});
