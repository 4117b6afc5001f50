/**
 * Hand-assembles binary plists for tests that need bytes no correct writer produces
 * (cycles, bad trailers, out-of-range references). Objects are given as raw bytes; the
 * builder lays out header, objects, offset table and trailer, and any trailer field can be
 * overridden afterwards.
 */

export interface BplistOptions {
  top?: number;
  refSize?: number;
  offsetSize?: number;
  /** Overrides written into the trailer after layout. */
  numObjects?: bigint;
  topObject?: bigint;
  offsetTableOffset?: bigint;
  /** Replaces computed offsets (index → offset). */
  offsets?: Record<number, number>;
}

function be(value: number | bigint, size: number): number[] {
  let v = BigInt(value);
  const out = new Array<number>(size);
  for (let i = size - 1; i >= 0; i -= 1) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

export function bplist(objects: number[][], opts: BplistOptions = {}): Buffer {
  const offsetSize = opts.offsetSize ?? 1;
  const refSize = opts.refSize ?? 1;
  const bytes: number[] = [...Buffer.from('bplist00', 'latin1')];
  const offsets: number[] = [];
  for (const obj of objects) {
    offsets.push(bytes.length);
    for (const b of obj) bytes.push(b); // not push(...obj): large objects would overflow the call stack
  }
  const tableOffset = bytes.length;
  offsets.forEach((off, i) => bytes.push(...be(opts.offsets?.[i] ?? off, offsetSize)));
  bytes.push(0, 0, 0, 0, 0, 0, offsetSize, refSize);
  bytes.push(...be(opts.numObjects ?? BigInt(objects.length), 8));
  bytes.push(...be(opts.topObject ?? BigInt(opts.top ?? 0), 8));
  bytes.push(...be(opts.offsetTableOffset ?? BigInt(tableOffset), 8));
  return Buffer.from(bytes);
}

/** A size nibble, or 0xF followed by an integer object for counts of 15 and more. */
function sized(high: number, count: number): number[] {
  if (count < 15) return [high | count];
  if (count < 0x100) return [high | 0xf, 0x10, count];
  if (count < 0x10000) return [high | 0xf, 0x11, ...be(count, 2)];
  return [high | 0xf, 0x12, ...be(count, 4)];
}

export const obj = {
  ascii: (s: string): number[] => [...sized(0x50, s.length), ...Buffer.from(s, 'latin1')],
  utf16: (s: string): number[] => {
    const units: number[] = [];
    for (let i = 0; i < s.length; i += 1) units.push(...be(s.charCodeAt(i), 2));
    return [...sized(0x60, s.length), ...units];
  },
  uint8: (n: number): number[] => [0x10, n],
  int64: (n: bigint): number[] => [0x13, ...be(BigInt.asUintN(64, n), 8)],
  int128: (n: bigint): number[] => [0x14, ...be(BigInt.asUintN(128, n), 16)],
  float32: (x: number): number[] => {
    const b = Buffer.alloc(4);
    b.writeFloatBE(x);
    return [0x22, ...b];
  },
  date: (secondsSince2001: number): number[] => {
    const b = Buffer.alloc(8);
    b.writeDoubleBE(secondsSince2001);
    return [0x33, ...b];
  },
  data: (bytes: number[]): number[] => sized(0x40, bytes.length).concat(bytes),
  array: (refs: number[], refSize = 1): number[] => [...sized(0xa0, refs.length), ...refs.flatMap((r) => be(r, refSize))],
  set: (refs: number[], refSize = 1): number[] => [...sized(0xc0, refs.length), ...refs.flatMap((r) => be(r, refSize))],
  dict: (keys: number[], values: number[], refSize = 1): number[] => [
    ...sized(0xd0, keys.length),
    ...keys.flatMap((r) => be(r, refSize)),
    ...values.flatMap((r) => be(r, refSize)),
  ],
  uid: (n: number, size: number): number[] => [0x80 | (size - 1), ...be(n, size)],
  true: (): number[] => [0x09],
  false: (): number[] => [0x08],
};
