/**
 * The digest algorithms an Authenticode signature can name, by OID (RFC 3279, RFC 5758,
 * RFC 8017), with the names node:crypto uses for them. MD5 appears in very old signatures:
 * its digests are still computed (an image digest can be compared), but a signature made
 * with it is not accepted as verifying (collisions are practical).
 */
export interface DigestAlgorithm {
  /** Name used in results: md5, sha1, sha256, sha384, sha512. */
  name: string;
  oid: string;
  /** node:crypto createHash name. */
  node: string;
  /** Whether a signature over this digest can verify (false for MD5). */
  verifiable: boolean;
  size: number;
}

const ALGORITHMS: readonly DigestAlgorithm[] = [
  { name: 'md5', oid: '1.2.840.113549.2.5', node: 'md5', verifiable: false, size: 16 },
  { name: 'sha1', oid: '1.3.14.3.2.26', node: 'sha1', verifiable: true, size: 20 },
  { name: 'sha256', oid: '2.16.840.1.101.3.4.2.1', node: 'sha256', verifiable: true, size: 32 },
  { name: 'sha384', oid: '2.16.840.1.101.3.4.2.2', node: 'sha384', verifiable: true, size: 48 },
  { name: 'sha512', oid: '2.16.840.1.101.3.4.2.3', node: 'sha512', verifiable: true, size: 64 },
];

export function digestAlgorithmByOid(oid: string): DigestAlgorithm | undefined {
  return ALGORITHMS.find((a) => a.oid === oid);
}

export function digestAlgorithmByName(name: string): DigestAlgorithm | undefined {
  return ALGORITHMS.find((a) => a.name === name);
}
