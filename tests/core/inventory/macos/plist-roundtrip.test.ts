/**
 * Property: any value Python's plistlib can write, in either format, reads back as the
 * value it was written from. Values are generated here, written by one batched python3
 * process (plist_peer.py roundtrip), and compared with what this side expects them to read
 * as. Batching rules out fast-check's shrinking, so a failure reports its seed and case.
 */
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { parsePlist, type PlistValue } from '../../../../src/core/inventory/macos/plist.js';
import { peerRoundTrip, type PeerPlist } from './python-peer.js';
import { needsTools } from '../../../helpers/system-tool.js';

type Tagged =
  | { t: 's'; v: string }
  | { t: 'i'; v: string }
  | { t: 'r'; v: number | 'nan' | 'inf' | '-inf' }
  | { t: 'b'; v: boolean }
  | { t: 'd'; v: number }
  | { t: 'data'; v: string }
  | { t: 'a'; v: Tagged[] }
  | { t: 'o'; v: Array<[string, Tagged]> };

interface Case {
  tagged: Tagged;
  expected: PlistValue;
}

const RUNS = 300;
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

// Characters Python's XML writer accepts and XML 1.0 allows, minus "\r" (plistlib rewrites
// it to "\n"), weighted towards ASCII and the characters XML must escape.
const xmlChar = fc.oneof(
  { weight: 8, arbitrary: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)) },
  { weight: 2, arbitrary: fc.constantFrom('\t', '\n', '&', '<', '>', ']]>', '"', "'", '&amp;', '<!--') },
  { weight: 1, arbitrary: fc.integer({ min: 0x7f, max: 0xd7ff }).map((c) => String.fromCodePoint(c)) },
  { weight: 1, arbitrary: fc.integer({ min: 0xe000, max: 0xfffd }).map((c) => String.fromCodePoint(c)) },
  { weight: 1, arbitrary: fc.integer({ min: 0x10000, max: 0x10ffff }).map((c) => String.fromCodePoint(c)) },
);
const text = fc.string({ unit: xmlChar, maxLength: 24 });
const key = fc.oneof({ weight: 5, arbitrary: text }, { weight: 1, arbitrary: fc.constantFrom('__proto__', 'constructor', 'CFBundleVersion', '') });

const integer: fc.Arbitrary<Case> = fc
  .oneof(
    fc.integer({ min: -1000, max: 1000 }).map(BigInt),
    // plistlib writes integers in [-2^63, 2^64) in both formats.
    fc.bigInt({ min: -(2n ** 63n), max: 2n ** 64n - 1n }),
    fc.constantFrom(255n, 256n, 65535n, 65536n, 2n ** 32n - 1n, 2n ** 32n, MAX_SAFE, MAX_SAFE + 1n, 2n ** 63n - 1n, 2n ** 63n, -1n, -(2n ** 63n)),
  )
  .map((n) => ({ tagged: { t: 'i', v: n.toString() }, expected: n >= -MAX_SAFE && n <= MAX_SAFE ? Number(n) : n }));

const real: fc.Arbitrary<Case> = fc
  .double()
  .map((x) => (Object.is(x, -0) ? 0 : x)) // plistlib's binary writer merges -0.0 with 0.0
  .map((x) => ({
    tagged: { t: 'r', v: Number.isNaN(x) ? 'nan' : x === Infinity ? 'inf' : x === -Infinity ? '-inf' : x },
    expected: x,
  }));

// Whole seconds (XML dates have no fraction) across Python's datetime range, years 1-9999.
const date: fc.Arbitrary<Case> = fc
  .bigInt({ min: -62_135_596_800n, max: 253_402_300_799n })
  .map(Number)
  .map((s) => ({ tagged: { t: 'd', v: s }, expected: new Date(s * 1000) }));

const scalar: fc.Arbitrary<Case> = fc.oneof(
  text.map((s): Case => ({ tagged: { t: 's', v: s }, expected: s })),
  integer,
  real,
  fc.boolean().map((b): Case => ({ tagged: { t: 'b', v: b }, expected: b })),
  date,
  fc.uint8Array({ maxLength: 48 }).map((u): Case => ({ tagged: { t: 'data', v: Buffer.from(u).toString('base64') }, expected: Uint8Array.from(u) })),
);

function dictOf(entries: Array<[string, Case]>): Case {
  const expected: Record<string, PlistValue> = {};
  for (const [k, c] of entries) Object.defineProperty(expected, k, { value: c.expected, enumerable: true, writable: true, configurable: true });
  return { tagged: { t: 'o', v: entries.map(([k, c]) => [k, c.tagged]) }, expected };
}

const { value } = fc.letrec<{ value: Case; array: Case; dict: Case }>((tie) => ({
  // maxDepth makes deep branches pick the first (scalar) arbitrary, so generation ends.
  value: fc.oneof({ maxDepth: 4, depthIdentifier: 'plist' }, scalar, tie('array'), tie('dict')),
  array: fc.array(tie('value'), { maxLength: 5 }).map((items) => ({ tagged: { t: 'a', v: items.map((i) => i.tagged) }, expected: items.map((i) => i.expected) })),
  dict: fc.uniqueArray(fc.tuple(key, tie('value')), { selector: ([k]) => k, maxLength: 5 }).map(dictOf),
}));

function show(tagged: Tagged): string {
  return JSON.stringify(tagged).slice(0, 2000);
}

describe('round trip through Python plistlib', needsTools('python3'), () => {
  const seed = Date.now() % 2 ** 31;
  let cases: Case[];
  let written: Array<PeerPlist | { error: string }>;

  beforeAll(() => {
    cases = fc.sample(value, { numRuns: RUNS, seed });
    written = peerRoundTrip(cases.map((c) => c.tagged));
  });

  it(`reads back ${RUNS} random values from both formats`, () => {
    expect(written).toHaveLength(RUNS);
    const kinds = new Set<string>();
    cases.forEach((c, i) => {
      const w = written[i]!;
      if ('error' in w) throw new Error(`seed ${seed}, case ${i}: python could not write ${show(c.tagged)}: ${w.error}`);
      kinds.add(c.tagged.t);
      for (const form of ['xml', 'binary'] as const) {
        try {
          expect(parsePlist(w[form])).toEqual(c.expected);
        } catch (err) {
          throw new Error(`seed ${seed}, case ${i}, ${form}: ${show(c.tagged)}\n${(err as Error).message}`);
        }
      }
    });
    // The sample really covered containers and scalars, so the loop above tested something.
    expect([...kinds]).toEqual(expect.arrayContaining(['a', 'o', 's', 'i', 'r', 'd', 'data', 'b']));
  });
});
