/**
 * Whether two X.509 Names are the same name, for chain building (a certificate's issuer
 * against a candidate's subject), self-issued certificates and a SignerInfo's
 * issuerAndSerialNumber.
 *
 * The choice: equal DER bytes, or else the same attribute types in the same order whose
 * string values are equal after trimming, collapsing runs of spaces and lower-casing, and
 * whose other values are byte-equal. Byte equality alone is what CryptoAPI's
 * CertCompareCertificateName does, and real chains nearly always match that way; the
 * fallback is the comparison pkijs made before this module replaced it (a subset of RFC
 * 5280 7.1's normalisation, which also matches a CA that re-encoded its name, e.g. as
 * UTF8String in its own certificate and PrintableString in what it issued), so no chain
 * that verified before stops verifying. Unlike pkijs it compares the normalised strings
 * with ===, not localeCompare, whose collation treats some different strings (ignorable
 * code points) as equal. A chain link also needs the issuer's key to verify the
 * signature, so a looser name match cannot forge a link.
 */
import { isStringType, stringValue } from './der.js';
import type { X509Name } from './x509-certificate.js';

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(b);
}

/** pkijs's stringPrep: trim, spaces collapsed, lower case. */
function prepared(s: string): string {
  return s.trim().replace(/ {2,}/g, ' ').toLowerCase();
}

export function namesEqual(a: X509Name, b: X509Name): boolean {
  if (bytesEqual(a.der, b.der)) return true;
  if (a.attributes.length !== b.attributes.length) return false;
  return a.attributes.every((x, i) => {
    const y = b.attributes[i]!;
    if (x.oid !== y.oid) return false;
    const xs = isStringType(x.value);
    if (xs !== isStringType(y.value)) return false;
    if (!xs) return bytesEqual(x.value.bytes, y.value.bytes);
    return prepared(stringValue(x.value)!) === prepared(stringValue(y.value)!);
  });
}
