/**
 * Authenticode signatures inside one PKCS#7 blob: the primary SignedData and the signatures
 * nested in its SignerInfo's unsigned attribute 1.3.6.1.4.1.311.2.4.1 (how a file carries a
 * SHA-1 and a SHA-256 signature at once: `signtool /as`, `osslsigncode -nest`), each
 * checked against the image digest computed from the file:
 *  1. SpcIndirectDataContent's digest equals the image digest (the file is unchanged);
 *  2. the SignerInfo's message-digest attribute covers SpcIndirectDataContent and the
 *     signer's signature over the authenticated attributes verifies;
 *  3. the signer's chain is built from the embedded certificates;
 *  4. the timestamp (RFC 3161 or legacy countersignature) covers the signature.
 *
 * Parsing (`parseAuthenticodeSignatures`) is separate from checking
 * (`checkAuthenticodeSignature`) because the digest algorithms the signatures name must be
 * known before the file is hashed, in one pass, for all of them.
 */
import type { SignatureEntry } from '../../shared/signature.js';
import { buildChain } from './certificate-chain.js';
import { summarizeCertificate, type EmbeddedCertificate } from './certificate-summary.js';
import { decodeDer, parseSignedDataContentInfo, SignatureFormatError, type SignedData } from './cms-signed-data.js';
import type { DerElement } from './der.js';
import { asn1Time, checkSigner, OID_SIGNING_TIME, signedAttribute, unsignedAttributeValues } from './cms-signer.js';
import { verifyTimestamp } from './authenticode-timestamp.js';
import { digestAlgorithmByOid } from './digest-algorithms.js';
import { OID_SPC_INDIRECT_DATA, OID_SPC_PE_IMAGE_DATA, parseSpcIndirectData, programName, type SpcIndirectData } from './spc-indirect-data.js';

export const OID_NESTED_SIGNATURE = '1.3.6.1.4.1.311.2.4.1';
/** Bounds on hostile input: Windows itself reads one level of nesting. */
export const MAX_NESTING_DEPTH = 4;
export const MAX_SIGNATURES = 16;

export interface ParsedAuthenticodeSignature {
  index: number;
  nestedIn?: number;
  signedData?: SignedData;
  certificates: EmbeddedCertificate[];
  content?: SpcIndirectData;
  /** Why this signature could not be parsed (the others may still be checked). */
  error?: string;
}

export interface ParsedAuthenticode {
  signatures: ParsedAuthenticodeSignature[];
  /** Set when even the primary signature cannot be decoded. */
  error?: string;
}

function parseOne(element: DerElement, index: number, nestedIn: number | undefined): ParsedAuthenticodeSignature {
  const what = index === 0 ? 'the signature' : `nested signature #${index}`;
  const sig: ParsedAuthenticodeSignature = { index, certificates: [] };
  if (nestedIn !== undefined) sig.nestedIn = nestedIn;
  try {
    const { signedData, certificates } = parseSignedDataContentInfo(element, what);
    sig.signedData = signedData;
    sig.certificates = certificates;
    if (signedData.eContentType !== OID_SPC_INDIRECT_DATA) {
      throw new SignatureFormatError(`${what} signs ${signedData.eContentType}, not SpcIndirectDataContent`);
    }
    sig.content = parseSpcIndirectData(signedData.eContent);
  } catch (err) {
    sig.error = err instanceof SignatureFormatError ? err.message : `${what} is malformed: ${(err as Error).message}`;
  }
  return sig;
}

export function parseAuthenticodeSignatures(der: Uint8Array): ParsedAuthenticode {
  let root: DerElement;
  try {
    root = decodeDer(der, 'the PKCS#7 blob');
  } catch (err) {
    return { signatures: [], error: (err as Error).message };
  }
  const signatures: ParsedAuthenticodeSignature[] = [];
  const queue: { element: DerElement; nestedIn?: number; depth: number }[] = [{ element: root, depth: 0 }];
  while (queue.length && signatures.length < MAX_SIGNATURES) {
    const next = queue.shift()!;
    const sig = parseOne(next.element, signatures.length, next.nestedIn);
    signatures.push(sig);
    const signerInfo = sig.signedData?.signerInfos[0];
    if (!signerInfo || next.depth >= MAX_NESTING_DEPTH) continue;
    for (const nested of unsignedAttributeValues(signerInfo, OID_NESTED_SIGNATURE)) {
      queue.push({ element: nested, nestedIn: sig.index, depth: next.depth + 1 });
    }
  }
  const primary = signatures[0];
  if (!primary || (primary.error && !primary.signedData)) return { signatures, error: primary?.error ?? 'no signature' };
  return { signatures };
}

/** The digest algorithms (node:crypto names) the parsed signatures need the image hashed with. */
export function requiredDigests(parsed: ParsedAuthenticode): string[] {
  const names = new Set<string>();
  for (const s of parsed.signatures) {
    const alg = s.content && digestAlgorithmByOid(s.content.digestAlgorithmOid);
    if (alg) names.add(alg.node);
  }
  return [...names];
}

export interface CheckContext {
  /**
   * Image digests by node:crypto algorithm name. May be a promise: the signer, chain and
   * timestamp checks do not depend on the file's digest, so the verifier runs them while
   * the file is still being hashed and compares digests last.
   */
  imageDigests: ReadonlyMap<string, Buffer> | Promise<ReadonlyMap<string, Buffer>>;
  now: Date;
}

export async function checkAuthenticodeSignature(sig: ParsedAuthenticodeSignature, ctx: CheckContext): Promise<SignatureEntry> {
  const entry: SignatureEntry = {
    index: sig.index,
    digestAlgorithm: 'unknown',
    digestMatches: false,
    signatureValid: false,
    chain: { status: 'incomplete', certificates: [] },
    problems: [],
  };
  if (sig.nestedIn !== undefined) entry.nestedIn = sig.nestedIn;
  const signerInfo = sig.signedData?.signerInfos[0];
  if (sig.error || !sig.content || !signerInfo) {
    entry.problems.push(sig.error ?? 'the signature is malformed');
    return entry;
  }
  if ((sig.signedData?.signerInfos.length ?? 0) > 1) entry.problems.push('the signature has more than one SignerInfo; only the first is checked');
  const { content } = sig;
  if (content.dataType !== OID_SPC_PE_IMAGE_DATA) entry.problems.push(`the signed data type is ${content.dataType}, not SpcPeImageData`);
  entry.signedDigest = Buffer.from(content.digest).toString('hex');
  const alg = digestAlgorithmByOid(content.digestAlgorithmOid);
  if (!alg) {
    entry.digestAlgorithm = content.digestAlgorithmOid;
    entry.problems.push(`unsupported image digest algorithm ${content.digestAlgorithmOid}`);
  } else {
    entry.digestAlgorithm = alg.name;
  }
  // The digest problem, if any, is listed here (first), though it is known only at the end.
  const digestProblemAt = entry.problems.length;

  const check = checkSigner(signerInfo, sig.certificates, content.signedBytes, OID_SPC_INDIRECT_DATA);
  entry.signatureValid = check.signatureValid && check.messageDigestMatches;
  entry.problems.push(...check.problems);
  const signingTime = asn1Time(signedAttribute(signerInfo, OID_SIGNING_TIME)?.[0]);
  if (signingTime) entry.signingTime = signingTime.toISOString();
  const name = programName(signerInfo);
  if (name) entry.programName = name;

  const timestamp = verifyTimestamp(signerInfo, sig.certificates);
  if (timestamp) entry.timestamp = timestamp;
  if (check.signer) {
    entry.signer = summarizeCertificate(check.signer);
    const at = timestamp?.verified && timestamp.time ? new Date(timestamp.time) : ctx.now;
    entry.chain = buildChain(check.signer, sig.certificates, at);
    // An issuer missing from the signature is normal (publishers rarely embed the root);
    // only a link that fails to verify is a problem of the signature.
    if (entry.chain.status === 'invalid') entry.problems.push(`certificate chain: ${entry.chain.problem}`);
    if (entry.chain.timeValid === false) entry.problems.push(`a certificate of the chain was not valid at ${entry.chain.checkedAt}`);
  }
  if (timestamp?.problem) entry.problems.push(`timestamp: ${timestamp.problem}`);

  const computed = alg && (await ctx.imageDigests).get(alg.node);
  if (computed) {
    entry.computedDigest = computed.toString('hex');
    entry.digestMatches = computed.equals(Buffer.from(content.digest));
    if (!entry.digestMatches) entry.problems.splice(digestProblemAt, 0, 'the file was changed after it was signed (image digest differs)');
  }
  return entry;
}
