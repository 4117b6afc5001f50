/**
 * Checks one CMS SignerInfo (RFC 5652 5.4, 5.6): finds the signer's certificate among the
 * embedded ones (by issuer + serial, or subject key identifier), compares the
 * message-digest authenticated attribute with the digest of the signed content, and
 * verifies the signer's signature over the DER SET of authenticated attributes. Used for
 * Authenticode signatures (the content is SpcIndirectDataContent's value), RFC 3161 tokens
 * (the content is TSTInfo) and legacy countersignatures (the content is the countersigned
 * signature value).
 *
 * The two checks are reported separately, and nothing is thrown: every outcome is in the
 * result.
 */
import { createHash } from 'node:crypto';
import type { EmbeddedCertificate } from './certificate-summary.js';
import type { Attribute, SignerInfo } from './cms-signed-data.js';
import { isUniversal, oid, TAG, time, type DerElement } from './der.js';
import { digestAlgorithmByOid, type DigestAlgorithm } from './digest-algorithms.js';
import { namesEqual } from './name-equality.js';
import { verifySignature } from './public-key-signature.js';
import { subjectKeyIdentifier } from './x509-certificate.js';

export const OID_CONTENT_TYPE = '1.2.840.113549.1.9.3';
export const OID_MESSAGE_DIGEST = '1.2.840.113549.1.9.4';
export const OID_SIGNING_TIME = '1.2.840.113549.1.9.5';

export interface SignerCheck {
  signer?: EmbeddedCertificate;
  digestAlgorithm?: DigestAlgorithm;
  /** The message-digest attribute equals the digest of the content. */
  messageDigestMatches: boolean;
  /** The signature over the authenticated attributes verifies with the signer's key. */
  signatureValid: boolean;
  problems: string[];
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(b);
}

export function findSignerCertificate(signerInfo: SignerInfo, certificates: readonly EmbeddedCertificate[]): EmbeddedCertificate | undefined {
  const { sid } = signerInfo;
  if ('issuer' in sid) {
    return certificates.find((c) => bytesEqual(c.cert.serial, sid.serial) && namesEqual(c.cert.issuer, sid.issuer));
  }
  // [0] SubjectKeyIdentifier: compare with the extension, or the SHA-1 of the public key.
  return certificates.find((c) => {
    const ski = subjectKeyIdentifier(c.cert);
    if (ski && bytesEqual(ski, sid.keyId)) return true;
    return bytesEqual(createHash('sha1').update(c.cert.publicKeyBits).digest(), sid.keyId);
  });
}

function attributeValues(attrs: readonly Attribute[] | undefined, oidWanted: string): DerElement[] | undefined {
  return attrs?.find((a) => a.oid === oidWanted)?.values;
}

export function signedAttribute(signerInfo: SignerInfo, oidWanted: string): DerElement[] | undefined {
  return attributeValues(signerInfo.signedAttrs?.attributes, oidWanted);
}

export function unsignedAttributeValues(signerInfo: SignerInfo, oidWanted: string): DerElement[] {
  return signerInfo.unsignedAttrs.filter((a) => a.oid === oidWanted).flatMap((a) => a.values);
}

/** Time of a UTCTime / GeneralizedTime element, if it is one. */
export function asn1Time(value: DerElement | undefined): Date | undefined {
  return time(value);
}

/**
 * `content` is what the message-digest attribute covers; `contentType` the eContentType the
 * content-type attribute must repeat (omitted for countersignatures, which carry none).
 */
export function checkSigner(
  signerInfo: SignerInfo,
  certificates: readonly EmbeddedCertificate[],
  content: Uint8Array,
  contentType?: string,
): SignerCheck {
  const result: SignerCheck = { messageDigestMatches: false, signatureValid: false, problems: [] };
  const digest = digestAlgorithmByOid(signerInfo.digestAlgorithm.oid);
  if (!digest) {
    result.problems.push(`unsupported signer digest algorithm ${signerInfo.digestAlgorithm.oid}`);
    return result;
  }
  result.digestAlgorithm = digest;
  const signer = findSignerCertificate(signerInfo, certificates);
  if (!signer) result.problems.push("the signer's certificate is not embedded in the signature");
  else result.signer = signer;

  if (!signerInfo.signedAttrs) {
    result.problems.push('the signature has no authenticated attributes');
    return result;
  }
  const md = signedAttribute(signerInfo, OID_MESSAGE_DIGEST)?.[0];
  if (!isUniversal(md, TAG.OCTET_STRING) || md.constructed) {
    result.problems.push('the message-digest attribute is missing');
  } else {
    const actual = createHash(digest.node).update(content).digest();
    result.messageDigestMatches = bytesEqual(actual, md.content);
    if (!result.messageDigestMatches) result.problems.push('the message-digest attribute does not match the signed content');
  }
  if (contentType !== undefined) {
    const ct = signedAttribute(signerInfo, OID_CONTENT_TYPE)?.[0];
    let value: string | undefined;
    try {
      value = isUniversal(ct, TAG.OID) ? oid(ct, 'the content-type attribute') : undefined;
    } catch {
      value = undefined;
    }
    if (value !== contentType) {
      result.problems.push(`the content-type attribute (${value ?? 'missing'}) does not name the signed content (${contentType})`);
      result.messageDigestMatches = false;
    }
  }
  if (signer) {
    if (!digest.verifiable) {
      result.problems.push(`signatures with ${digest.name} cannot be verified`);
    } else {
      const rsa = signerInfo.signatureAlgorithm.oid === '1.2.840.113549.1.1.1';
      result.signatureValid = verifySignature(signerInfo.signedAttrs.encoded, signerInfo.signature, signer.cert, signerInfo.signatureAlgorithm, rsa ? digest : undefined);
      if (!result.signatureValid) result.problems.push("the signer's signature over the authenticated attributes does not verify");
    }
  }
  return result;
}
