/**
 * Builds the signer's certificate chain from the certificates embedded in the signature
 * alone: from the leaf, repeatedly the embedded certificate whose subject is the issuer
 * name and whose key verifies the signature, until a self-signed root. Whether that root is
 * one the machine trusts (and revocation) is the OS trust adapter's question, not this one.
 */
import type { Chain } from '../../shared/signature.js';
import { isSelfIssued, summarizeCertificate, type EmbeddedCertificate } from './certificate-summary.js';
import { namesEqual } from './name-equality.js';
import { verifySignature } from './public-key-signature.js';

const MAX_DEPTH = 10;
/**
 * Embedded certificates tried as the issuer of one link. More than one legitimately carries
 * the issuer's name when a CA was re-keyed or cross-signed (two or three); a signature that
 * embeds hundreds with the same name (each a public-key operation, a large RSA key a few
 * milliseconds) is an attack on the verifier's time, so only the first few are tried.
 */
export const MAX_ISSUER_CANDIDATES = 4;

function signedBy(cert: EmbeddedCertificate, issuer: EmbeddedCertificate): boolean {
  return verifySignature(cert.cert.tbs, cert.cert.signature, issuer.cert, cert.cert.signatureAlgorithm);
}

function within(c: EmbeddedCertificate, at: Date): boolean {
  const nb = c.cert.notBefore;
  const na = c.cert.notAfter;
  return !!nb && !!na && nb.getTime() <= at.getTime() && at.getTime() <= na.getTime();
}

export function buildChain(
  leaf: EmbeddedCertificate,
  bag: readonly EmbeddedCertificate[],
  checkedAt: Date,
): Chain {
  const path: EmbeddedCertificate[] = [leaf];
  const seen = new Set([leaf.sha256]);
  let status: Chain['status'] = 'incomplete';
  let problem: string | undefined;
  for (let current = leaf; path.length <= MAX_DEPTH; ) {
    if (isSelfIssued(current.cert)) {
      if (signedBy(current, current)) status = 'complete';
      else {
        status = 'invalid';
        problem = `the self-signed certificate "${summarizeCertificate(current).subject}" does not verify with its own key`;
      }
      break;
    }
    const candidates = bag.filter((c) => !seen.has(c.sha256) && namesEqual(current.cert.issuer, c.cert.subject));
    if (candidates.length === 0) {
      problem = `the issuer "${summarizeCertificate(current).issuer}" is not embedded in the signature`;
      break;
    }
    let issuer: EmbeddedCertificate | undefined;
    for (const c of candidates.slice(0, MAX_ISSUER_CANDIDATES)) {
      if (signedBy(current, c)) {
        issuer = c;
        break;
      }
    }
    if (!issuer) {
      status = 'invalid';
      problem =
        candidates.length > MAX_ISSUER_CANDIDATES
          ? `the signature embeds ${candidates.length} certificates named "${summarizeCertificate(current).issuer}"; the first ${MAX_ISSUER_CANDIDATES} were tried and none verifies "${summarizeCertificate(current).subject}"`
          : `"${summarizeCertificate(current).subject}" does not verify with the key of its embedded issuer "${summarizeCertificate(candidates[0]!).subject}"`;
      break;
    }
    path.push(issuer);
    seen.add(issuer.sha256);
    current = issuer;
  }
  if (path.length > MAX_DEPTH && status === 'incomplete') problem = `the chain is longer than ${MAX_DEPTH} certificates`;
  const chain: Chain = {
    status,
    certificates: path.map(summarizeCertificate),
    checkedAt: checkedAt.toISOString(),
    timeValid: path.every((c) => within(c, checkedAt)),
  };
  if (problem) chain.problem = problem;
  return chain;
}
