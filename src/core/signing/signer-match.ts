/**
 * Which of a pack's signer rules a verified signature matches. A rule names a certificate
 * by any of: SHA-1 or SHA-256 thumbprint, Apple Team ID, or issuer + serial number. Pure.
 *
 * Issuer + serial: the serial must be equal (hex, case and leading zeros ignored); the
 * rule's issuer must appear, case-insensitively, in the certificate's issuer DN (quotes
 * removed), so "DigiCert" matches "CN=DigiCert Trusted G4 Code Signing RSA4096 SHA384 2021
 * CA1, O=DigiCert, Inc., C=US". The serial carries the precision: CAs issue 64-160-bit
 * random serials, and the 3CX pack knows its issuer only as "DigiCert".
 */
import type { Platform } from '../../shared/scan.js';
import type { CertificateSummary, SignatureEntry, SignatureVerification } from '../../shared/signature.js';
import type { Pack, Signer } from '../pack/schema.js';

export type SignerMatchKey = 'sha1' | 'sha256' | 'teamId' | 'issuer+serial';

export interface SignerMatch {
  rule: Signer;
  signature: SignatureEntry;
  by: SignerMatchKey;
}

const normSerial = (s: string) => s.toLowerCase().replace(/[^0-9a-f]/g, '').replace(/^0+(?=.)/, '');
const normDn = (s: string) => s.toLowerCase().replace(/"/g, '');

export function signerRuleMatches(rule: Signer, cert: CertificateSummary | undefined, teamId: string | undefined): SignerMatchKey | undefined {
  if (rule.sha256 && cert?.sha256 && cert.sha256.toLowerCase() === rule.sha256) return 'sha256';
  if (rule.sha1 && cert?.sha1 && cert.sha1.toLowerCase() === rule.sha1) return 'sha1';
  if (rule.teamId && teamId && teamId === rule.teamId) return 'teamId';
  if (rule.serial && rule.issuer && cert?.serial && cert.issuer) {
    if (normSerial(cert.serial) === normSerial(rule.serial) && normDn(cert.issuer).includes(normDn(rule.issuer))) return 'issuer+serial';
  }
  return undefined;
}

/** The pack's signer rules that apply to this application and platform. */
export function applicableSigners(pack: Pack, application: string | undefined, platform: Platform): Signer[] {
  return pack.signers.filter((s) => (!s.application || s.application === application) && (!s.platform || s.platform === platform));
}

/** Every (rule, signature) pair that matches, primary signature first. */
export function matchSigners(result: SignatureVerification, rules: readonly Signer[]): SignerMatch[] {
  const out: SignerMatch[] = [];
  for (const signature of result.signatures) {
    const teamId = signature.teamId ?? result.apple?.teamId;
    for (const rule of rules) {
      const by = signerRuleMatches(rule, signature.signer, teamId);
      if (by) out.push({ rule, signature, by });
    }
  }
  return out;
}
