/**
 * Authenticode timestamps, which prove a signature existed at a time (so it stays valid
 * after the signing certificate expires). Two forms, both unsigned attributes of the
 * signature's SignerInfo:
 *  - RFC 3161 (Microsoft OID 1.3.6.1.4.1.311.3.3.1): a ContentInfo/SignedData token whose
 *    TSTInfo messageImprint is the digest of the countersigned signature value;
 *  - legacy countersignature (PKCS#9 1.2.840.113549.1.9.6): a SignerInfo whose
 *    message-digest attribute is the digest of the signature value, signed by a
 *    certificate embedded in the outer SignedData, its time in the signing-time attribute.
 */
import { createHash } from 'node:crypto';
import * as asn1js from 'asn1js';
import { SignerInfo, TSTInfo, type CryptoEngine } from 'pkijs';
import type { Timestamp } from '../../shared/signature.js';
import { summarizeCertificate, type EmbeddedCertificate } from './certificate-summary.js';
import { parseSignedDataContentInfo } from './cms-signed-data.js';
import { asn1Time, checkSigner, OID_SIGNING_TIME, signedAttribute, unsignedAttributeValues } from './cms-signer.js';
import { digestAlgorithmByOid } from './digest-algorithms.js';

export const OID_RFC3161_TIMESTAMP = '1.3.6.1.4.1.311.3.3.1';
export const OID_COUNTERSIGNATURE = '1.2.840.113549.1.9.6';
export const OID_TSTINFO = '1.2.840.113549.1.9.16.1.4';

function octetStringBytes(el: asn1js.AsnType | undefined): Uint8Array | undefined {
  if (!(el instanceof asn1js.OctetString)) return undefined;
  if (!el.idBlock.isConstructed) return el.valueBlock.valueHexView;
  return new Uint8Array(el.getValue()); // constructed (BER) octet string: concatenated
}

async function rfc3161(engine: CryptoEngine, token: unknown, signatureValue: Uint8Array): Promise<Timestamp> {
  const ts: Timestamp = { kind: 'rfc3161', verified: false };
  try {
    const { signedData, certificates } = parseSignedDataContentInfo(token as asn1js.AsnType, 'the RFC 3161 timestamp token');
    if (signedData.encapContentInfo.eContentType !== OID_TSTINFO) {
      ts.problem = `the timestamp token holds ${signedData.encapContentInfo.eContentType}, not TSTInfo`;
      return ts;
    }
    const tstBytes = octetStringBytes(signedData.encapContentInfo.eContent as asn1js.AsnType | undefined);
    if (!tstBytes) {
      ts.problem = 'the timestamp token has no TSTInfo';
      return ts;
    }
    const tst = TSTInfo.fromBER(new Uint8Array(tstBytes));
    if (!Number.isNaN(tst.genTime.getTime())) ts.time = tst.genTime.toISOString();
    const imprintAlg = digestAlgorithmByOid(tst.messageImprint.hashAlgorithm.algorithmId);
    const problems: string[] = [];
    let imprintOk = false;
    if (!imprintAlg) problems.push(`unsupported timestamp imprint algorithm ${tst.messageImprint.hashAlgorithm.algorithmId}`);
    else {
      ts.digestAlgorithm = imprintAlg.name;
      const expected = createHash(imprintAlg.node).update(signatureValue).digest();
      imprintOk = expected.equals(Buffer.from(tst.messageImprint.hashedMessage.valueBlock.valueHexView));
      if (!imprintOk) problems.push('the timestamp does not cover this signature (message imprint differs)');
    }
    const signerInfo = signedData.signerInfos[0]!;
    const check = await checkSigner(engine, signerInfo, certificates, tstBytes, OID_TSTINFO);
    if (check.signer) ts.signer = summarizeCertificate(check.signer);
    problems.push(...check.problems);
    ts.verified = imprintOk && check.messageDigestMatches && check.signatureValid;
    if (problems.length) ts.problem = problems.join('; ');
  } catch (err) {
    ts.problem = `the timestamp token is malformed: ${(err as Error).message}`;
  }
  return ts;
}

async function countersignature(
  engine: CryptoEngine,
  value: unknown,
  signatureValue: Uint8Array,
  outerCertificates: readonly EmbeddedCertificate[],
): Promise<Timestamp> {
  const ts: Timestamp = { kind: 'countersignature', verified: false };
  try {
    const counter = new SignerInfo({ schema: value as asn1js.AsnType });
    const time = asn1Time(signedAttribute(counter, OID_SIGNING_TIME)?.[0]);
    if (time) ts.time = time.toISOString();
    const check = await checkSigner(engine, counter, outerCertificates, signatureValue);
    if (check.digestAlgorithm) ts.digestAlgorithm = check.digestAlgorithm.name;
    if (check.signer) ts.signer = summarizeCertificate(check.signer);
    ts.verified = check.messageDigestMatches && check.signatureValid;
    if (!time) check.problems.push('the countersignature has no signing time');
    if (check.problems.length) ts.problem = check.problems.join('; ');
  } catch (err) {
    ts.problem = `the countersignature is malformed: ${(err as Error).message}`;
  }
  return ts;
}

/** The signature's timestamp, RFC 3161 preferred; undefined when it has none. */
export async function verifyTimestamp(
  engine: CryptoEngine,
  signerInfo: SignerInfo,
  outerCertificates: readonly EmbeddedCertificate[],
): Promise<Timestamp | undefined> {
  const signatureValue = signerInfo.signature.valueBlock.valueHexView;
  const token = unsignedAttributeValues(signerInfo, OID_RFC3161_TIMESTAMP)[0];
  if (token !== undefined) return rfc3161(engine, token, signatureValue);
  const counter = unsignedAttributeValues(signerInfo, OID_COUNTERSIGNATURE)[0];
  if (counter !== undefined) return countersignature(engine, counter, signatureValue, outerCertificates);
  return undefined;
}
