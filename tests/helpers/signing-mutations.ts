/**
 * Mutations of signed PE files for the verifier's property tests. Purely random bytes
 * would almost never reach the certificate table or the PKCS#7 parser, so mutations are
 * aimed at the structures the verifier trusts: the header fields that locate things
 * (e_lfanew, section count and table, optional-header magic and size, the
 * certificate-table directory entry), the WIN_CERTIFICATE header, the DER tag and length
 * bytes of the PKCS#7 blob, and the file's length (cuts, appended bytes, shifted spans).
 * Positions are drawn as plain numbers and folded into the seed's regions when applied,
 * so fast-check can shrink them.
 */
import fc from 'fast-check';
import { securityDirectory } from './signing-fixtures.js';

export interface MutationSeed {
  name: string;
  bytes: Buffer;
  /** Offsets of the fields mutations aim at. */
  fields: Record<string, { offset: number; width: 2 | 4 }>;
  headersEnd: number;
  table?: { offset: number; size: number };
}

export function describeSeed(name: string, bytes: Buffer): MutationSeed {
  const peOffset = bytes.readUInt32LE(0x3c);
  const coff = peOffset + 4;
  const opt = peOffset + 24;
  const is64 = bytes.readUInt16LE(opt) === 0x20b;
  const sizeOfOptionalHeader = bytes.readUInt16LE(coff + 16);
  const sectionTable = opt + sizeOfOptionalHeader;
  const dir = securityDirectory(bytes);
  const fields: MutationSeed['fields'] = {
    e_lfanew: { offset: 0x3c, width: 4 },
    numberOfSections: { offset: coff + 2, width: 2 },
    sizeOfOptionalHeader: { offset: coff + 16, width: 2 },
    magic: { offset: opt, width: 2 },
    checksum: { offset: dir.checksumOffset, width: 4 },
    numberOfRvaAndSizes: { offset: opt + (is64 ? 108 : 92), width: 4 },
    securityOffset: { offset: dir.entryOffset, width: 4 },
    securitySize: { offset: dir.entryOffset + 4, width: 4 },
    section0SizeOfRawData: { offset: sectionTable + 16, width: 4 },
    section0PointerToRawData: { offset: sectionTable + 20, width: 4 },
    lastSectionSizeOfRawData: { offset: sectionTable + 40 * (bytes.readUInt16LE(coff + 2) - 1) + 16, width: 4 },
  };
  const seed: MutationSeed = { name, bytes, fields, headersEnd: sectionTable + 40 * bytes.readUInt16LE(coff + 2) };
  if (dir.offset && dir.size && dir.offset + dir.size <= bytes.length) {
    seed.table = { offset: dir.offset, size: dir.size };
    fields.dwLength = { offset: dir.offset, width: 4 };
    fields.wRevision = { offset: dir.offset + 4, width: 2 };
    fields.wCertificateType = { offset: dir.offset + 6, width: 2 };
  }
  return seed;
}

export type Region = 'headers' | 'table' | 'pkcs7-head' | 'anywhere';

export type Mutation =
  | { kind: 'field'; field: number; value: number }
  | { kind: 'byte'; region: Region; at: number; value: number }
  | { kind: 'cut'; region: Region; at: number }
  | { kind: 'append'; length: number; fill: number }
  | { kind: 'delete'; region: Region; at: number; length: number }
  | { kind: 'duplicate'; region: Region; at: number; length: number };

/** Values that sit on the boundaries a parser has to check. */
const INTERESTING = [0, 1, 2, 7, 8, 9, 0x3c, 0x40, 0x7f, 0x80, 0xff, 0x100, 0x200, 0x10b, 0x20b, 0xfff8, 0xffff, 0x10000, 0x7fffffff, 0x80000000, 0xfffffff8, 0xffffffff];
/** DER tags and length prefixes (short, long-form 1-4 bytes, indefinite, reserved). */
const DER_BYTES = [0x00, 0x02, 0x04, 0x06, 0x30, 0x31, 0xa0, 0xa3, 0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x88, 0xff];

const ALL_REGIONS: readonly Region[] = ['headers', 'table', 'table', 'pkcs7-head', 'anywhere'];

export function mutationArbitrary(
  weights: { fields: number; bytes: number; lengths: number },
  regions: readonly Region[] = ALL_REGIONS,
): fc.Arbitrary<Mutation> {
  const region = fc.constantFrom(...regions);
  return fc.oneof(
    {
      weight: weights.fields,
      arbitrary: fc.record({
        kind: fc.constant('field' as const),
        field: fc.nat(),
        value: fc.oneof(fc.constantFrom(...INTERESTING), fc.nat({ max: 0xffffffff }), fc.integer({ min: -64, max: 64 })),
      }),
    },
    {
      weight: weights.bytes,
      arbitrary: fc.record({
        kind: fc.constant('byte' as const),
        region,
        at: fc.nat(),
        value: fc.oneof(fc.constantFrom(...DER_BYTES), fc.integer({ min: 0, max: 255 })),
      }),
    },
    { weight: weights.lengths, arbitrary: fc.record({ kind: fc.constant('cut' as const), region, at: fc.nat() }) },
    { weight: weights.lengths, arbitrary: fc.record({ kind: fc.constant('append' as const), length: fc.integer({ min: 1, max: 4096 }), fill: fc.integer({ min: 0, max: 255 }) }) },
    { weight: weights.lengths, arbitrary: fc.record({ kind: fc.constant('delete' as const), region, at: fc.nat(), length: fc.integer({ min: 1, max: 512 }) }) },
    { weight: weights.lengths, arbitrary: fc.record({ kind: fc.constant('duplicate' as const), region, at: fc.nat(), length: fc.integer({ min: 1, max: 512 }) }) },
  );
}

function regionBounds(seed: MutationSeed, r: Region, size: number): [number, number] {
  const clamp = (n: number) => Math.max(0, Math.min(size, n));
  switch (r) {
    case 'headers':
      return [0, clamp(seed.headersEnd)];
    case 'table':
      return seed.table ? [clamp(seed.table.offset), clamp(seed.table.offset + seed.table.size)] : [0, size];
    case 'pkcs7-head':
      // The WIN_CERTIFICATE header and the first DER headers of the blob (ContentInfo,
      // SignedData, version, digest algorithms): where a length change shifts everything.
      return seed.table ? [clamp(seed.table.offset), clamp(seed.table.offset + 64)] : [0, size];
    case 'anywhere':
      return [0, size];
  }
}

function pick(seed: MutationSeed, r: Region, size: number, at: number): number {
  const [lo, hi] = regionBounds(seed, r, size);
  return hi > lo ? lo + (at % (hi - lo)) : Math.min(lo, Math.max(0, size - 1));
}

/** Applies the mutations in order to a copy of the seed. Offsets refer to the current bytes. */
export function applyMutations(seed: MutationSeed, mutations: readonly Mutation[]): Buffer {
  let b = Buffer.from(seed.bytes);
  const fields = Object.values(seed.fields);
  for (const m of mutations) {
    switch (m.kind) {
      case 'field': {
        const f = fields[m.field % fields.length]!;
        if (f.offset + f.width > b.length) break;
        if (f.width === 2) b.writeUInt16LE(((m.value % 0x10000) + 0x10000) % 0x10000, f.offset);
        else {
          // Small signed values are deltas from the current value (an off-by-a-few length).
          const v = m.value >= -64 && m.value <= 64 && m.value !== 0 ? b.readUInt32LE(f.offset) + m.value : m.value;
          b.writeUInt32LE(((v % 0x100000000) + 0x100000000) % 0x100000000, f.offset);
        }
        break;
      }
      case 'byte':
        if (b.length) b[pick(seed, m.region, b.length, m.at)] = m.value;
        break;
      case 'cut':
        b = b.subarray(0, pick(seed, m.region, b.length, m.at));
        break;
      case 'append':
        b = Buffer.concat([b, Buffer.alloc(m.length, m.fill)]);
        break;
      case 'delete': {
        const at = pick(seed, m.region, b.length, m.at);
        b = Buffer.concat([b.subarray(0, at), b.subarray(Math.min(b.length, at + m.length))]);
        break;
      }
      case 'duplicate': {
        const at = pick(seed, m.region, b.length, m.at);
        b = Buffer.concat([b.subarray(0, at), b.subarray(at, at + m.length), b.subarray(at)]);
        break;
      }
    }
  }
  return b;
}
