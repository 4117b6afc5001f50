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
import * as asn1js from 'asn1js';
import type { SignerInfo } from 'pkijs';
import { SignatureFormatError } from './cms-signed-data.js';
import { signedAttribute } from './cms-signer.js';

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

function children(el: asn1js.AsnType | undefined): asn1js.AsnType[] | undefined {
  if (!el || !(el instanceof asn1js.Sequence)) return undefined;
  return el.valueBlock.value as asn1js.AsnType[];
}

export function parseSpcIndirectData(eContent: unknown): SpcIndirectData {
  const top = children(eContent as asn1js.AsnType);
  if (!top || top.length < 2) throw new SignatureFormatError('SpcIndirectDataContent is not a SEQUENCE of data and messageDigest');
  const data = children(top[0]);
  const digestInfo = children(top[1]);
  const dataType = data?.[0];
  if (!(dataType instanceof asn1js.ObjectIdentifier)) throw new SignatureFormatError('SpcIndirectDataContent.data has no type');
  const alg = children(digestInfo?.[0])?.[0];
  const digest = digestInfo?.[1];
  if (!(alg instanceof asn1js.ObjectIdentifier) || !(digest instanceof asn1js.OctetString)) {
    throw new SignatureFormatError('SpcIndirectDataContent.messageDigest is not a DigestInfo');
  }
  return {
    dataType: dataType.valueBlock.toString(),
    digestAlgorithmOid: alg.valueBlock.toString(),
    digest: digest.valueBlock.valueHexView,
    signedBytes: (eContent as asn1js.Sequence).valueBlock.valueBeforeDecodeView,
  };
}

/** SpcString ::= CHOICE { unicode [0] IMPLICIT BMPString, ascii [1] IMPLICIT IA5String }. */
function spcString(el: asn1js.AsnType | undefined): string | undefined {
  if (!el || el.idBlock.tagClass !== 3) return undefined;
  const bytes = (el.valueBlock as { valueHexView?: Uint8Array }).valueHexView;
  if (!bytes) return undefined;
  if (el.idBlock.tagNumber === 1) return Buffer.from(bytes).toString('latin1');
  if (el.idBlock.tagNumber !== 0) return undefined;
  const swapped = Buffer.from(bytes.subarray(0, bytes.length - (bytes.length % 2)));
  return swapped.swap16().toString('utf16le');
}

/** The programName of SpcSpOpusInfo ::= SEQUENCE { programName [0] EXPLICIT SpcString OPTIONAL, ... }. */
export function programName(signerInfo: SignerInfo): string | undefined {
  const opus = children(signedAttribute(signerInfo, OID_SPC_SP_OPUS_INFO)?.[0] as asn1js.AsnType | undefined);
  const wrapper = opus?.find((el) => el.idBlock.tagClass === 3 && el.idBlock.tagNumber === 0);
  const inner = (wrapper?.valueBlock as { value?: asn1js.AsnType[] } | undefined)?.value?.[0];
  const name = spcString(inner);
  return name?.replace(/\0+$/, '') || undefined;
}
