/**
 * Pure decisions about a verification result: the status a set of checked signatures
 * adds up to, and whether a result is clean (what `vigil verify` exits 0 for).
 */
import type { SignatureEntry, SignatureStatus, SignatureVerification, SignatureFlags } from '../../shared/signature.js';

export const NO_FLAGS: Readonly<SignatureFlags> = Object.freeze({
  extraDataInCertificateTable: false,
  dataAfterCertificateTable: false,
  multipleCertificateEntries: false,
  adHoc: false,
});

/** Worst first: a broken structure hides everything else; a valid signature is the best. */
const RANK: readonly SignatureStatus[] = ['malformed', 'bad-signature', 'digest-mismatch', 'unsupported', 'valid'];

/**
 * One Authenticode signature's outcome:
 *  - no signed digest could be read                      -> malformed
 *  - the digest algorithm is unknown (nothing computed)  -> unsupported
 *  - signer signature / message digest / chain link bad  -> bad-signature
 *  - image digest differs                                -> digest-mismatch
 *  - otherwise                                           -> valid
 */
export function signatureOutcome(e: SignatureEntry): SignatureStatus {
  if (e.signedDigest === undefined) return 'malformed';
  if (e.computedDigest === undefined) return 'unsupported';
  if (!e.signatureValid || e.chain.status === 'invalid') return 'bad-signature';
  if (!e.digestMatches) return 'digest-mismatch';
  return 'valid';
}

/** The file's status: the worst of its signatures (primary and nested alike). */
export function combinedStatus(entries: readonly SignatureEntry[]): SignatureStatus {
  if (entries.length === 0) return 'malformed';
  let worst = RANK.length - 1;
  for (const e of entries) worst = Math.min(worst, RANK.indexOf(signatureOutcome(e)));
  return RANK[worst]!;
}

/** Valid and carrying nothing smuggled. */
export function isCleanSignature(r: SignatureVerification): boolean {
  return r.status === 'valid' && !r.flags.extraDataInCertificateTable && !r.flags.dataAfterCertificateTable && !r.flags.multipleCertificateEntries;
}
