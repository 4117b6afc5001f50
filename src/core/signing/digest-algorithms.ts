/**
 * The digest algorithms an Authenticode signature can name, by OID (RFC 3279, RFC 5758,
 * RFC 8017), with the names node:crypto and WebCrypto use for them. MD5 appears in very
 * old signatures; node:crypto can still compute it, WebCrypto cannot verify with it.
 */
export interface DigestAlgorithm {
  /** Name used in results: md5, sha1, sha256, sha384, sha512. */
  name: string;
  oid: string;
  /** node:crypto createHash name. */
  node: string;
  /** WebCrypto name, when WebCrypto supports it. */
  webCrypto?: string;
  size: number;
}

const ALGORITHMS: readonly DigestAlgorithm[] = [
  { name: 'md5', oid: '1.2.840.113549.2.5', node: 'md5', size: 16 },
  { name: 'sha1', oid: '1.3.14.3.2.26', node: 'sha1', webCrypto: 'SHA-1', size: 20 },
  { name: 'sha256', oid: '2.16.840.1.101.3.4.2.1', node: 'sha256', webCrypto: 'SHA-256', size: 32 },
  { name: 'sha384', oid: '2.16.840.1.101.3.4.2.2', node: 'sha384', webCrypto: 'SHA-384', size: 48 },
  { name: 'sha512', oid: '2.16.840.1.101.3.4.2.3', node: 'sha512', webCrypto: 'SHA-512', size: 64 },
];

export function digestAlgorithmByOid(oid: string): DigestAlgorithm | undefined {
  return ALGORITHMS.find((a) => a.oid === oid);
}

export function digestAlgorithmByName(name: string): DigestAlgorithm | undefined {
  return ALGORITHMS.find((a) => a.name === name);
}
