/**
 * Signature verification with node:crypto: a certificate's SubjectPublicKeyInfo as node
 * reads it (createPublicKey, DER SPKI) and crypto.verify. The algorithms are those
 * Authenticode signers and their CAs use, the ones the pkijs/WebCrypto code this replaced
 * accepted:
 *  - RSA PKCS#1 v1.5: sha1/sha256/sha384/sha512WithRSAEncryption, or rsaEncryption with
 *    the digest algorithm the SignerInfo names (how CMS signers usually write it);
 *  - RSASSA-PSS with its parameters (hash, default SHA-1; salt length, default 20; MGF1
 *    with the same hash, as WebCrypto assumed);
 *  - ECDSA with SHA-1/256/384/512 (the DER signature as CMS and X.509 carry it).
 * The key's type must fit the algorithm. Any failure is `false`, never a throw.
 */
import { constants, createPublicKey, verify, type KeyObject } from 'node:crypto';
import { children, isContext, isUniversal, sequence, smallInteger, TAG } from './der.js';
import type { DigestAlgorithm } from './digest-algorithms.js';
import { algorithmIdentifier, type AlgorithmIdentifier, type X509Certificate } from './x509-certificate.js';

const OID_RSA_ENCRYPTION = '1.2.840.113549.1.1.1';
const OID_RSASSA_PSS = '1.2.840.113549.1.1.10';

const RSA_PKCS1: Record<string, string> = {
  '1.2.840.113549.1.1.5': 'sha1',
  '1.2.840.113549.1.1.11': 'sha256',
  '1.2.840.113549.1.1.12': 'sha384',
  '1.2.840.113549.1.1.13': 'sha512',
};
const ECDSA: Record<string, string> = {
  '1.2.840.10045.4.1': 'sha1',
  '1.2.840.10045.4.3.2': 'sha256',
  '1.2.840.10045.4.3.3': 'sha384',
  '1.2.840.10045.4.3.4': 'sha512',
};
const PSS_HASHES: Record<string, string> = {
  '1.3.14.3.2.26': 'sha1',
  '2.16.840.1.101.3.4.2.1': 'sha256',
  '2.16.840.1.101.3.4.2.2': 'sha384',
  '2.16.840.1.101.3.4.2.3': 'sha512',
};

const keys = new WeakMap<X509Certificate, KeyObject | null>();

function publicKey(cert: X509Certificate): KeyObject | undefined {
  let key = keys.get(cert);
  if (key === undefined) {
    try {
      key = createPublicKey({ key: Buffer.from(cert.spki.buffer, cert.spki.byteOffset, cert.spki.byteLength), format: 'der', type: 'spki' });
    } catch {
      key = null;
    }
    keys.set(cert, key);
  }
  return key ?? undefined;
}

/** RSASSA-PSS-params (RFC 4055 3.1): hash and salt length; undefined when unusable. */
function pssParams(params: AlgorithmIdentifier['params']): { hash: string; saltLength: number } | undefined {
  let hash = 'sha1';
  let saltLength = 20;
  if (!params || isUniversal(params, TAG.NULL)) return { hash, saltLength };
  for (const field of sequence(params, 'the RSASSA-PSS parameters')) {
    if (isContext(field, 0)) {
      const h = PSS_HASHES[algorithmIdentifier(children(field, 'the RSASSA-PSS hash')[0], 'the RSASSA-PSS hash').oid];
      if (!h) return undefined;
      hash = h;
    } else if (isContext(field, 2)) {
      saltLength = smallInteger(children(field, 'the RSASSA-PSS salt length')[0], 'the RSASSA-PSS salt length');
    }
  }
  return { hash, saltLength };
}

function buf(b: Uint8Array): Buffer {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}

/**
 * Whether `signature` over `data` verifies with the certificate's key under `algorithm`.
 * `digest` is the SignerInfo's digest algorithm, used when the algorithm is plain
 * rsaEncryption (which names no hash).
 */
export function verifySignature(
  data: Uint8Array,
  signature: Uint8Array,
  signer: X509Certificate,
  algorithm: AlgorithmIdentifier,
  digest?: DigestAlgorithm,
): boolean {
  try {
    const key = publicKey(signer);
    if (!key) return false;
    const type = key.asymmetricKeyType;
    if (algorithm.oid === OID_RSA_ENCRYPTION) {
      if (!digest?.verifiable || type !== 'rsa') return false;
      return verify(digest.node, buf(data), key, buf(signature));
    }
    const rsaHash = RSA_PKCS1[algorithm.oid];
    if (rsaHash) return type === 'rsa' && verify(rsaHash, buf(data), key, buf(signature));
    const ecHash = ECDSA[algorithm.oid];
    if (ecHash) return type === 'ec' && verify(ecHash, buf(data), { key, dsaEncoding: 'der' }, buf(signature));
    if (algorithm.oid === OID_RSASSA_PSS) {
      if (type !== 'rsa' && type !== 'rsa-pss') return false;
      const pss = pssParams(algorithm.params);
      if (!pss) return false;
      return verify(pss.hash, buf(data), { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: pss.saltLength }, buf(signature));
    }
    return false;
  } catch {
    return false;
  }
}
