/**
 * Checks one CMS SignerInfo (RFC 5652 5.4, 5.6): finds the signer's certificate among the
 * embedded ones (by issuer + serial, or subject key identifier), compares the
 * message-digest authenticated attribute with the digest of the signed content, and
 * verifies the signer's signature over the DER SET of authenticated attributes. Used for
 * Authenticode signatures (the content is SpcIndirectDataContent's value), RFC 3161 tokens
 * (the content is TSTInfo) and legacy countersignatures (the content is the countersigned
 * signature value).
 *
 * The two checks are reported separately (pkijs's SignedData.verify stops at the first),
 * and nothing is thrown: every outcome is in the result.
 */
import { createHash } from 'node:crypto';
import * as asn1js from 'asn1js';
import { IssuerAndSerialNumber, type CryptoEngine, type SignerInfo } from 'pkijs';
import type { EmbeddedCertificate } from './certificate-summary.js';
import { digestAlgorithmByOid, type DigestAlgorithm } from './digest-algorithms.js';

export const OID_CONTENT_TYPE = '1.2.840.113549.1.9.3';
export const OID_MESSAGE_DIGEST = '1.2.840.113549.1.9.4';
export const OID_SIGNING_TIME = '1.2.840.113549.1.9.5';
const OID_SUBJECT_KEY_IDENTIFIER = '2.5.29.14';

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
  return a.length === b.length && Buffer.from(a).equals(Buffer.from(b));
}

function subjectKeyIdentifier(c: EmbeddedCertificate): Uint8Array | undefined {
  const ext = c.cert.extensions?.find((e) => e.extnID === OID_SUBJECT_KEY_IDENTIFIER);
  if (!ext) return undefined;
  try {
    const inner = asn1js.fromBER(new Uint8Array(ext.extnValue.valueBlock.valueHexView));
    if (inner.offset === -1 || !(inner.result instanceof asn1js.OctetString)) return undefined;
    return inner.result.valueBlock.valueHexView;
  } catch {
    return undefined;
  }
}

export function findSignerCertificate(signerInfo: SignerInfo, certificates: readonly EmbeddedCertificate[]): EmbeddedCertificate | undefined {
  const sid = signerInfo.sid as unknown;
  if (sid instanceof IssuerAndSerialNumber) {
    return certificates.find((c) => {
      try {
        return c.cert.issuer.isEqual(sid.issuer) && c.cert.serialNumber.isEqual(sid.serialNumber);
      } catch {
        return false;
      }
    });
  }
  // [0] SubjectKeyIdentifier: compare with the extension, or the SHA-1 of the public key.
  const el = sid as asn1js.AsnType | undefined;
  if (!el?.idBlock) return undefined;
  const block = el.valueBlock as { value?: asn1js.AsnType[]; valueHexView?: Uint8Array };
  const keyId = el.idBlock.isConstructed ? (block.value?.[0]?.valueBlock as { valueHexView?: Uint8Array } | undefined)?.valueHexView : block.valueHexView;
  if (!keyId) return undefined;
  return certificates.find((c) => {
    const ski = subjectKeyIdentifier(c);
    if (ski && bytesEqual(ski, keyId)) return true;
    const spki = c.cert.subjectPublicKeyInfo.subjectPublicKey.valueBlock.valueHexView;
    return bytesEqual(createHash('sha1').update(spki).digest(), keyId);
  });
}

export function signedAttribute(signerInfo: SignerInfo, oid: string): unknown[] | undefined {
  return signerInfo.signedAttrs?.attributes.find((a) => a.type === oid)?.values;
}

export function unsignedAttributeValues(signerInfo: SignerInfo, oid: string): unknown[] {
  return (signerInfo.unsignedAttrs?.attributes ?? []).filter((a) => a.type === oid).flatMap((a) => a.values ?? []);
}

/** Time of a UTCTime / GeneralizedTime element, if it is one. */
export function asn1Time(value: unknown): Date | undefined {
  if (value instanceof asn1js.UTCTime || value instanceof asn1js.GeneralizedTime) {
    const d = value.toDate();
    return Number.isNaN(d.getTime()) ? undefined : d;
  }
  return undefined;
}

/** Signature verification with the signer's public key; false (never a throw) on failure. */
export async function verifyWithCertificate(
  engine: CryptoEngine,
  data: Uint8Array | ArrayBuffer,
  signerInfo: SignerInfo,
  signer: EmbeddedCertificate,
  digest: DigestAlgorithm,
): Promise<boolean> {
  try {
    const rsa = signerInfo.signatureAlgorithm.algorithmId === '1.2.840.113549.1.1.1';
    return await engine.verifyWithPublicKey(
      data,
      signerInfo.signature,
      signer.cert.subjectPublicKeyInfo,
      signerInfo.signatureAlgorithm,
      rsa ? digest.webCrypto : undefined,
    );
  } catch {
    return false;
  }
}

/**
 * `content` is what the message-digest attribute covers; `contentType` the eContentType the
 * content-type attribute must repeat (omitted for countersignatures, which carry none).
 */
export async function checkSigner(
  engine: CryptoEngine,
  signerInfo: SignerInfo,
  certificates: readonly EmbeddedCertificate[],
  content: Uint8Array,
  contentType?: string,
): Promise<SignerCheck> {
  const result: SignerCheck = { messageDigestMatches: false, signatureValid: false, problems: [] };
  const digest = digestAlgorithmByOid(signerInfo.digestAlgorithm.algorithmId);
  if (!digest) {
    result.problems.push(`unsupported signer digest algorithm ${signerInfo.digestAlgorithm.algorithmId}`);
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
  if (!(md instanceof asn1js.OctetString)) {
    result.problems.push('the message-digest attribute is missing');
  } else {
    const actual = createHash(digest.node).update(content).digest();
    result.messageDigestMatches = bytesEqual(actual, md.valueBlock.valueHexView);
    if (!result.messageDigestMatches) result.problems.push('the message-digest attribute does not match the signed content');
  }
  if (contentType !== undefined) {
    const ct = signedAttribute(signerInfo, OID_CONTENT_TYPE)?.[0];
    const value = ct instanceof asn1js.ObjectIdentifier ? ct.valueBlock.toString() : undefined;
    if (value !== contentType) {
      result.problems.push(`the content-type attribute (${value ?? 'missing'}) does not name the signed content (${contentType})`);
      result.messageDigestMatches = false;
    }
  }
  if (signer) {
    if (!digest.webCrypto) {
      result.problems.push(`signatures with ${digest.name} cannot be verified`);
    } else {
      result.signatureValid = await verifyWithCertificate(engine, signerInfo.signedAttrs.encodedValue, signerInfo, signer, digest);
      if (!result.signatureValid) result.problems.push("the signer's signature over the authenticated attributes does not verify");
    }
  }
  return result;
}
