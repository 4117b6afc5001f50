/**
 * Self-integrity: does Vigil's own executable still carry the signature its publisher put
 * on it? A supply-chain checker that cannot tell whether it was itself tampered with is
 * not credible, so a release build verifies its own program at every scan and reports a
 * red `compromised` finding (category `self-integrity`) when:
 *   - the signature no longer matches the file (digest mismatch, bad or malformed signature);
 *   - data was smuggled into or after the certificate table (the 3CX DLL trick);
 *   - the file is unsigned although this build is a signed release;
 *   - it is validly signed, but not by the publisher this build expects (BUILD_SIGNING:
 *     subject and/or a pinned thumbprint in the chain on Windows, Team ID on macOS);
 *   - the operating system rejects the signature (Windows' own Authenticode verdict, which
 *     a live Windows check always asks for; Gatekeeper on macOS).
 * A release is "intact and signed by its publisher" only when both hold: the pin of this
 * platform matches AND the operating system trusts the chain. The portable verifier checks
 * that the chain is well formed, not that it ends at a root the machine trusts, so a
 * self-signed certificate with the publisher's subject name passes the subject pin alone.
 * Without the OS verdict, or with no pin for this platform (a misconfigured release, which
 * scripts/release-set-publisher.mjs refuses to build), the result is `unknown`, never
 * "verified". A development build (BUILD_SIGNING.expectSigned false) that is simply
 * unsigned gets an `info` finding saying so, which never changes the verdict. An
 * unreadable executable is `unknown`.
 *
 * Windows executables are verified with the portable Authenticode verifier (so this is
 * testable on any OS); a macOS app bundle with codesign/spctl through the command runner.
 *
 * Use: `extraChecks: [selfIntegrityCheck({ executable: process.execPath })]`.
 */
import * as path from 'node:path';
import type { Advice, Finding, Platform, Severity } from '../../shared/scan.js';
import type { CertificateSummary, SignatureVerification } from '../../shared/signature.js';
import { ProcessCommandRunner, type CommandRunner } from '../os/command-runner.js';
import type { OsTrustAdapter } from '../signing/os-trust.js';
import { verifyAppleCodeSignature } from '../signing/apple-code-signature.js';
import { verifyCodeSignature } from '../signing/verify-code-signature.js';
import { WindowsAuthenticodeTrust } from '../signing/windows-authenticode-trust.js';
import { makeFinding } from '../verdict/finding.js';
import type { ScanContext } from '../scan.js';
import { BUILD_SIGNING, type BuildSigning } from './build-signing.js';

export interface SelfIntegrityOptions {
  /** The agent's own executable; default process.execPath (the packaged app's binary). */
  executable?: string;
  /** The platform this process runs on; default this one. */
  platform?: Platform;
  /** Who should have signed it; default the build's BUILD_SIGNING. */
  expected?: BuildSigning;
  /** Runs codesign/spctl on macOS (default: real processes). */
  runner?: CommandRunner;
  /**
   * Windows: Get-AuthenticodeSignature for root trust and revocation. Default on a live
   * Windows host: WindowsAuthenticodeTrust over `runner`; a release needs its verdict.
   */
  osTrust?: OsTrustAdapter;
}

export type SelfIntegrityRule =
  | 'self-verified'
  | 'self-signed-unpinned'
  | 'self-dev-build'
  | 'self-not-checked'
  | 'self-unverifiable'
  | 'self-unreadable'
  | 'self-tampered'
  | 'self-smuggled-data'
  | 'self-unsigned'
  | 'self-wrong-publisher'
  | 'self-untrusted'
  | 'self-no-pin';

export interface SelfIntegrityAssessment {
  severity: Severity;
  ruleId: SelfIntegrityRule;
  title: string;
  reason: string;
}

const ADVICE: Advice = {
  id: 'vigil-self-integrity',
  title: 'Vigil itself may have been tampered with',
  text: 'The checker on this PC is not the program its publisher signed. Do not trust its results; have IT reinstall Vigil from the signed installer and investigate how the file was changed.',
  steps: [
    'Isolate the PC from the network if other findings point to a compromise.',
    'Uninstall Vigil and reinstall it from the signed MSI/pkg your IT provider distributes.',
    'Compare the executable\'s hash with the release and keep the changed file for investigation.',
  ],
  links: [],
};

function hostPlatform(): Platform {
  return process.platform === 'win32' ? 'windows' : process.platform === 'darwin' ? 'macos' : 'linux';
}

const norm = (s: string) => s.replace(/\s+/g, ' ').trim().toLowerCase();

function subjectMatches(cert: CertificateSummary | undefined, subjects: readonly string[]): boolean {
  if (!cert) return false;
  return subjects.some((s) => norm(s) === norm(cert.subject) || (cert.commonName !== undefined && norm(s) === norm(cert.commonName)));
}

function thumbprintInChain(certs: readonly CertificateSummary[], thumbprints: readonly string[]): boolean {
  const pins = new Set(thumbprints.map((t) => t.replace(/[^0-9a-f]/gi, '').toLowerCase()));
  return certs.some((c) => (c.sha1 !== undefined && pins.has(c.sha1.toLowerCase())) || (c.sha256 !== undefined && pins.has(c.sha256.toLowerCase())));
}

function signerName(result: SignatureVerification): string {
  const s = result.signatures[0];
  return s?.signer?.commonName ?? s?.signer?.subject ?? s?.teamId ?? 'an unnamed signer';
}

/** Pure: what one verification of the agent's own executable means for this build. */
export function assessSelfSignature(result: SignatureVerification, expected: BuildSigning, platform: Platform): SelfIntegrityAssessment {
  const release = expected.expectSigned;
  const red = (ruleId: SelfIntegrityRule, title: string, reason: string): SelfIntegrityAssessment => ({ severity: 'compromised', ruleId, title, reason });
  const info = (ruleId: SelfIntegrityRule, title: string, reason: string): SelfIntegrityAssessment => ({ severity: 'info', ruleId, title, reason });

  switch (result.status) {
    case 'unreadable':
      return { severity: 'unknown', ruleId: 'self-unreadable', title: 'Vigil could not read its own program to check its signature.', reason: result.error ?? 'unreadable' };
    case 'digest-mismatch':
    case 'bad-signature':
    case 'malformed':
      return red('self-tampered', 'Vigil\'s own program was changed after it was signed.', `signature status ${result.status}${result.error ? `: ${result.error}` : ''}`);
    case 'unsigned':
      return release
        ? red('self-unsigned', 'Vigil\'s own program is unsigned, but this release is always signed.', 'no signature on a build that expects one')
        : info('self-dev-build', 'This is an unsigned development build of Vigil; its own signature is not checked.', 'development build: no publisher expected');
    case 'unsupported':
      if (platform === 'linux' || !release) {
        return info('self-not-checked', 'Vigil\'s own program has no code signature to check on this platform.', result.error ?? 'not a signed executable format');
      }
      return { severity: 'unknown', ruleId: 'self-unverifiable', title: 'Vigil could not check its own program\'s signature.', reason: result.error ?? 'unsupported format' };
    case 'valid':
      break;
  }
  const f = result.flags;
  if (f.extraDataInCertificateTable || f.dataAfterCertificateTable || f.multipleCertificateEntries) {
    const what = f.extraDataInCertificateTable ? 'data hidden inside its certificate table' : f.dataAfterCertificateTable ? 'data appended after its signature' : 'a second certificate entry';
    return red('self-smuggled-data', 'Vigil\'s own program carries data outside its signature.', `valid signature, but ${what}`);
  }
  if (result.osTrust && !result.osTrust.trusted && !result.osTrust.notApplicable) {
    const reason = `the operating system says ${result.osTrust.status}${result.osTrust.message ? ` (${result.osTrust.message})` : ''}`;
    return release
      ? red('self-untrusted', 'The operating system does not trust the signature on Vigil\'s own program.', reason)
      : info('self-signed-unpinned', `This development build of Vigil is signed by ${signerName(result)}, which the operating system does not trust.`, reason);
  }
  if (!release) {
    return info('self-signed-unpinned', `This build of Vigil is signed by ${signerName(result)}; it pins no publisher, so the signer is not checked.`, 'development build');
  }
  const unknown = (ruleId: SelfIntegrityRule, title: string, reason: string): SelfIntegrityAssessment => ({ severity: 'unknown', ruleId, title, reason });
  const primary = result.signatures.find((s) => s.nestedIn === undefined) ?? result.signatures[0];
  const mac = platform === 'macos' || result.format === 'apple-codesign';
  let pinned: string;
  if (mac) {
    const team = primary?.teamId ?? result.apple?.teamId;
    if (expected.macos.teamIds.length === 0) {
      return unknown('self-no-pin', 'This release of Vigil names no macOS publisher, so it cannot tell whether its own program is genuine.', `signed by Team ID ${team ?? '(none)'}; the build pins no Team ID`);
    }
    if (!(team && expected.macos.teamIds.includes(team))) {
      return red('self-wrong-publisher', 'Vigil\'s own program is signed, but not by Vigil\'s publisher.', `Team ID ${team ?? '(none)'}; expected ${expected.macos.teamIds.join(' or ')}`);
    }
    pinned = `Team ID ${team}`;
  } else {
    const w = expected.windows;
    if (w.subjects.length === 0 && w.thumbprints.length === 0) {
      return unknown('self-no-pin', 'This release of Vigil names no Windows publisher, so it cannot tell whether its own program is genuine.', `signed by ${primary?.signer?.subject ?? signerName(result)}; the build pins no subject or thumbprint`);
    }
    const subjectOk = w.subjects.length === 0 || subjectMatches(primary?.signer, w.subjects);
    const pinOk = w.thumbprints.length === 0 || thumbprintInChain(primary?.chain.certificates ?? [], w.thumbprints);
    if (!subjectOk || !pinOk) {
      const got = primary?.signer?.subject ?? '(no signer)';
      const why = !subjectOk ? `signer ${got}; expected ${w.subjects.join(' or ')}` : `signer ${got}, but no certificate in its chain has a pinned thumbprint`;
      return red('self-wrong-publisher', 'Vigil\'s own program is signed, but not by Vigil\'s publisher.', why);
    }
    pinned = `signed by ${primary?.signer?.subject ?? signerName(result)}`;
  }
  // The pin matched; the chain must also end at a root this machine trusts.
  if (!result.osTrust || result.osTrust.notApplicable) {
    const who = mac ? 'Gatekeeper' : 'Windows';
    return unknown('self-unverifiable', `Vigil could not get ${mac ? 'Gatekeeper’s' : 'Windows’'} verdict on its own program's signature, so it cannot confirm its publisher.`, `${pinned}, but ${who} gave no trust verdict on the certificate chain`);
  }
  return info('self-verified', 'Vigil\'s own program is intact and signed by its publisher.', `${pinned}; ${result.osTrust.source}: ${result.osTrust.status}`);
}

/** The .app bundle an executable inside Contents/MacOS belongs to; codesign verifies the bundle. */
export function macosBundleOf(executable: string): string | undefined {
  const m = /^(.*?\.app)\/Contents\/MacOS\/[^/]+$/.exec(executable);
  return m?.[1];
}

export async function checkSelfIntegrity(opts: SelfIntegrityOptions = {}, now: Date = new Date()): Promise<Finding[]> {
  const executable = opts.executable ?? process.execPath;
  const platform = opts.platform ?? hostPlatform();
  const expected = opts.expected ?? BUILD_SIGNING;
  const runner = opts.runner ?? new ProcessCommandRunner();
  // On Windows itself, always ask Windows: without its verdict a release cannot be confirmed.
  const osTrust = opts.osTrust ?? (platform === 'windows' && hostPlatform() === 'windows' ? new WindowsAuthenticodeTrust(runner) : undefined);
  const bundle = platform === 'macos' ? macosBundleOf(executable) : undefined;
  const target = bundle ?? executable;
  // A packaged macOS app is sealed as a bundle: codesign/spctl verify the whole .app.
  const result = bundle
    ? await verifyAppleCodeSignature(runner, bundle, { path: bundle })
    : await verifyCodeSignature(target, {
        hostPlatform: platform,
        runner,
        ...(osTrust ? { osTrust } : {}),
        displayPath: target,
        now,
      });
  const a = assessSelfSignature(result, expected, platform);
  const primary = result.signatures.find((s) => s.nestedIn === undefined) ?? result.signatures[0];
  const cert = primary?.signer;
  const finding = makeFinding({
    category: 'self-integrity',
    severity: a.severity,
    ruleId: a.ruleId,
    title: a.title,
    application: 'Vigil',
    evidence: {
      path: path.normalize(target),
      ...(cert
        ? {
            signer: {
              subject: cert.subject,
              ...(cert.issuer ? { issuer: cert.issuer } : {}),
              ...(cert.serial ? { serial: cert.serial } : {}),
              ...(cert.sha1 ? { sha1: cert.sha1 } : {}),
              ...(cert.sha256 ? { sha256: cert.sha256 } : {}),
              ...(primary?.teamId ? { teamId: primary.teamId } : {}),
            },
          }
        : {}),
      ...(result.error ? { error: result.error } : {}),
      detail: { signatureStatus: result.status, reason: a.reason, releaseBuild: expected.expectSigned },
    },
    ...(a.severity === 'compromised' ? { advice: ADVICE } : {}),
    identity: ['self-integrity', a.ruleId, target],
    observedAt: now,
  });
  return [finding];
}

/** The scan extra check (ScanOptions.extraChecks): one self-integrity finding per scan. */
export function selfIntegrityCheck(opts: SelfIntegrityOptions = {}): (ctx: ScanContext) => Promise<Finding[]> {
  return (ctx) => checkSelfIntegrity(opts, ctx.now);
}
