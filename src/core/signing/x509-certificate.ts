/**
 * X.509 certificates (RFC 5280 4.1) as a signature embeds them, read with der.ts: the
 * fields the verifier uses, each a view of the certificate's own bytes (the signed
 * tbsCertificate, the issuer and subject Names, the SubjectPublicKeyInfo handed to
 * node:crypto as it is).
 *
 *   Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm AlgorithmIdentifier, signatureValue BIT STRING }
 *   TBSCertificate ::= SEQUENCE { version [0] EXPLICIT INTEGER DEFAULT v1, serialNumber INTEGER,
 *     signature AlgorithmIdentifier, issuer Name, validity SEQUENCE { notBefore Time, notAfter Time },
 *     subject Name, subjectPublicKeyInfo SEQUENCE, issuerUniqueID [1] IMPLICIT OPTIONAL,
 *     subjectUniqueID [2] IMPLICIT OPTIONAL, extensions [3] EXPLICIT SEQUENCE OF Extension OPTIONAL }
 */
import {
  bitStringBytes,
  children,
  integerBytes,
  isContext,
  isUniversal,
  octetString,
  oid,
  readDer,
  sequence,
  TAG,
  time,
  type DerElement,
} from './der.js';
import { SignatureFormatError } from './signature-format-error.js';

export interface AlgorithmIdentifier {
  oid: string;
  /** The parameters element, when present (NULL included). */
  params?: DerElement;
}

export interface NameAttribute {
  oid: string;
  value: DerElement;
}

export interface X509Name {
  /** The Name's DER (SEQUENCE OF RelativeDistinguishedName). */
  der: Uint8Array;
  /** Every AttributeTypeAndValue, in encoded order, RDN sets flattened. */
  attributes: NameAttribute[];
}

export interface Extension {
  oid: string;
  critical: boolean;
  /** The extnValue OCTET STRING's content: the extension's own DER. */
  value: Uint8Array;
}

export interface X509Certificate {
  der: Uint8Array;
  /** tbsCertificate as encoded: what the issuer signed. */
  tbs: Uint8Array;
  /** The serial number's two's-complement content octets. */
  serial: Uint8Array;
  signatureAlgorithm: AlgorithmIdentifier;
  signature: Uint8Array;
  issuer: X509Name;
  subject: X509Name;
  /** Undefined when the encoded time is not an RFC 5280 time. */
  notBefore?: Date;
  notAfter?: Date;
  /** SubjectPublicKeyInfo DER, for createPublicKey({ format: 'der', type: 'spki' }). */
  spki: Uint8Array;
  /** The subjectPublicKey BIT STRING's bits (what a key identifier hashes). */
  publicKeyBits: Uint8Array;
  extensions: Extension[];
}

export function algorithmIdentifier(el: DerElement | undefined, what: string): AlgorithmIdentifier {
  const [id, params, extra] = sequence(el, what);
  if (extra) throw new SignatureFormatError(`${what} has more than an algorithm and its parameters`);
  const alg: AlgorithmIdentifier = { oid: oid(id, `${what} algorithm`) };
  if (params) alg.params = params;
  return alg;
}

export function parseName(el: DerElement | undefined, what: string): X509Name {
  const attributes: NameAttribute[] = [];
  for (const rdn of sequence(el, what)) {
    for (const atv of sequence(rdn, `${what} RDN`, TAG.SET)) {
      const [type, value, extra] = sequence(atv, `${what} attribute`);
      if (!value || extra) throw new SignatureFormatError(`${what}: an attribute is not a type and one value`);
      attributes.push({ oid: oid(type, `${what} attribute type`), value });
    }
  }
  return { der: el!.bytes, attributes };
}

function parseExtensions(el: DerElement, what: string): Extension[] {
  const [list, extra] = children(el, what);
  if (extra) throw new SignatureFormatError(`${what}: more than one element in [3]`);
  return sequence(list, what).map((ext) => {
    const parts = sequence(ext, `${what} entry`);
    const id = oid(parts[0], `${what} entry id`);
    let i = 1;
    let critical = false;
    if (isUniversal(parts[i], TAG.BOOLEAN)) {
      critical = parts[i]!.content[0] !== 0;
      i++;
    }
    const value = octetString(parts[i], `${what} ${id} value`);
    if (parts.length > i + 1) throw new SignatureFormatError(`${what} ${id} has trailing elements`);
    return { oid: id, critical, value };
  });
}

/** Reads a Certificate; `el` is its element (re-read as strict DER from its own bytes). */
export function parseCertificate(el: DerElement): X509Certificate {
  const what = `the certificate at offset ${el.offset}`;
  const strict = readDer(el.bytes, what, { offset: el.offset });
  const [tbsEl, sigAlgEl, sigEl, extra] = sequence(strict, what);
  if (!tbsEl || extra) throw new SignatureFormatError(`${what} is not tbsCertificate, signatureAlgorithm and signatureValue`);
  const tbs = sequence(tbsEl, `${what} tbsCertificate`);
  let i = 0;
  if (isContext(tbs[0], 0)) i++; // version
  const serial = integerBytes(tbs[i++], `${what} serialNumber`);
  algorithmIdentifier(tbs[i++], `${what} tbsCertificate signature`);
  const issuer = parseName(tbs[i++], `${what} issuer`);
  const validity = sequence(tbs[i++], `${what} validity`);
  if (validity.length !== 2) throw new SignatureFormatError(`${what} validity is not notBefore and notAfter`);
  const subject = parseName(tbs[i++], `${what} subject`);
  const spkiEl = tbs[i++];
  const [keyAlg, keyBits] = sequence(spkiEl, `${what} subjectPublicKeyInfo`);
  algorithmIdentifier(keyAlg, `${what} subjectPublicKeyInfo algorithm`);
  const publicKeyBits = bitStringBytes(keyBits, `${what} subjectPublicKey`);
  let extensions: Extension[] = [];
  for (; i < tbs.length; i++) {
    const item = tbs[i]!;
    if (isContext(item, 3)) extensions = parseExtensions(item, `${what} extensions`);
    else if (!isContext(item, 1) && !isContext(item, 2)) throw new SignatureFormatError(`${what} tbsCertificate has an unexpected element at offset ${(item as DerElement).offset}`);
  }
  const cert: X509Certificate = {
    der: strict.bytes,
    tbs: tbsEl.bytes,
    serial,
    signatureAlgorithm: algorithmIdentifier(sigAlgEl, `${what} signatureAlgorithm`),
    signature: bitStringBytes(sigEl, `${what} signatureValue`),
    issuer,
    subject,
    spki: spkiEl!.bytes,
    publicKeyBits,
    extensions,
  };
  const notBefore = time(validity[0]);
  const notAfter = time(validity[1]);
  if (notBefore) cert.notBefore = notBefore;
  if (notAfter) cert.notAfter = notAfter;
  return cert;
}

const OID_SUBJECT_KEY_IDENTIFIER = '2.5.29.14';

/** The subjectKeyIdentifier extension's key identifier, if present and well-formed. */
export function subjectKeyIdentifier(cert: X509Certificate): Uint8Array | undefined {
  const ext = cert.extensions.find((e) => e.oid === OID_SUBJECT_KEY_IDENTIFIER);
  if (!ext) return undefined;
  try {
    return octetString(readDer(ext.value, 'the subject key identifier'), 'the subject key identifier');
  } catch {
    return undefined;
  }
}
