/**
 * The macOS adapter (codesign -dv, codesign --verify, spctl --assess) on recorded outputs
 * of the real tools (tests/fixtures/macos/codesign/, each file says what it reproduces),
 * replayed through RecordedCommandRunner under the exact commands the adapter runs. Every
 * result must have the same shape as an Authenticode result, and the signer rules must
 * read it the same way (Team ID rules, ad-hoc, Gatekeeper's opinion).
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { RecordedCommandRunner, type CommandResult } from '../../../src/core/os/command-runner.js';
import { appleCodeSignatureCommands, verifyAppleCodeSignature } from '../../../src/core/signing/apple-code-signature.js';
import { parseCodesignDisplay, parseCodesignTime, parseSpctl } from '../../../src/core/signing/codesign-output.js';
import { evaluateSignature } from '../../../src/core/signing/signer-rules.js';
import { builtinPacks } from '../../../src/core/pack/load.js';
import type { Pack } from '../../../src/core/pack/schema.js';
import { SignatureVerificationSchema, type SignatureVerification } from '../../../src/shared/signature.js';

const DIR = path.resolve('tests/fixtures/macos/codesign');
const APP = '/Applications/3CX Desktop App.app';
const DYLIB = `${APP}/Contents/Frameworks/Electron Framework.framework/Versions/A/Libraries/libffmpeg.dylib`;

/** A fixture file: `# key: value` header lines, `---`, then the tool's output verbatim. */
function recorded(name: string): CommandResult & { reproduces: string } {
  const text = readFileSync(path.join(DIR, name), 'utf8');
  const split = text.indexOf('\n---\n');
  expect(split, `${name} has a --- line`).toBeGreaterThan(0);
  const header = Object.fromEntries(
    text
      .slice(0, split)
      .split('\n')
      .map((l) => /^# (\w+): (.*)$/.exec(l))
      .filter((m): m is RegExpExecArray => !!m)
      .map((m) => [m[1]!, m[2]!]),
  );
  expect(header.reproduces, `${name} says what it reproduces`).toBeTruthy();
  const body = text.slice(split + 5);
  const code = header.exit === 'null' ? null : Number(header.exit);
  const out = header.stream === 'stdout' ? { stdout: body, stderr: '' } : { stdout: '', stderr: body };
  // A killed tool (exit null) is what ProcessCommandRunner reports as a timeout.
  return { code, ...out, ...(code === null ? { error: 'codesign timed out' } : {}), reproduces: header.reproduces ?? '' };
}

function runnerFor(target: string, files: { display: string; verify?: string; assess?: string }): RecordedCommandRunner {
  const cmds = appleCodeSignatureCommands(target);
  const key = (c: { command: string; args: string[] }) => RecordedCommandRunner.key(c.command, c.args);
  const rec: Record<string, CommandResult> = { [key(cmds.display)]: recorded(files.display) };
  if (files.verify) rec[key(cmds.verify)] = recorded(files.verify);
  if (files.assess) rec[key(cmds.assess)] = recorded(files.assess);
  return new RecordedCommandRunner(rec);
}

function sameShape(r: SignatureVerification): SignatureVerification {
  const roundTrip = JSON.parse(JSON.stringify(r));
  expect(SignatureVerificationSchema.parse(roundTrip)).toEqual(roundTrip);
  return r;
}

let pack: Pack;
beforeAll(async () => {
  pack = (await builtinPacks()).find((p) => p.pack.id === '3cx-desktopapp-2023-03')!.pack;
});

describe('macOS code signatures from recorded codesign and spctl output', () => {
  it('notarized Developer ID app: authority chain, Team ID, CDHash, hardened runtime, timestamp, notarization', async () => {
    const runner = runnerFor(APP, { display: 'notarized-app.display.txt', verify: 'notarized-app.verify.txt', assess: 'notarized-app.spctl.txt' });
    const r = sameShape(await verifyAppleCodeSignature(runner, APP));
    expect(runner.calls).toHaveLength(3);
    expect(r).toMatchObject({ format: 'apple-codesign', path: APP, status: 'valid', extraData: [] });
    expect(r.flags).toEqual({ extraDataInCertificateTable: false, dataAfterCertificateTable: false, multipleCertificateEntries: false, adHoc: false });
    expect(r.apple).toEqual({
      identifier: 'com.electron.3cx-desktop-app',
      format: 'app bundle with Mach-O universal (x86_64 arm64)',
      cdHash: '8e3d61f3b7a0c1e2d4f5a6b7c8d9e0f1a2b3c4d5',
      teamId: '33CF4654HL',
      hardenedRuntime: true,
      runtimeVersion: '13.1.0',
      notarization: 'notarized',
    });
    const [sig] = r.signatures;
    expect(sig).toMatchObject({
      index: 0,
      digestAlgorithm: 'sha256',
      signedDigest: '8e3d61f3b7a0c1e2d4f5a6b7c8d9e0f1a2b3c4d5',
      digestMatches: true,
      signatureValid: true,
      teamId: '33CF4654HL',
      signer: { subject: 'Developer ID Application: 3CX (33CF4654HL)', issuer: 'Developer ID Certification Authority' },
      problems: [],
    });
    expect(sig!.chain.status).toBe('complete');
    expect(sig!.chain.certificates.map((c) => c.subject)).toEqual(['Developer ID Application: 3CX (33CF4654HL)', 'Developer ID Certification Authority', 'Apple Root CA']);
    // codesign prints local time; read back as local time.
    expect(sig!.timestamp).toEqual({ kind: 'rfc3161', text: 'Mar 13, 2023 at 3:17:55 PM', verified: true, time: new Date(2023, 2, 13, 15, 17, 55).toISOString() });
    expect(r.osTrust).toEqual({ source: 'macos-gatekeeper', trusted: true, status: 'accepted', message: 'Notarized Developer ID', signerSubject: 'Developer ID Application: 3CX (33CF4654HL)' });

    // The pack's Team ID rule reads it: 3CX's Developer ID also signed the trojanized builds.
    const findings = evaluateSignature(r, pack, { application: '3cx-desktop-app', platform: 'macos', path: APP });
    expect(findings.map((f) => [f.ruleId, f.severity])).toEqual([['3cx-apple-developer-id', 'attention']]);
    expect(findings[0]!.evidence.signer).toEqual({ subject: 'Developer ID Application: 3CX (33CF4654HL)', issuer: 'Developer ID Certification Authority', teamId: '33CF4654HL' });
    expect(findings[0]!.evidence.detail).toMatchObject({ matchedBy: 'teamId', notarization: 'notarized', osTrust: 'accepted' });
    expect(findings[0]!.advice?.id).toBe('signature-check');
  });

  it('bundle changed after signing: digest mismatch with codesign\'s reason, Gatekeeper refuses', async () => {
    const runner = runnerFor(APP, { display: 'notarized-app.display.txt', verify: 'modified-app.verify.txt', assess: 'modified-app.spctl.txt' });
    const r = sameShape(await verifyAppleCodeSignature(runner, APP));
    expect(r.status).toBe('digest-mismatch');
    const sig = r.signatures[0]!;
    expect(sig.digestMatches).toBe(false);
    expect(sig.signatureValid).toBe(true);
    expect(sig.problems).toEqual([`a sealed resource is missing or invalid\nfile modified: ${DYLIB}`]);
    expect(sig.timestamp?.verified).toBe(false);
    expect(r.apple?.verifyMessage).toContain('libffmpeg.dylib');
    expect(r.osTrust).toMatchObject({ trusted: false, status: 'rejected', message: 'a sealed resource is missing or invalid' });
    expect(r.apple?.notarization).toBe('rejected');
    const findings = evaluateSignature(r, pack, { application: '3cx-desktop-app', platform: 'macos', path: APP });
    expect(findings.map((f) => f.severity).sort()).toEqual(['attention', 'attention']);
    expect(findings.find((f) => f.title.includes('changed after it was signed'))?.advice?.id).toBe('signature-check');
  });

  it('signed but never notarized: valid seal, Gatekeeper rejects, and the rules say so', async () => {
    const runner = runnerFor(APP, { display: 'notarized-app.display.txt', verify: 'notarized-app.verify.txt', assess: 'unnotarized-app.spctl.txt' });
    const r = sameShape(await verifyAppleCodeSignature(runner, APP));
    expect(r.status).toBe('valid');
    expect(r.apple?.notarization).toBe('rejected');
    expect(r.osTrust).toMatchObject({ trusted: false, status: 'rejected', message: 'Unnotarized Developer ID' });
    const titles = evaluateSignature(r, pack, { application: '3cx-desktop-app', platform: 'macos', path: APP }).map((f) => f.title);
    expect(titles.some((t) => /Gatekeeper does not accept the signature of 3CX Desktop App\.app \(rejected: Unnotarized Developer ID\)/.test(t))).toBe(true);
  });

  it('a dylib: en_GB timestamp, and Gatekeeper\'s "not an app" is not a rejection', async () => {
    const runner = runnerFor(DYLIB, { display: 'dylib.display.txt', verify: 'dylib.verify.txt', assess: 'dylib.spctl.txt' });
    const r = sameShape(await verifyAppleCodeSignature(runner, DYLIB));
    expect(r.status).toBe('valid');
    expect(r.apple).toMatchObject({ identifier: 'libffmpeg', format: 'Mach-O universal (x86_64 arm64)', notarization: 'unknown', hardenedRuntime: true });
    expect(r.signatures[0]!.timestamp?.time).toBe(new Date(2023, 2, 13, 15, 17, 41).toISOString());
    expect(r.osTrust).toMatchObject({ trusted: false, notApplicable: true, signerSubject: 'Developer ID Application: 3CX (33CF4654HL)' });
    const findings = evaluateSignature(r, pack, { application: '3cx-desktop-app', platform: 'macos', path: DYLIB });
    expect(findings.map((f) => f.ruleId)).toEqual(['3cx-apple-developer-id']);
  });

  it('ad-hoc signature: sealed by no identity, flagged, no signer, and attention for an app file', async () => {
    const bin = '/usr/local/bin/helper';
    const runner = runnerFor(bin, { display: 'adhoc.display.txt', verify: 'adhoc.verify.txt', assess: 'adhoc.spctl.txt' });
    const r = sameShape(await verifyAppleCodeSignature(runner, bin));
    expect(r.status).toBe('valid');
    expect(r.flags.adHoc).toBe(true);
    expect(r.apple).toMatchObject({ identifier: 'helper', cdHash: '0d6b7e5c4f3a29180716253443526170f8e9dabc', hardenedRuntime: false });
    expect(r.apple?.teamId).toBeUndefined();
    const sig = r.signatures[0]!;
    expect(sig.signer).toBeUndefined();
    expect(sig.chain).toEqual({ status: 'incomplete', certificates: [] });
    expect(sig.problems).toEqual(['ad-hoc signature: sealed, but by no identity']);
    expect(r.osTrust).toMatchObject({ trusted: false, status: 'rejected', message: 'no usable signature' });
    const findings = evaluateSignature(r, pack, { application: '3cx-desktop-app', platform: 'macos', path: bin });
    expect(findings.map((f) => [f.severity, f.title])).toContainEqual(['attention', 'helper has only an ad-hoc signature, with no publisher identity.']);
  });

  it('unsigned, missing, damaged, killed and garbage outputs: distinct results, never a throw', async () => {
    const unsigned = new RecordedCommandRunner({});
    const u = runnerFor('/Users/alice/Downloads/tool', { display: 'unsigned.display.txt' });
    const ur = sameShape(await verifyAppleCodeSignature(u, '/Users/alice/Downloads/tool'));
    expect(ur).toMatchObject({ status: 'unsigned', signatures: [] });
    // Nothing to verify or assess once codesign says there is no signature.
    expect(u.calls).toHaveLength(1);

    const missing = sameShape(await verifyAppleCodeSignature(runnerFor('/Applications/Gone.app', { display: 'missing.display.txt' }), '/Applications/Gone.app'));
    expect(missing).toMatchObject({ status: 'unreadable', error: '/Applications/Gone.app: No such file or directory' });

    const damaged = sameShape(await verifyAppleCodeSignature(runnerFor('/Users/alice/Downloads/patched', { display: 'bad-format.display.txt' }), '/Users/alice/Downloads/patched'));
    expect(damaged).toMatchObject({ status: 'malformed', error: '/Users/alice/Downloads/patched: invalid or unsupported format for signature' });

    const killed = sameShape(await verifyAppleCodeSignature(runnerFor(APP, { display: 'truncated.display.txt' }), APP));
    expect(killed.status).not.toBe('valid');
    expect(killed.error).toBe('codesign timed out');

    const garbage = sameShape(await verifyAppleCodeSignature(runnerFor(APP, { display: 'garbage.display.txt', verify: 'notarized-app.verify.txt', assess: 'garbage.spctl.txt' }), APP));
    expect(garbage.status).toBe('malformed');
    expect(garbage.error).toMatch(/no Identifier/);

    // No codesign at all (an unrecorded command answers as a missing program).
    const none = sameShape(await verifyAppleCodeSignature(unsigned, APP));
    expect(none.status).toBe('unsupported');
    expect(none.error).toMatch(/codesign could not run/);
  });
});

describe('codesign and spctl parsers on malformed text', () => {
  it('truncated codesign output keeps what was printed and invents nothing', () => {
    const d = parseCodesignDisplay(recorded('truncated.display.txt').stderr);
    expect(d.identifier).toBe('com.electron.3cx-desktop-app');
    expect(d.cdHash).toBeUndefined();
    expect(d.authorities).toEqual([]);
    expect(d.codeDirectoryFlagsValue).toBe(0x10000);
    expect(d.notSigned).toBe(false);
  });

  it('garbage codesign output: no authorities, no team, unparseable time left as text', () => {
    const d = parseCodesignDisplay(recorded('garbage.display.txt').stderr);
    expect(d.authorities).toEqual([]);
    expect(d.teamId ?? '').toBe('');
    expect(d.timestamp).toBe('yesterday-ish');
    expect(parseCodesignTime(d.timestamp!)).toBeUndefined();
    expect(parseCodesignDisplay('').error).toBeUndefined();
    expect(parseCodesignDisplay('\u0000\u00ff binary junk\n').error).toBe('\u0000\u00ff binary junk');
  });

  it('spctl output without a verdict line is no assessment; a verdict needs exit 0 to count as accepted', () => {
    const g = recorded('garbage.spctl.txt');
    expect(parseSpctl(g.code, g.stderr)).toBeUndefined();
    const ok = recorded('notarized-app.spctl.txt');
    expect(parseSpctl(ok.code, ok.stderr)).toMatchObject({ accepted: true, source: 'Notarized Developer ID' });
    expect(parseSpctl(3, ok.stderr)?.accepted).toBe(false);
  });
});

// Real outputs posted by others (source in each file's header and in the folder README):
// Google Chrome on macOS, from https://github.com/fleetdm/fleet/issues/23476.
describe('codesign and spctl parsers on real published output', () => {
  it('codesign -dvv on Google Chrome: identifier, several CodeDirectory flags, authority chain, Team ID, timestamp', () => {
    const r = recorded('published-fleet-chrome.display-dvv.txt');
    expect(r.reproduces).toMatch(/^REAL capture/);
    const d = parseCodesignDisplay(r.stderr);
    expect(d).toMatchObject({
      notSigned: false,
      adHoc: false,
      executable: '/Applications/Google Chrome.app/Contents/MacOS/Google Chrome',
      identifier: 'com.google.Chrome',
      format: 'app bundle with Mach-O universal (x86_64 arm64)',
      codeDirectoryFlagsValue: 0x12a00,
      codeDirectoryFlags: ['kill', 'restrict', 'library-validation', 'runtime'],
      authorities: ['Developer ID Application: Google LLC (EQHXZ8M8AV)', 'Developer ID Certification Authority', 'Apple Root CA'],
      timestamp: 'Oct 28, 2024 at 8:44:08 PM',
      teamId: 'EQHXZ8M8AV',
      runtimeVersion: '14.0.0',
    });
    expect(d.error).toBeUndefined();
    // -dvv prints no Hash type or CDHash lines (those need --verbose=3 or more): none invented.
    expect(d.hashType).toBeUndefined();
    expect(d.cdHash).toBeUndefined();
    const t = parseCodesignTime(d.timestamp!)!;
    expect([t.getFullYear(), t.getMonth(), t.getDate(), t.getHours(), t.getMinutes(), t.getSeconds()]).toEqual([2024, 9, 28, 20, 44, 8]);
  });

  it('spctl -a -vv -t execute on Google Chrome: accepted, notarized, origin with Team ID', () => {
    const r = recorded('published-fleet-chrome.spctl.txt');
    expect(parseSpctl(r.code, r.stderr)).toEqual({
      accepted: true,
      notAnApp: false,
      source: 'Notarized Developer ID',
      origin: 'Developer ID Application: Google LLC (EQHXZ8M8AV)',
      message: 'accepted',
    });
  });
});
