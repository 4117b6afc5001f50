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
import type { Timestamp } from '../../shared/signature.js';
import { summarizeCertificate, type EmbeddedCertificate } from './certificate-summary.js';
import { parseSignedDataContentInfo, parseSignerInfo, type SignerInfo } from './cms-signed-data.js';
import { asn1Time, checkSigner, OID_SIGNING_TIME, signedAttribute, unsignedAttributeValues } from './cms-signer.js';
import { isUniversal, octetString, readDer, sequence, TAG, time, type DerElement } from './der.js';
import { digestAlgorithmByOid } from './digest-algorithms.js';
import { SignatureFormatError } from './signature-format-error.js';
import { algorithmIdentifier } from './x509-certificate.js';

export const OID_RFC3161_TIMESTAMP = '1.3.6.1.4.1.311.3.3.1';
export const OID_COUNTERSIGNATURE = '1.2.840.113549.1.9.6';
export const OID_TSTINFO = '1.2.840.113549.1.9.16.1.4';

interface TstInfo {
  genTime?: Date;
  imprintAlgorithmOid: string;
  hashedMessage: Uint8Array;
}

/**
 * TSTInfo (RFC 3161 2.4.2), strict DER: SEQUENCE { version INTEGER, policy OID,
 * messageImprint SEQUENCE { hashAlgorithm AlgorithmIdentifier, hashedMessage OCTET STRING },
 * serialNumber INTEGER, genTime GeneralizedTime, ... }.
 */
function parseTstInfo(bytes: Uint8Array): TstInfo {
  const what = 'TSTInfo';
  const parts = sequence(readDer(bytes, what), what);
  if (!isUniversal(parts[0], TAG.INTEGER) || !isUniversal(parts[1], TAG.OID)) throw new SignatureFormatError('TSTInfo does not start with version and policy');
  const [alg, hashed] = sequence(parts[2], `${what} messageImprint`);
  if (!isUniversal(parts[3], TAG.INTEGER)) throw new SignatureFormatError('TSTInfo has no serialNumber');
  if (!isUniversal(parts[4], TAG.GENERALIZED_TIME)) throw new SignatureFormatError('TSTInfo has no genTime GeneralizedTime');
  const tst: TstInfo = {
    imprintAlgorithmOid: algorithmIdentifier(alg, `${what} messageImprint hashAlgorithm`).oid,
    hashedMessage: octetString(hashed, `${what} messageImprint hashedMessage`),
  };
  const genTime = time(parts[4]);
  if (genTime) tst.genTime = genTime;
  return tst;
}

function rfc3161(token: DerElement, signatureValue: Uint8Array): Timestamp {
  const ts: Timestamp = { kind: 'rfc3161', verified: false };
  try {
    const { signedData, certificates } = parseSignedDataContentInfo(token, 'the RFC 3161 timestamp token');
    if (signedData.eContentType !== OID_TSTINFO) {
      ts.problem = `the timestamp token holds ${signedData.eContentType}, not TSTInfo`;
      return ts;
    }
    const tstBytes = isUniversal(signedData.eContent, TAG.OCTET_STRING) ? octetString(signedData.eContent, 'the timestamp token eContent') : undefined;
    if (!tstBytes) {
      ts.problem = 'the timestamp token has no TSTInfo';
      return ts;
    }
    const tst = parseTstInfo(tstBytes);
    if (tst.genTime) ts.time = tst.genTime.toISOString();
    const imprintAlg = digestAlgorithmByOid(tst.imprintAlgorithmOid);
    const problems: string[] = [];
    let imprintOk = false;
    if (!imprintAlg) problems.push(`unsupported timestamp imprint algorithm ${tst.imprintAlgorithmOid}`);
    else {
      ts.digestAlgorithm = imprintAlg.name;
      const expected = createHash(imprintAlg.node).update(signatureValue).digest();
      imprintOk = expected.equals(tst.hashedMessage);
      if (!imprintOk) problems.push('the timestamp does not cover this signature (message imprint differs)');
    }
    const signerInfo = signedData.signerInfos[0]!;
    const check = checkSigner(signerInfo, certificates, tstBytes, OID_TSTINFO);
    if (check.signer) ts.signer = summarizeCertificate(check.signer);
    problems.push(...check.problems);
    ts.verified = imprintOk && check.messageDigestMatches && check.signatureValid;
    if (problems.length) ts.problem = problems.join('; ');
  } catch (err) {
    ts.problem = `the timestamp token is malformed: ${(err as Error).message}`;
  }
  return ts;
}

function countersignature(value: DerElement, signatureValue: Uint8Array, outerCertificates: readonly EmbeddedCertificate[]): Timestamp {
  const ts: Timestamp = { kind: 'countersignature', verified: false };
  try {
    const counter = parseSignerInfo(value, 'the countersignature');
    const time = asn1Time(signedAttribute(counter, OID_SIGNING_TIME)?.[0]);
    if (time) ts.time = time.toISOString();
    const check = checkSigner(counter, outerCertificates, signatureValue);
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
export function verifyTimestamp(signerInfo: SignerInfo, outerCertificates: readonly EmbeddedCertificate[]): Timestamp | undefined {
  const signatureValue = signerInfo.signature;
  const token = unsignedAttributeValues(signerInfo, OID_RFC3161_TIMESTAMP)[0];
  if (token !== undefined) return rfc3161(token, signatureValue);
  const counter = unsignedAttributeValues(signerInfo, OID_COUNTERSIGNATURE)[0];
  if (counter !== undefined) return countersignature(counter, signatureValue, outerCertificates);
  return undefined;
}
