/**
 * Turns a signature verification result into findings, applying the pack's signer rules.
 * Pure: the same result, pack and context always give the same findings.
 *
 * Decision table (docs/SIGNING.md keeps the same table; change both together). "App file"
 * means ctx.application is set: the file belongs to a pack application's install.
 *
 * | # | condition                                                       | severity    |
 * |---|-----------------------------------------------------------------|-------------|
 * | 1 | data smuggled inside the certificate table (flags.extraData..., |             |
 * |   |   incl. extra WIN_CERTIFICATE entries) - the 3CX DLL trick      | compromised |
 * | 2 | a signature's certificate matches a `distrusted` signer         | compromised |
 * | 3 | status digest-mismatch (signed, then changed; incl. data        | attention   |
 * |   |   appended after the table)                                     |             |
 * | 4 | status bad-signature or malformed                               | attention   |
 * | 5 | app file, status unsigned                                       | attention   |
 * | 6 | app file, status unsupported (not a PE / Mach-O at all)         | attention   |
 * | 6b| app file, status unreadable                                     | unknown     |
 * | 7 | a signature matches a `compromised-generation` signer           | attention   |
 * |   |   ("signed by the certificate that also signed the trojanized   |             |
 * |   |   builds")                                                      |             |
 * | 8 | app file, status valid, ad-hoc signature (no identity)          | attention   |
 * | 9 | app file, status valid, no signature matches any signer rule    | attention   |
 * |10 | status valid and a signature matches a `trusted` signer         | info        |
 * |11 | status valid but the OS trust adapter says not trusted          | attention   |
 * |   |   (Windows NotTrusted/HashMismatch..., Gatekeeper rejected)     |             |
 *
 * Rows 2, 7 and 10 apply to every matching signature (primary and nested). A `trusted`
 * match counts only on a valid signature; `distrusted` and `compromised-generation` count
 * whatever the signature's state (a broken signature by such a certificate is no better).
 *
 * Advice: a matched rule's own advice. Otherwise, compromised findings take the pack's
 * known-bad-file advice (the first hash rule for the platform, else the first compromised
 * artefact's), attention and unknown ones the advice of the application's signer rules.
 */
import type { Finding, Platform, Severity, SignerSummary } from '../../shared/scan.js';
import type { CertificateSummary, SignatureVerification } from '../../shared/signature.js';
import type { Pack, PackAdvice, Signer } from '../pack/schema.js';
import { makeFinding } from '../verdict/finding.js';
import { applicableSigners, matchSigners, type SignerMatch } from './signer-match.js';

export interface SignatureContext {
  /** Pack application id the file belongs to; undefined for a file outside any pack install. */
  application?: string;
  platform: Platform;
  /** Display path of the file. */
  path: string;
  user?: string;
  observedAt?: Date;
}

function fileName(p: string): string {
  return p.split(/[\\/]/).filter(Boolean).pop() ?? p;
}

function signerSummary(cert: CertificateSummary | undefined, teamId: string | undefined): SignerSummary | undefined {
  if (!cert) return teamId ? { subject: `Team ID ${teamId}`, teamId } : undefined;
  const s: SignerSummary = { subject: cert.subject };
  if (cert.issuer) s.issuer = cert.issuer;
  if (cert.serial) s.serial = cert.serial;
  if (cert.sha1) s.sha1 = cert.sha1;
  if (cert.sha256) s.sha256 = cert.sha256;
  if (teamId) s.teamId = teamId;
  return s;
}

function adviceById(pack: Pack, id: string | undefined): PackAdvice | undefined {
  return id === undefined ? undefined : pack.advice.find((a) => a.id === id);
}

function fallbackAdvice(pack: Pack, severity: Severity, ctx: SignatureContext): PackAdvice | undefined {
  const signerAdvice = applicableSigners(pack, ctx.application, ctx.platform)[0]?.advice ?? pack.signers[0]?.advice;
  if (severity === 'compromised') {
    const hash = pack.hashes.find((h) => !h.platform || h.platform === ctx.platform);
    const artifact = pack.artifacts.find((a) => a.class === 'compromised' && a.platform === ctx.platform);
    return adviceById(pack, hash?.advice ?? artifact?.advice ?? signerAdvice);
  }
  return adviceById(pack, signerAdvice);
}

export function evaluateSignature(result: SignatureVerification, pack: Pack, ctx: SignatureContext): Finding[] {
  const findings: Finding[] = [];
  const name = fileName(ctx.path);
  const primary = result.signatures[0];
  const primaryTeam = primary?.teamId ?? result.apple?.teamId;
  const appFile = ctx.application !== undefined;
  const valid = result.status === 'valid';

  const detail: Record<string, string | number | boolean> = { status: result.status, format: result.format };
  if (primary && primary.digestAlgorithm !== 'unknown') detail.digestAlgorithm = primary.digestAlgorithm;
  if (primary?.timestamp?.time) detail.timestamp = primary.timestamp.time;
  if (result.extraData.length) {
    detail.extraDataBytes = result.extraData.reduce((n, e) => n + e.length, 0);
    const firstHash = result.extraData.find((e) => e.sha256)?.sha256;
    if (firstHash) detail.extraDataSha256 = firstHash;
  }
  if (result.osTrust) detail.osTrust = result.osTrust.status;
  if (result.apple?.notarization && result.apple.notarization !== 'unknown') detail.notarization = result.apple.notarization;

  const add = (kind: string, severity: Severity, title: string, match?: SignerMatch) => {
    const signer = match ? signerSummary(match.signature.signer, match.signature.teamId ?? result.apple?.teamId) : signerSummary(primary?.signer, primaryTeam);
    const evidence: Finding['evidence'] = { path: ctx.path, detail: match ? { ...detail, matchedBy: match.by } : { ...detail } };
    if (ctx.user) evidence.user = ctx.user;
    if (signer) evidence.signer = signer;
    if (result.error) evidence.error = result.error;
    const advice = match ? adviceById(pack, match.rule.advice) : fallbackAdvice(pack, severity, ctx);
    findings.push(
      makeFinding({
        category: 'signature',
        severity,
        title,
        packId: pack.id,
        ...(match ? { ruleId: match.rule.id } : {}),
        ...(ctx.application ? { application: ctx.application } : {}),
        evidence,
        ...(advice ? { advice } : {}),
        identity: ['signature', pack.id, kind, match?.rule.id, ctx.path, ctx.user],
        ...(ctx.observedAt ? { observedAt: ctx.observedAt } : {}),
      }),
    );
  };

  const rules = applicableSigners(pack, ctx.application, ctx.platform);
  const matches = matchSigners(result, rules);
  const byDisposition = (d: Signer['disposition']) => matches.filter((m) => m.rule.disposition === d);

  // 1. Smuggled data inside the signature.
  if (result.flags.extraDataInCertificateTable || result.flags.multipleCertificateEntries) {
    const bytes = result.extraData.filter((e) => e.location === 'certificate-table').reduce((n, e) => n + e.length, 0);
    add(
      'extra-data-in-certificate-table',
      'compromised',
      `${name} hides ${bytes} bytes of data inside its code signature, where no signature covers them (the trick the trojanized 3CX d3dcompiler_47.dll used).`,
    );
  }
  // 2. Distrusted signer.
  for (const m of byDisposition('distrusted')) {
    add('distrusted-signer', 'compromised', `${name} is signed by a certificate known to sign malicious files (${m.rule.subject}).`, m);
  }
  // 3-4. Broken signatures.
  if (result.status === 'digest-mismatch') {
    add(
      'digest-mismatch',
      'attention',
      result.flags.dataAfterCertificateTable
        ? `${name} was changed after it was signed: data was appended after its signature.`
        : `${name} was changed after it was signed: its contents no longer match the signature.`,
    );
  } else if (result.status === 'bad-signature') {
    add('bad-signature', 'attention', `${name}'s code signature does not verify.`);
  } else if (result.status === 'malformed') {
    add('malformed', 'attention', `${name}'s code signature is malformed${result.error ? `: ${result.error}` : ''}.`);
  } else if (result.flags.dataAfterCertificateTable) {
    add('data-after-certificate-table', 'attention', `${name} has data after its code signature that no signature covers.`);
  }
  // 5-6. Missing or uncheckable signatures on an application's files.
  if (appFile && result.status === 'unsigned') {
    add('unsigned', 'attention', `${name} is not code-signed, although the publisher signs its builds.`);
  }
  // Not a program file at all where the application has one: wrong, so amber. Unreadable
  // (permissions, I/O): the scan could not look, so grey.
  if (appFile && result.status === 'unsupported') {
    add('not-a-program', 'attention', `${name} is not a valid program file, so its code signature cannot be checked${result.error ? `: ${result.error}` : ''}.`);
  }
  if (appFile && result.status === 'unreadable') {
    add('unverifiable', 'unknown', `Vigil could not check the code signature of ${name}${result.error ? `: ${result.error}` : ''}.`);
  }
  // 7. The certificate that also signed the trojanized builds.
  for (const m of byDisposition('compromised-generation')) {
    add(
      'compromised-generation-signer',
      'attention',
      `${name} is signed by the certificate that also signed the trojanized builds (${m.rule.subject}); the signature alone does not show whether this copy is clean.`,
      m,
    );
  }
  // 8-9. A valid signature by nobody the pack knows.
  if (appFile && valid) {
    if (result.flags.adHoc && !matches.length) {
      add('ad-hoc', 'attention', `${name} has only an ad-hoc signature, with no publisher identity.`);
    } else if (!matches.length) {
      const who = primary?.signer?.commonName ?? primary?.signer?.subject ?? (primaryTeam ? `Team ID ${primaryTeam}` : 'an unknown signer');
      add('unknown-signer', 'attention', `${name} is signed by ${who}, a signer Vigil does not know for this application.`);
    }
  }
  // 10. Trusted signer.
  if (valid) {
    for (const m of byDisposition('trusted')) {
      add('trusted-signer', 'info', `${name} is validly signed by ${m.rule.subject}, a certificate the publisher signs good builds with.`, m);
    }
  }
  // 11. The OS disagrees.
  if (valid && result.osTrust && !result.osTrust.trusted && !result.osTrust.notApplicable) {
    const who = result.osTrust.source === 'windows-authenticode' ? 'Windows' : 'Gatekeeper';
    add(
      'os-not-trusted',
      'attention',
      `${who} does not accept the signature of ${name} (${result.osTrust.status}${result.osTrust.message ? `: ${result.osTrust.message}` : ''}).`,
    );
  }
  return findings;
}
