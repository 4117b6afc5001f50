/**
 * A certificate embedded in a signature, kept with its exact DER bytes (thumbprints are
 * hashes of those bytes, as Windows computes them), and its summary for results.
 */
import { createHash } from 'node:crypto';
import type { CertificateSummary } from '../../shared/signature.js';
import { namesEqual } from './name-equality.js';
import type { X509Certificate } from './x509-certificate.js';
import { commonName, formatName } from './x509-name.js';

export interface EmbeddedCertificate {
  cert: X509Certificate;
  der: Uint8Array;
  sha1: string;
  sha256: string;
}

export function embedCertificate(cert: X509Certificate): EmbeddedCertificate {
  return {
    cert,
    der: cert.der,
    sha1: createHash('sha1').update(cert.der).digest('hex'),
    sha256: createHash('sha256').update(cert.der).digest('hex'),
  };
}

/** Lowercase hex of the serial's two's-complement bytes without leading zero bytes. */
export function serialHex(bytes: Uint8Array): string {
  const hex = Buffer.from(bytes).toString('hex');
  const trimmed = hex.replace(/^(00)+/, '');
  return trimmed.length ? trimmed : '00';
}

function isoOrUndefined(d: Date | undefined): string | undefined {
  return d && !Number.isNaN(d.getTime()) ? d.toISOString() : undefined;
}

export function isSelfIssued(cert: X509Certificate): boolean {
  return namesEqual(cert.subject, cert.issuer);
}

export function summarizeCertificate(c: EmbeddedCertificate): CertificateSummary {
  const { cert } = c;
  const summary: CertificateSummary = {
    subject: formatName(cert.subject),
    issuer: formatName(cert.issuer),
    serial: serialHex(cert.serial),
    sha1: c.sha1,
    sha256: c.sha256,
    selfSigned: isSelfIssued(cert),
  };
  const cn = commonName(cert.subject);
  if (cn !== undefined) summary.commonName = cn;
  const nb = isoOrUndefined(cert.notBefore);
  const na = isoOrUndefined(cert.notAfter);
  if (nb) summary.notBefore = nb;
  if (na) summary.notAfter = na;
  return summary;
}
