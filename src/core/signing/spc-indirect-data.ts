/**
 * Authenticode's signed content ("Windows Authenticode Portable Executable Signature
 * Format"):
 *
 *   SpcIndirectDataContent ::= SEQUENCE {
 *     data          SpcAttributeTypeAndOptionalValue,  -- SEQUENCE { type OID, value ANY OPTIONAL }
 *     messageDigest DigestInfo }                        -- SEQUENCE { AlgorithmIdentifier, OCTET STRING }
 *
 * messageDigest holds the PE image digest. The SignerInfo's message-digest attribute is the
 * digest of this SEQUENCE's content octets (without its tag and length), a quirk of
 * Authenticode's PKCS#7 v1.5 heritage.
 *
 * Also the SpcSpOpusInfo authenticated attribute (1.3.6.1.4.1.311.2.1.12), whose optional
 * programName is the description signers set (`signtool /d`, `osslsigncode -n`).
 */
import type { SignerInfo } from './cms-signed-data.js';
import { signedAttribute } from './cms-signer.js';
import { children, isContext, octetString, oid, readDer, sequence, stringValue, TAG_CLASS_CONTEXT, type DerElement } from './der.js';
import { SignatureFormatError } from './signature-format-error.js';

export const OID_SPC_INDIRECT_DATA = '1.3.6.1.4.1.311.2.1.4';
export const OID_SPC_PE_IMAGE_DATA = '1.3.6.1.4.1.311.2.1.15';
export const OID_SPC_SP_OPUS_INFO = '1.3.6.1.4.1.311.2.1.12';

export interface SpcIndirectData {
  /** SpcPeImageData (1.3.6.1.4.1.311.2.1.15) for PE files. */
  dataType: string;
  digestAlgorithmOid: string;
  digest: Uint8Array;
  /** The content octets the SignerInfo's message-digest attribute covers. */
  signedBytes: Uint8Array;
}

function sequenceOf(el: DerElement | undefined, what: string, problem: string): DerElement[] {
  try {
    return sequence(el, what);
  } catch (err) {
    throw new SignatureFormatError(`${problem}: ${(err as Error).message}`);
  }
}

/** `eContent` is the element inside the SignedData's eContent [0]; read here as strict DER. */
export function parseSpcIndirectData(eContent: DerElement | undefined): SpcIndirectData {
  if (!eContent) throw new SignatureFormatError('SpcIndirectDataContent is missing');
  const what = 'SpcIndirectDataContent';
  const el = readDer(eContent.bytes, what, { offset: eContent.offset });
  const top = sequenceOf(el, what, 'SpcIndirectDataContent is not a SEQUENCE of data and messageDigest');
  if (top.length < 2) throw new SignatureFormatError('SpcIndirectDataContent is not a SEQUENCE of data and messageDigest');
  let dataType: string;
  try {
    dataType = oid(sequence(top[0], `${what}.data`)[0], `${what}.data type`);
  } catch {
    throw new SignatureFormatError('SpcIndirectDataContent.data has no type');
  }
  let digestAlgorithmOid: string;
  let digest: Uint8Array;
  try {
    const digestInfo = sequence(top[1], `${what}.messageDigest`);
    digestAlgorithmOid = oid(sequence(digestInfo[0], `${what}.messageDigest algorithm`)[0], `${what}.messageDigest algorithm`);
    digest = octetString(digestInfo[1], `${what}.messageDigest digest`);
  } catch {
    throw new SignatureFormatError('SpcIndirectDataContent.messageDigest is not a DigestInfo');
  }
  return { dataType, digestAlgorithmOid, digest, signedBytes: el.content };
}

/** SpcString ::= CHOICE { unicode [0] IMPLICIT BMPString, ascii [1] IMPLICIT IA5String }. */
function spcString(el: DerElement | undefined): string | undefined {
  if (!el || el.tagClass !== TAG_CLASS_CONTEXT || el.constructed) return undefined;
  if (el.tagNumber === 1) return stringValue({ ...el, tagClass: 0, tagNumber: 22 });
  if (el.tagNumber !== 0) return undefined;
  return stringValue({ ...el, tagClass: 0, tagNumber: 30 });
}

/** The programName of SpcSpOpusInfo ::= SEQUENCE { programName [0] EXPLICIT SpcString OPTIONAL, ... }. */
export function programName(signerInfo: SignerInfo): string | undefined {
  try {
    const opus = sequence(signedAttribute(signerInfo, OID_SPC_SP_OPUS_INFO)?.[0], 'SpcSpOpusInfo');
    const wrapper = opus.find((el) => isContext(el, 0));
    const inner = wrapper?.constructed ? children(wrapper, 'SpcSpOpusInfo programName')[0] : undefined;
    const name = spcString(inner);
    return name?.replace(/\0+$/, '') || undefined;
  } catch {
    return undefined;
  }
}
