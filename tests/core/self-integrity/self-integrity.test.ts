/**
 * Self-integrity on real signatures: PE files signed at test time by osslsigncode with a
 * throwaway PKI (tests/helpers/signing-fixtures.ts), then tampered with the way attackers
 * do (a byte changed after signing, data smuggled into the certificate table), checked
 * against the publisher a release build expects, with Windows' own trust verdict
 * (Get-AuthenticodeSignature through WindowsAuthenticodeTrust, replayed from
 * tests/fixtures/windows/authenticode-trust) where the chain's anchor matters. macOS goes
 * through recorded codesign and spctl outputs (tests/fixtures/macos/codesign).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { checkSelfIntegrity, macosBundleOf, selfIntegrityCheck } from '../../../src/core/self-integrity/self-integrity.js';
import { BUILD_SIGNING, type BuildSigning } from '../../../src/core/self-integrity/build-signing.js';
import { RecordedCommandRunner, type CommandResult } from '../../../src/core/os/command-runner.js';
import { appleCodeSignatureCommands } from '../../../src/core/signing/apple-code-signature.js';
import { FindingSchema } from '../../../src/shared/scan.js';
import type { ScanContext } from '../../../src/core/scan.js';
import { LEAF_SUBJECT, LEAF_SUBJECT_WINDOWS, makeSigningFixtures, signWithSelfSigned, type SigningFixtures } from '../../helpers/signing-fixtures.js';
import { windowsTrustCommand, WindowsAuthenticodeTrust } from '../../../src/core/signing/windows-authenticode-trust.js';
import type { OsTrustAdapter } from '../../../src/core/signing/os-trust.js';
import { verifyAuthenticodeFile } from '../../../src/core/signing/verify-authenticode.js';
import { needsTools } from '../../helpers/system-tool.js';

let fx: SigningFixtures;
const NOW = new Date('2026-11-25T10:00:00Z');

function thumbprint(pem: string, alg: 'sha1' | 'sha256'): string {
  return execFileSync('openssl', ['x509', '-in', pem, '-noout', '-fingerprint', `-${alg}`], { encoding: 'utf8' }).split('=')[1]!.trim().replace(/:/g, '').toLowerCase();
}

const release = (w: Partial<BuildSigning['windows']>, teamIds: string[] = []): BuildSigning => ({
  expectSigned: true,
  windows: { subjects: [], thumbprints: [], ...w },
  macos: { teamIds },
});
const DEV: BuildSigning = { expectSigned: false, windows: { subjects: [], thumbprints: [] }, macos: { teamIds: [] } };

/** A certificate field as openssl prints it, for the recorded Windows verdicts. */
function certField(pem: string, field: 'subject' | 'issuer' | 'serial'): string {
  const out = execFileSync('openssl', ['x509', '-in', pem, '-noout', `-${field}`, '-nameopt', 'RFC2253'], { encoding: 'utf8' });
  return out.slice(out.indexOf('=') + 1).trim().replace(/,(?=[A-Z]+=)/g, ', ');
}

/**
 * Windows' verdict on `file` as WindowsAuthenticodeTrust gets it: the recorded
 * Get-AuthenticodeSignature output `verdict`, with the fields of the certificate `pem`.
 */
function windowsSays(verdict: 'valid' | 'untrusted-root', file: string, pem: string): OsTrustAdapter {
  const fill: Record<string, string> = { subject: certField(pem, 'subject'), issuer: certField(pem, 'issuer'), serial: certField(pem, 'serial'), thumbprint: thumbprint(pem, 'sha1').toUpperCase() };
  const json = readFileSync(path.resolve('tests/fixtures/windows/authenticode-trust', `${verdict}.json`), 'utf8').replace(/\{\{(\w+)\}\}/g, (_, k: string) => JSON.stringify(fill[k]!).slice(1, -1));
  const { command, args } = windowsTrustCommand(path.resolve(file));
  return new WindowsAuthenticodeTrust(new RecordedCommandRunner({ [RecordedCommandRunner.key(command, args)]: json }));
}

async function one(executable: string, expected: BuildSigning, osTrust?: OsTrustAdapter) {
  const findings = await checkSelfIntegrity({ executable, platform: 'windows', expected, ...(osTrust ? { osTrust } : {}) }, NOW);
  expect(findings).toHaveLength(1);
  const f = findings[0]!;
  expect(FindingSchema.parse(f)).toEqual(f);
  expect(f.category).toBe('self-integrity');
  return f;
}

describe('Windows: the agent\'s own executable against the expected publisher', needsTools('openssl', 'osslsigncode'), () => {
  beforeAll(() => {
    fx ??= makeSigningFixtures();
  });

  it('signed by the expected publisher (subject) and trusted by Windows: intact, info', async () => {
    const f = await one(fx.files.validSha256, release({ subjects: [LEAF_SUBJECT_WINDOWS] }), windowsSays('valid', fx.files.validSha256, fx.pki.leafPem));
    expect(f.severity).toBe('info');
    expect(f.ruleId).toBe('self-verified');
    expect(f.evidence.signer?.subject).toBe(LEAF_SUBJECT_WINDOWS);
    expect(f.evidence.detail).toMatchObject({ signatureStatus: 'valid', releaseBuild: true, reason: expect.stringContaining('windows-authenticode: Valid') });
  });

  it('the pin matches but Windows gave no verdict (PowerShell unavailable): unknown, never verified', async () => {
    const f = await one(fx.files.validSha256, release({ subjects: [LEAF_SUBJECT_WINDOWS] }));
    expect(f.severity).toBe('unknown');
    expect(f.ruleId).toBe('self-unverifiable');
    expect(f.title).toMatch(/could not get Windows’ verdict/);
  });

  it('a common name and a pinned issuing-CA thumbprint also match; a wrong pin does not', async () => {
    const trusted = windowsSays('valid', fx.files.validSha256, fx.pki.leafPem);
    const inter = thumbprint(fx.pki.interPem, 'sha256');
    expect((await one(fx.files.validSha256, release({ subjects: ['Example Softphone Ltd'], thumbprints: [inter] }), trusted)).ruleId).toBe('self-verified');
    const leafSha1 = thumbprint(fx.pki.leafPem, 'sha1');
    expect((await one(fx.files.validSha256, release({ thumbprints: [leafSha1.toUpperCase()] }), trusted)).ruleId).toBe('self-verified');
    const wrong = await one(fx.files.validSha256, release({ subjects: ['Example Softphone Ltd'], thumbprints: ['00'.repeat(32)] }));
    expect(wrong.severity).toBe('compromised');
    expect(wrong.ruleId).toBe('self-wrong-publisher');
  });

  it('tampered after signing (one byte of .rdata): compromised, with advice', async () => {
    const f = await one(fx.files.tampered, release({ subjects: [LEAF_SUBJECT_WINDOWS] }));
    expect(f.severity).toBe('compromised');
    expect(f.ruleId).toBe('self-tampered');
    expect(f.evidence.detail?.signatureStatus).toBe('digest-mismatch');
    expect(f.advice?.id).toBe('vigil-self-integrity');
    // A broken signature is tamper evidence even on a development build.
    expect((await one(fx.files.tampered, DEV)).severity).toBe('compromised');
  });

  it('validly signed by someone else: compromised', async () => {
    const f = await one(fx.files.otherSigner, release({ subjects: [LEAF_SUBJECT_WINDOWS] }));
    expect(f.severity).toBe('compromised');
    expect(f.ruleId).toBe('self-wrong-publisher');
    expect(String(f.evidence.detail?.reason)).toContain('Unrelated Publisher');
  });

  it('data smuggled into the certificate table (valid signature): compromised', async () => {
    const f = await one(fx.files.extraInTable, release({ subjects: [LEAF_SUBJECT_WINDOWS] }));
    expect(f.severity).toBe('compromised');
    expect(f.ruleId).toBe('self-smuggled-data');
  });

  it('unsigned: compromised for a release build, an info note for a development build', async () => {
    const rel = await one(fx.files.unsigned, release({ subjects: [LEAF_SUBJECT_WINDOWS] }));
    expect(rel.severity).toBe('compromised');
    expect(rel.ruleId).toBe('self-unsigned');
    const dev = await one(fx.files.unsigned, DEV);
    expect(dev.severity).toBe('info');
    expect(dev.ruleId).toBe('self-dev-build');
    expect(dev.title).toMatch(/unsigned development build/);
    expect(dev.advice).toBeUndefined();
  });

  it('a missing executable is unknown, not ok', async () => {
    const f = await one(path.join(fx.dir, 'no-such.exe'), release({ subjects: [LEAF_SUBJECT_WINDOWS] }));
    expect(f.severity).toBe('unknown');
    expect(f.ruleId).toBe('self-unreadable');
  });

  it('this repository\'s build configuration is a development build until release sets it', () => {
    expect(BUILD_SIGNING.expectSigned).toBe(false);
  });

  it('works as a scan extra check (ScanOptions.extraChecks) and keeps its id across scans', async () => {
    const check = selfIntegrityCheck({ executable: fx.files.tampered, platform: 'windows', expected: release({ subjects: [LEAF_SUBJECT_WINDOWS] }) });
    const ctx = { now: NOW } as ScanContext;
    const [a] = await check(ctx);
    const [b] = await check({ ...ctx, now: new Date(NOW.getTime() + 3600_000) });
    expect(a!.severity).toBe('compromised');
    expect(a!.observedAt).toBe(NOW.toISOString());
    expect(b!.id).toBe(a!.id);
  });
});

describe('issue 11, hole 6: a release trusts its own signature only with a pin for its platform and a chain the OS trusts', needsTools('openssl', 'osslsigncode'), () => {
  let impostor: string;
  let impostorPem: string;

  beforeAll(() => {
    fx ??= makeSigningFixtures();
    const dir = mkdtempSync(path.join(tmpdir(), 'vigil-impostor-'));
    impostor = path.join(dir, 'Vigil.exe');
    impostorPem = signWithSelfSigned(path.join(dir, 'pki'), LEAF_SUBJECT, fx.files.unsigned, impostor);
  });

  it('the impostor: a self-signed certificate with the publisher\'s exact subject passes every check on the file itself', async () => {
    const r = await verifyAuthenticodeFile(impostor);
    expect(r.status).toBe('valid');
    expect(r.signatures[0]!.signer?.subject).toBe(LEAF_SUBJECT_WINDOWS);
    expect(r.signatures[0]!.chain.certificates).toHaveLength(1);
  });

  it('a release pinning only the subject: without Windows\' verdict unknown, with it (untrusted root) compromised; never "signed by its publisher"', async () => {
    const expected = release({ subjects: [LEAF_SUBJECT_WINDOWS] });
    const blind = await one(impostor, expected);
    expect(blind).toMatchObject({ severity: 'unknown', ruleId: 'self-unverifiable' });
    const judged = await one(impostor, expected, windowsSays('untrusted-root', impostor, impostorPem));
    expect(judged).toMatchObject({ severity: 'compromised', ruleId: 'self-untrusted' });
    expect(String(judged.evidence.detail?.reason)).toContain('terminated in a root certificate which is not trusted');
    expect(judged.advice?.id).toBe('vigil-self-integrity');
  });

  it('a release pinning the issuing CA\'s thumbprint: the impostor is the wrong publisher even before Windows is asked', async () => {
    const f = await one(impostor, release({ subjects: [LEAF_SUBJECT_WINDOWS], thumbprints: [thumbprint(fx.pki.interPem, 'sha256')] }));
    expect(f).toMatchObject({ severity: 'compromised', ruleId: 'self-wrong-publisher' });
    expect(String(f.evidence.detail?.reason)).toContain('no certificate in its chain has a pinned thumbprint');
  });

  it('an empty-pin release config (only an Apple Team ID set) on Windows: any signature, even one Windows trusts, is unknown, not the publisher\'s', async () => {
    const onlyApple = release({}, ['ABCDE12345']);
    for (const [file, pem] of [
      [fx.files.otherSigner, fx.pki.otherPem],
      [impostor, impostorPem],
      [fx.files.validSha256, fx.pki.leafPem],
    ] as const) {
      const f = await one(file, onlyApple, windowsSays('valid', file, pem));
      expect(f).toMatchObject({ severity: 'unknown', ruleId: 'self-no-pin' });
      expect(f.title).toMatch(/names no Windows publisher/);
    }
    // Tampering is still red: a broken signature needs no pin.
    expect((await one(fx.files.tampered, onlyApple)).ruleId).toBe('self-tampered');
  });
});

describe('macOS: codesign and spctl on the app bundle', () => {
  const EXE = '/Applications/3CX Desktop App.app/Contents/MacOS/3CX Desktop App';
  const BUNDLE = '/Applications/3CX Desktop App.app';
  const DIR = path.resolve('tests/fixtures/macos/codesign');
  function recorded(name: string): CommandResult {
    const text = readFileSync(path.join(DIR, name), 'utf8');
    const split = text.indexOf('\n---\n');
    const exit = /# exit: (\S+)/.exec(text)![1]!;
    const body = text.slice(split + 5);
    return /# stream: stdout/.test(text) ? { code: Number(exit), stdout: body, stderr: '' } : { code: Number(exit), stdout: '', stderr: body };
  }
  function runner(verify: string): RecordedCommandRunner {
    const c = appleCodeSignatureCommands(BUNDLE);
    return new RecordedCommandRunner({
      [RecordedCommandRunner.key(c.display.command, c.display.args)]: recorded('notarized-app.display.txt'),
      [RecordedCommandRunner.key(c.verify.command, c.verify.args)]: recorded(verify),
      [RecordedCommandRunner.key(c.assess.command, c.assess.args)]: recorded('notarized-app.spctl.txt'),
    });
  }

  it('finds the bundle of the executable', () => {
    expect(macosBundleOf(EXE)).toBe(BUNDLE);
    expect(macosBundleOf('/usr/local/bin/vigil')).toBeUndefined();
  });

  it('expected Team ID: intact; another team: compromised; a modified bundle: compromised', async () => {
    // The bundle does not exist here: codesign and spctl are replayed from recordings.
    const ok = await checkSelfIntegrity({ executable: EXE, platform: 'macos', runner: runner('notarized-app.verify.txt'), expected: release({}, ['33CF4654HL']) }, NOW);
    expect(ok[0]).toMatchObject({ severity: 'info', ruleId: 'self-verified' });
    const other = await checkSelfIntegrity({ executable: EXE, platform: 'macos', runner: runner('notarized-app.verify.txt'), expected: release({}, ['VIGIL12345']) }, NOW);
    expect(other[0]).toMatchObject({ severity: 'compromised', ruleId: 'self-wrong-publisher' });
    const modified = await checkSelfIntegrity({ executable: EXE, platform: 'macos', runner: runner('modified-app.verify.txt'), expected: release({}, ['33CF4654HL']) }, NOW);
    expect(modified[0]).toMatchObject({ severity: 'compromised', ruleId: 'self-tampered' });
  });

  it('a release that pins no Team ID (only a Windows subject set): unknown, not the publisher\'s', async () => {
    const f = await checkSelfIntegrity({ executable: EXE, platform: 'macos', runner: runner('notarized-app.verify.txt'), expected: release({ subjects: ['CN=Vigil Ltd'] }) }, NOW);
    expect(f[0]).toMatchObject({ severity: 'unknown', ruleId: 'self-no-pin' });
  });
});
