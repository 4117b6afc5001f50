/**
 * PKCS#7 / CMS SignedData (RFC 5652) as Authenticode uses it: a ContentInfo whose content
 * is SignedData, with the signer's certificates embedded. pkijs decodes the structure; the
 * certificates are taken with their exact DER bytes from the asn1js tree, because
 * thumbprints are hashes of the bytes as embedded (re-encoding could differ).
 *
 * Every structural problem is a SignatureFormatError naming what is wrong.
 */
import * as asn1js from 'asn1js';
import { Certificate, ContentInfo, SignedData } from 'pkijs';
import { embedCertificate, type EmbeddedCertificate } from './certificate-summary.js';

export const OID_SIGNED_DATA = '1.2.840.113549.1.7.2';

export class SignatureFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SignatureFormatError';
  }
}

export interface ParsedSignedData {
  signedData: SignedData;
  /** Embedded X.509 certificates (other certificate choices are skipped). */
  certificates: EmbeddedCertificate[];
}

/** Decodes the DER element at the start of `bytes` (bytes after it are not looked at). */
export function decodeDer(bytes: Uint8Array, what: string): asn1js.AsnType {
  const decoded = asn1js.fromBER(new Uint8Array(bytes)); // a copy: Node Buffers share a pool
  if (decoded.offset === -1) throw new SignatureFormatError(`${what} is not valid DER: ${decoded.result.error || 'decoding failed'}`);
  return decoded.result;
}

function isContext(el: asn1js.AsnType | undefined, n: number): boolean {
  return !!el && el.idBlock.tagClass === 3 && el.idBlock.tagNumber === n;
}

/** The [0] IMPLICIT certificates SET of a SignedData SEQUENCE, as raw elements. */
function rawCertificateElements(signedDataSeq: asn1js.AsnType): asn1js.AsnType[] {
  const items = (signedDataSeq as asn1js.Sequence).valueBlock?.value;
  if (!Array.isArray(items)) return [];
  const set = items.find((el) => isContext(el, 0) && el.idBlock.isConstructed) as asn1js.Constructed | undefined;
  return set ? (set.valueBlock.value as asn1js.AsnType[]) : [];
}

/**
 * Parses a ContentInfo element (from an asn1js tree: the top-level blob, a nested
 * signature attribute value, or an RFC 3161 token) holding SignedData.
 */
export function parseSignedDataContentInfo(element: asn1js.AsnType, what: string): ParsedSignedData {
  let contentInfo: ContentInfo;
  try {
    contentInfo = new ContentInfo({ schema: element });
  } catch (err) {
    throw new SignatureFormatError(`${what} is not a PKCS#7 ContentInfo: ${(err as Error).message}`);
  }
  if (contentInfo.contentType !== OID_SIGNED_DATA) {
    throw new SignatureFormatError(`${what} holds content type ${contentInfo.contentType}, not SignedData`);
  }
  let signedData: SignedData;
  try {
    signedData = new SignedData({ schema: contentInfo.content });
  } catch (err) {
    throw new SignatureFormatError(`${what} is not a valid SignedData: ${(err as Error).message}`);
  }
  if (signedData.signerInfos.length === 0) throw new SignatureFormatError(`${what} has no SignerInfo`);
  const certificates: EmbeddedCertificate[] = [];
  for (const raw of rawCertificateElements(contentInfo.content as asn1js.AsnType)) {
    if (raw.idBlock.tagClass !== 1 || raw.idBlock.tagNumber !== 16) continue; // not a plain Certificate SEQUENCE
    try {
      certificates.push(embedCertificate(new Certificate({ schema: raw }), raw.valueBeforeDecodeView));
    } catch {
      // An undecodable certificate cannot be the signer or a chain link; skip it.
    }
  }
  return { signedData, certificates };
}
