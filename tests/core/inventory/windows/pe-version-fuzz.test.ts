/**
 * Robustness: about 2,000 mutated PE images (byte and word overwrites aimed at the headers
 * and the .rsrc section, cuts, insertions, deletions, copied spans) fed to readPeVersionInfo.
 * Each must end in a PeVersionInfo or a VersionInfoError, with a bounded number of small
 * reads, promptly, and the same answer twice. Seeds are generated PE32 and PE32+ images with
 * the shapes real ones have: several resource types, several languages, a named resource.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { makePe } from '../../../helpers/make-pe.js';
import { electronAppVersionSpec, makeVersionResource, type VersionResourceOptions } from '../../../helpers/make-version-resource.js';
import { parsePeHeaders } from '../../../../src/core/pe/pe-headers.js';
import { readPeVersionInfo, VersionInfoError } from '../../../../src/core/inventory/windows/pe-version.js';
import { memoryFile } from './memory-file.js';

const SEED_OPTIONS: [boolean, VersionResourceOptions][] = [
  [true, { languages: [{ id: 0x0409, info: electronAppVersionSpec('18.12.416') }], otherTypes: [3, 14, 24] }],
  [false, { languages: [{ id: 0x0409, info: electronAppVersionSpec('18.12.425') }] }],
  [
    true,
    {
      languages: [
        { id: 0x0407, info: { fileVersion: [1, 2, 3, 4], stringTables: [{ key: '040704b0', strings: { ProductVersion: '1.2.3', X: 'odd' } }], translations: [[0x0407, 1200]] } },
        { id: 0x0409, info: { ...electronAppVersionSpec('18.12.416'), varFileInfoFirst: true } },
      ],
      name: 'VERSION',
    },
  ],
  [false, { languages: [{ id: 0, info: { fileVersion: null, stringTables: [{ key: '000004b0', strings: { ProductVersion: '18.12.407' } }], translations: null } }] }],
];

interface Seed {
  bytes: Buffer;
  rsrcStart: number;
  rsrcEnd: number;
}

const SEEDS: Seed[] = SEED_OPTIONS.map(([pe32plus, opts]) => {
  const bytes = makePe({ pe32plus, resources: (rva) => makeVersionResource(rva, opts) });
  const rsrc = parsePeHeaders(bytes, bytes.length).sections.find((s) => s.name === '.rsrc')!;
  return { bytes, rsrcStart: rsrc.pointerToRawData, rsrcEnd: rsrc.pointerToRawData + rsrc.virtualSize };
});

// Values that trip parsers: zero, all ones, high-bit directory flags, sizes near the limits.
const INTERESTING_32 = [0, 1, 6, 0x10, 0x34, 0xffff, 0x10000, 0x7fffffff, 0x80000000, 0x80000010, 0x80000018, 0xfeef04bd, 0xffffffff];
const INTERESTING_16 = [0, 1, 2, 5, 6, 7, 0x34, 0x3ff, 0x7fff, 0x8000, 0xffff];

type Region = 'headers' | 'rsrc' | 'anywhere';
type Mutation =
  | { kind: 'truncate'; at: number }
  | { kind: 'byte'; region: Region; at: number; value: number }
  | { kind: 'word'; region: Region; at: number; value: number }
  | { kind: 'dword'; region: Region; at: number; value: number }
  | { kind: 'insert'; at: number; bytes: Uint8Array }
  | { kind: 'delete'; at: number; length: number }
  | { kind: 'copy'; from: number; to: number; length: number };

const region = fc.constantFrom<Region>('headers', 'rsrc', 'rsrc', 'anywhere');
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('byte' as const), region, at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('word' as const), region, at: fc.nat(), value: fc.oneof(fc.constantFrom(...INTERESTING_16), fc.integer({ min: 0, max: 0xffff })) }),
  fc.record({ kind: fc.constant('dword' as const), region, at: fc.nat(), value: fc.oneof(fc.constantFrom(...INTERESTING_32), fc.nat()) }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }) }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 16 }) }),
  fc.record({ kind: fc.constant('copy' as const), from: fc.nat(), to: fc.nat(), length: fc.integer({ min: 2, max: 64 }) }),
);

function position(seed: Seed, len: number, r: Region, at: number, width: number): number {
  let [lo, hi] = r === 'headers' ? [0, Math.min(seed.rsrcStart, 0x400)] : r === 'rsrc' ? [seed.rsrcStart, seed.rsrcEnd] : [0, len];
  hi = Math.min(hi, len);
  if (hi - lo < width) [lo, hi] = [0, len]; // the region was cut off: anywhere that fits
  const p = lo + (at % (hi - lo - width + 1));
  // Word-aligned half the time: the structures are.
  return at % 2 === 0 ? p & ~1 : p;
}

function apply(seed: Seed, mutations: Mutation[]): Buffer {
  let buf = Buffer.from(seed.bytes);
  for (const m of mutations) {
    const len = buf.length;
    if (len < 8) break;
    switch (m.kind) {
      case 'truncate':
        buf = buf.subarray(0, m.at % len);
        break;
      case 'byte':
        buf[position(seed, len, m.region, m.at, 1)] = m.value;
        break;
      case 'word':
        buf.writeUInt16LE(m.value, position(seed, len, m.region, m.at, 2));
        break;
      case 'dword':
        buf.writeUInt32LE(m.value >>> 0, position(seed, len, m.region, m.at, 4));
        break;
      case 'insert': {
        const at = m.at % len;
        buf = Buffer.concat([buf.subarray(0, at), m.bytes, buf.subarray(at)]);
        break;
      }
      case 'delete': {
        const at = m.at % len;
        buf = Buffer.concat([buf.subarray(0, at), buf.subarray(at + m.length)]);
        break;
      }
      case 'copy': {
        const piece = Buffer.from(buf.subarray(m.from % len, (m.from % len) + m.length));
        piece.copy(buf, m.to % len);
        break;
      }
    }
  }
  return buf;
}

async function outcome(bytes: Buffer): Promise<{ value?: unknown; reason?: string; reads: number; maxRead: number }> {
  const file = memoryFile(bytes);
  try {
    const value = await readPeVersionInfo(file);
    return { value, reads: file.reads.length, maxRead: Math.max(...file.reads.map((r) => r.length)) };
  } catch (err) {
    if (!(err instanceof VersionInfoError)) throw new Error(`untyped error escaped: ${String(err)}`, { cause: err });
    return { reason: err.reason, reads: file.reads.length, maxRead: Math.max(0, ...file.reads.map((r) => r.length)) };
  }
}

describe('readPeVersionInfo on mutated images', () => {
  it('every seed reads cleanly before mutation', async () => {
    for (const seed of SEEDS) expect((await outcome(seed.bytes)).value).toBeDefined();
  });

  it('ends in a value or a VersionInfoError, with few bounded reads, for ~2,000 mutants', async () => {
    const reasons = new Map<string, number>();
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: SEEDS.length - 1 }), fc.array(mutation, { minLength: 1, maxLength: 4 }), async (s, mutations) => {
        const bytes = apply(SEEDS[s]!, mutations);
        const started = performance.now();
        const first = await outcome(bytes);
        expect(performance.now() - started).toBeLessThan(1000);
        // Headers (64 KiB at most), three tables (header, then entries), a name's length and
        // text, the data entry and the resource: 11 reads at most, never a read loop.
        expect(first.reads).toBeLessThanOrEqual(11);
        expect(first.maxRead).toBeLessThanOrEqual(64 * 1024);
        expect(await outcome(bytes)).toEqual(first);
        const key = first.reason ?? 'ok';
        reasons.set(key, (reasons.get(key) ?? 0) + 1);
      }),
      { numRuns: 2000, seed: 20230329 },
    );
    // The mutations reach deep enough to exercise both outcomes and the structural checks.
    expect(reasons.get('ok') ?? 0).toBeGreaterThan(50);
    expect(reasons.get('malformed') ?? 0).toBeGreaterThan(50);
    expect(reasons.get('truncated') ?? 0).toBeGreaterThan(50);
  });
});
