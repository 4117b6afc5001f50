/**
 * PKCS#7 / CMS SignedData (RFC 5652) as Authenticode uses it: a ContentInfo whose content
 * is SignedData, with the signer's certificates embedded, read with der.ts. Certificates
 * keep their exact DER bytes, because thumbprints are hashes of the bytes as embedded.
 *
 *   ContentInfo ::= SEQUENCE { contentType OID, content [0] EXPLICIT ANY }
 *   SignedData ::= SEQUENCE { version INTEGER, digestAlgorithms SET OF AlgorithmIdentifier,
 *     encapContentInfo SEQUENCE { eContentType OID, eContent [0] EXPLICIT ANY OPTIONAL },
 *     certificates [0] IMPLICIT SET OF CertificateChoices OPTIONAL,
 *     crls [1] IMPLICIT OPTIONAL, signerInfos SET OF SignerInfo }
 *   SignerInfo ::= SEQUENCE { version INTEGER, sid SignerIdentifier, digestAlgorithm,
 *     signedAttrs [0] IMPLICIT SET OF Attribute OPTIONAL, signatureAlgorithm,
 *     signature OCTET STRING, unsignedAttrs [1] IMPLICIT SET OF Attribute OPTIONAL }
 *   SignerIdentifier ::= CHOICE { IssuerAndSerialNumber, subjectKeyIdentifier [0] }
 *
 * The ContentInfo and SignedData wrappers are read BER-tolerant (indefinite lengths, which
 * some PKCS#7 producers and timestamping services write around the content); each
 * certificate and each SignerInfo's signed attributes are re-read as strict DER, since
 * their bytes are what is hashed and signed. Every structural problem is a SignatureFormatError naming what is
 * wrong.
 */
import { checkTree, children, integerBytes, isContext, isUniversal, oid, octetString, readDer, sequence, TAG, TAG_CLASS_UNIVERSAL, type DerElement } from './der.js';
import { embedCertificate, type EmbeddedCertificate } from './certificate-summary.js';
import { SignatureFormatError } from './signature-format-error.js';
import { algorithmIdentifier, parseCertificate, parseName, type AlgorithmIdentifier, type X509Name } from './x509-certificate.js';

export { SignatureFormatError } from './signature-format-error.js';

export const OID_SIGNED_DATA = '1.2.840.113549.1.7.2';

export interface Attribute {
  oid: string;
  values: DerElement[];
}

export type SignerIdentifier = { issuer: X509Name; serial: Uint8Array } | { keyId: Uint8Array };

export interface SignerInfo {
  sid: SignerIdentifier;
  digestAlgorithm: AlgorithmIdentifier;
  /** The authenticated attributes, and their DER re-tagged as SET OF (what is signed). */
  signedAttrs?: { attributes: Attribute[]; encoded: Uint8Array };
  signatureAlgorithm: AlgorithmIdentifier;
  signature: Uint8Array;
  unsignedAttrs: Attribute[];
}

export interface SignedData {
  eContentType: string;
  /** The element inside eContent's [0] EXPLICIT wrapper. */
  eContent?: DerElement;
  signerInfos: SignerInfo[];
}

export interface ParsedSignedData {
  signedData: SignedData;
  /** Embedded X.509 certificates (other certificate choices are skipped). */
  certificates: EmbeddedCertificate[];
}

/**
 * Decodes the element at the start of `bytes` (bytes after it are not looked at),
 * BER-tolerant, and checks the encoding of everything in it (der.ts checkTree).
 */
export function decodeDer(bytes: Uint8Array, what: string): DerElement {
  const root = readDer(bytes, what, { ber: true, allowTrailing: true });
  checkTree(root, what);
  return root;
}

function attributes(el: DerElement, what: string): Attribute[] {
  return children(el, what).map((a) => {
    const [type, values, extra] = sequence(a, `${what} attribute`);
    if (extra) throw new SignatureFormatError(`${what}: an attribute has more than a type and its values`);
    return { oid: oid(type, `${what} attribute type`), values: sequence(values, `${what} attribute values`, TAG.SET) };
  });
}

/**
 * Reads a SignerInfo element. Its signed attributes are re-read as strict DER from their
 * own bytes (they are what is signed); its unsigned attributes (timestamps, nested
 * signatures) are read as tolerantly as the element itself was.
 */
export function parseSignerInfo(el: DerElement, what: string): SignerInfo {
  const parts = sequence(el, what);
  let i = 1; // version
  if (!isUniversal(parts[0], TAG.INTEGER)) throw new SignatureFormatError(`${what} has no version`);
  const sidEl = parts[i++];
  let sid: SignerIdentifier;
  if (isContext(sidEl, 0)) {
    sid = { keyId: sidEl.constructed ? octetString(children(sidEl, `${what} sid`)[0], `${what} sid`) : sidEl.content };
  } else {
    const [issuer, serial, extra] = sequence(sidEl, `${what} issuerAndSerialNumber`);
    if (extra) throw new SignatureFormatError(`${what} issuerAndSerialNumber has extra elements`);
    sid = { issuer: parseName(issuer, `${what} issuer`), serial: integerBytes(serial, `${what} serialNumber`) };
  }
  const digestAlgorithm = algorithmIdentifier(parts[i++], `${what} digestAlgorithm`);
  let signedAttrs: SignerInfo['signedAttrs'];
  if (isContext(parts[i], 0)) {
    const el0 = readDer(parts[i]!.bytes, `${what} signed attributes`, { offset: parts[i]!.offset });
    i++;
    const encoded = Buffer.from(el0.bytes);
    encoded[0] = 0x31; // signed as a SET OF (RFC 5652 5.4)
    signedAttrs = { attributes: attributes(el0, `${what} signed attributes`), encoded };
  }
  const signatureAlgorithm = algorithmIdentifier(parts[i++], `${what} signatureAlgorithm`);
  const sigEl = parts[i++];
  if (!isUniversal(sigEl, TAG.OCTET_STRING) || sigEl.constructed) throw new SignatureFormatError(`${what} has no signature OCTET STRING`);
  let unsignedAttrs: Attribute[] = [];
  if (isContext(parts[i], 1)) unsignedAttrs = attributes(parts[i++]!, `${what} unsigned attributes`);
  if (i !== parts.length) throw new SignatureFormatError(`${what} has unexpected elements after its fields`);
  const info: SignerInfo = { sid, digestAlgorithm, signatureAlgorithm, signature: sigEl.content, unsignedAttrs };
  if (signedAttrs) info.signedAttrs = signedAttrs;
  return info;
}

/**
 * Parses a ContentInfo element (the top-level blob, a nested signature attribute value,
 * or an RFC 3161 token) holding SignedData.
 */
export function parseSignedDataContentInfo(element: DerElement, what: string): ParsedSignedData {
  const [typeEl, wrapper, extra] = sequence(element, `${what} ContentInfo`);
  const contentType = oid(typeEl, `${what} contentType`);
  if (contentType !== OID_SIGNED_DATA) throw new SignatureFormatError(`${what} holds content type ${contentType}, not SignedData`);
  if (!isContext(wrapper, 0) || extra) throw new SignatureFormatError(`${what} is not a PKCS#7 ContentInfo: no [0] content`);
  const [sdEl, extraContent] = children(wrapper, `${what} content`);
  if (extraContent) throw new SignatureFormatError(`${what} content holds more than one element`);
  const parts = sequence(sdEl, `${what} SignedData`);
  if (!isUniversal(parts[0], TAG.INTEGER)) throw new SignatureFormatError(`${what} SignedData has no version`);
  for (const alg of sequence(parts[1], `${what} digestAlgorithms`, TAG.SET)) algorithmIdentifier(alg, `${what} digestAlgorithms`);
  const encap = sequence(parts[2], `${what} encapContentInfo`);
  const eContentType = oid(encap[0], `${what} eContentType`);
  let eContent: DerElement | undefined;
  if (encap.length > 1) {
    if (!isContext(encap[1], 0) || encap.length > 2) throw new SignatureFormatError(`${what} eContent is not [0] EXPLICIT`);
    const inner = children(encap[1]!, `${what} eContent`);
    if (inner.length !== 1) throw new SignatureFormatError(`${what} eContent holds ${inner.length} elements, not one`);
    eContent = inner[0];
  }
  let i = 3;
  const certificates: EmbeddedCertificate[] = [];
  if (isContext(parts[i], 0)) {
    for (const raw of children(parts[i++]!, `${what} certificates`)) {
      if (raw.tagClass !== TAG_CLASS_UNIVERSAL || raw.tagNumber !== TAG.SEQUENCE) continue; // not a plain Certificate
      try {
        certificates.push(embedCertificate(parseCertificate(raw)));
      } catch {
        // An undecodable certificate cannot be the signer or a chain link; skip it.
      }
    }
  }
  if (isContext(parts[i], 1)) i++; // crls: not used
  const signerInfos = sequence(parts[i++], `${what} signerInfos`, TAG.SET).map((s, n) => parseSignerInfo(s, `${what} SignerInfo #${n + 1}`));
  if (i !== parts.length) throw new SignatureFormatError(`${what} SignedData has unexpected elements after signerInfos`);
  if (signerInfos.length === 0) throw new SignatureFormatError(`${what} has no SignerInfo`);
  const signedData: SignedData = { eContentType, signerInfos };
  if (eContent) signedData.eContent = eContent;
  return { signedData, certificates };
}
