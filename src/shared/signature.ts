/**
 * The result of verifying one file's code signature: Authenticode on Windows binaries
 * (verified in pure TypeScript on any OS), Apple code signing on macOS (through codesign
 * and spctl). Embedded in scan reports sent to the backend and shown in the status window,
 * so it is defined once here with zod and is plain JSON (no Dates, Buffers or bigints).
 *
 * docs/SIGNING.md explains every status and flag.
 */
import { z } from 'zod';

/**
 * valid:           every signature's signed digest matches the file and every signer's
 *                  signature (and its certificate chain links) verifies. Say nothing about
 *                  OS trust (see `osTrust`) or smuggled data (see `flags`).
 * digest-mismatch: a signature is intact but the file changed after it was signed.
 * bad-signature:   a signer's signature, its message-digest attribute, or a certificate
 *                  chain link does not verify.
 * unsigned:        the file has no signature.
 * malformed:       the signature structures are broken (certificate table, PKCS#7).
 * unsupported:     not a format we verify (not a PE file) or an algorithm we do not know.
 * unreadable:      the file could not be read (missing, permission denied, not a file).
 */
export const SignatureStatusSchema = z.enum([
  'valid',
  'digest-mismatch',
  'bad-signature',
  'unsigned',
  'malformed',
  'unsupported',
  'unreadable',
]);
export type SignatureStatus = z.infer<typeof SignatureStatusSchema>;

/** One certificate as people and pack rules refer to it. Apple's codesign gives only names. */
export const CertificateSummarySchema = z.object({
  /** Distinguished name, most specific first as Windows shows it: "CN=3CX Ltd, O=3CX Ltd, C=GB". */
  subject: z.string(),
  commonName: z.string().optional(),
  issuer: z.string().optional(),
  /** Serial number, lowercase hex without separators or leading zero bytes. */
  serial: z.string().optional(),
  /** Thumbprints: hashes of the DER certificate, lowercase hex. */
  sha1: z.string().optional(),
  sha256: z.string().optional(),
  notBefore: z.iso.datetime().optional(),
  notAfter: z.iso.datetime().optional(),
  selfSigned: z.boolean().optional(),
});
export type CertificateSummary = z.infer<typeof CertificateSummarySchema>;

/**
 * complete:   each link verified up to a self-signed root found in the signature itself
 *             (whether that root is trusted is the OS adapter's question);
 * incomplete: the links found verify, but an issuer is not embedded (common: publishers
 *             rarely embed the root);
 * invalid:    a certificate's signature does not verify with its issuer's key.
 */
export const ChainSchema = z.object({
  status: z.enum(['complete', 'incomplete', 'invalid']),
  /** Leaf (the signer) first. */
  certificates: z.array(CertificateSummarySchema),
  /** The time the validity periods were checked at: the timestamp if verified, else now. */
  checkedAt: z.iso.datetime().optional(),
  /** Every certificate of the chain was within its validity period at checkedAt. */
  timeValid: z.boolean().optional(),
  problem: z.string().optional(),
});
export type Chain = z.infer<typeof ChainSchema>;

export const TimestampSchema = z.object({
  /** rfc3161: unsigned attribute 1.3.6.1.4.1.311.3.3.1; countersignature: 1.2.840.113549.1.9.6. */
  kind: z.enum(['rfc3161', 'countersignature']),
  time: z.iso.datetime().optional(),
  /** The time as the tool printed it, when it came from a tool (codesign). */
  text: z.string().optional(),
  signer: CertificateSummarySchema.optional(),
  digestAlgorithm: z.string().optional(),
  /** The stamp covers this signature and the time-stamping authority's signature verifies. */
  verified: z.boolean(),
  problem: z.string().optional(),
});
export type Timestamp = z.infer<typeof TimestampSchema>;

export const SignatureEntrySchema = z.object({
  /** 0 is the primary signature; nested signatures follow in the order they are found. */
  index: z.number().int().nonnegative(),
  /** Index of the signature whose unsigned attribute 1.3.6.1.4.1.311.2.4.1 carries this one. */
  nestedIn: z.number().int().nonnegative().optional(),
  /** sha1, sha256, sha384, sha512, md5, or the OID when unknown. */
  digestAlgorithm: z.string(),
  /** The digest the signature covers (Authenticode image digest; macOS CDHash), hex. */
  signedDigest: z.string().optional(),
  /** The digest computed from the file now, hex (Authenticode only). */
  computedDigest: z.string().optional(),
  digestMatches: z.boolean(),
  /** The signer's signature over the authenticated attributes and the message-digest attribute verify. */
  signatureValid: z.boolean(),
  signer: CertificateSummarySchema.optional(),
  teamId: z.string().optional(),
  chain: ChainSchema,
  timestamp: TimestampSchema.optional(),
  /** The signer's own claimed signing time (authenticated attribute), not a trusted time. */
  signingTime: z.iso.datetime().optional(),
  /** SpcSpOpusInfo program name, when the publisher set one. */
  programName: z.string().optional(),
  problems: z.array(z.string()),
});
export type SignatureEntry = z.infer<typeof SignatureEntrySchema>;

export const SignatureFlagsSchema = z.object({
  /** Bytes inside the certificate table beyond the PKCS#7 blob and its 8-byte padding (CVE-2013-3900; the 3CX d3dcompiler_47.dll). */
  extraDataInCertificateTable: z.boolean(),
  /** Bytes after the certificate table (it should be the end of the file). */
  dataAfterCertificateTable: z.boolean(),
  /** More than one WIN_CERTIFICATE entry; Windows verifies only the first PKCS#7 one. */
  multipleCertificateEntries: z.boolean(),
  /** macOS ad-hoc signature: a hash seal with no signer identity. */
  adHoc: z.boolean(),
});
export type SignatureFlags = z.infer<typeof SignatureFlagsSchema>;

export const ExtraDataSchema = z.object({
  location: z.enum(['certificate-table', 'after-certificate-table']),
  offset: z.number().int().nonnegative(),
  length: z.number().int().nonnegative(),
  /** SHA-256 of the bytes, for matching a known payload. */
  sha256: z.string().optional(),
});
export type ExtraData = z.infer<typeof ExtraDataSchema>;

/** What the operating system says about the same file, when an adapter asked it. */
export const OsTrustSchema = z.object({
  source: z.enum(['windows-authenticode', 'macos-gatekeeper']),
  /** The OS accepts the signature (Windows: Status Valid; macOS: spctl accepted). */
  trusted: z.boolean(),
  /** The OS's own status word (Valid, HashMismatch, NotTrusted...; accepted, rejected). */
  status: z.string(),
  message: z.string().optional(),
  signerSubject: z.string().optional(),
  signerThumbprint: z.string().optional(),
  /** The check does not apply to this kind of file (e.g. spctl on a library). */
  notApplicable: z.boolean().optional(),
});
export type OsTrust = z.infer<typeof OsTrustSchema>;

export const AppleCodeSignatureSchema = z.object({
  identifier: z.string().optional(),
  format: z.string().optional(),
  cdHash: z.string().optional(),
  teamId: z.string().optional(),
  hardenedRuntime: z.boolean(),
  runtimeVersion: z.string().optional(),
  /** notarized: spctl accepted a notarized Developer ID; developer-id: accepted, not notarized. */
  notarization: z.enum(['notarized', 'developer-id', 'rejected', 'unknown']),
  /** codesign --verify's message (empty when it passed). */
  verifyMessage: z.string().optional(),
});
export type AppleCodeSignature = z.infer<typeof AppleCodeSignatureSchema>;

export const SignatureVerificationSchema = z.object({
  format: z.enum(['authenticode', 'apple-codesign', 'unknown']),
  path: z.string(),
  status: SignatureStatusSchema,
  flags: SignatureFlagsSchema,
  extraData: z.array(ExtraDataSchema),
  signatures: z.array(SignatureEntrySchema),
  apple: AppleCodeSignatureSchema.optional(),
  osTrust: OsTrustSchema.optional(),
  fileSize: z.number().int().nonnegative().optional(),
  /** What went wrong, for malformed, unsupported and unreadable results. */
  error: z.string().optional(),
});
export type SignatureVerification = z.infer<typeof SignatureVerificationSchema>;
