/**
 * The total length of the DER element at the start of a buffer, from its identifier and
 * length octets alone (X.690 8.1.2-8.1.3), so the verifier can learn how long a PKCS#7
 * blob is before reading it, and so where the bytes that follow it start. Indefinite
 * lengths (BER) and lengths beyond 2^48 are not DER and are reported as such.
 */
export type DerLength =
  | { ok: true; tag: number; headerLength: number; contentLength: number; totalLength: number }
  | { ok: false; reason: string };

export function derElementLength(head: Uint8Array): DerLength {
  if (head.length < 2) return { ok: false, reason: 'too short for a DER header' };
  const tag = head[0]!;
  if ((tag & 0x1f) === 0x1f) return { ok: false, reason: 'multi-byte tags are not expected here' };
  const first = head[1]!;
  if (first < 0x80) return { ok: true, tag, headerLength: 2, contentLength: first, totalLength: 2 + first };
  if (first === 0x80) return { ok: false, reason: 'indefinite length (BER, not DER)' };
  const n = first & 0x7f;
  if (n > 6) return { ok: false, reason: `length of ${n} octets is too large` };
  if (head.length < 2 + n) return { ok: false, reason: 'too short for its length octets' };
  let len = 0;
  for (let i = 0; i < n; i++) len = len * 256 + head[2 + i]!;
  return { ok: true, tag, headerLength: 2 + n, contentLength: len, totalLength: 2 + n + len };
}
