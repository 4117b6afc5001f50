/**
 * Robustness: mutated and truncated plists, binary and XML, only ever end in a PlistError
 * that carries a location, or in a value, and each parse ends promptly. Seeds are real
 * plists written by Python's plistlib: the 3CX Info.plist and a sample of every type.
 */
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { parsePlist, PlistError } from '../../../../src/core/inventory/macos/plist.js';
import { peerInfoPlist, peerSamplePlist } from './python-peer.js';
import { needsTools } from '../../../helpers/system-tool.js';

type Mutation =
  | { kind: 'truncate'; at: number }
  | { kind: 'set'; at: number; byte: number; nearEnd: boolean }
  | { kind: 'insert'; at: number; bytes: Uint8Array }
  | { kind: 'delete'; at: number; length: number }
  | { kind: 'duplicate'; at: number; length: number; to: number };

// Markup that breaks XML in the ways the tokenizer must catch.
const XML_SNIPPETS = [
  '<dict>', '</dict>', '<array>', '</array>', '<key>k</key>', '<key>', '<string>', '</string>', '<integer>99999999999999999999999999999999999999999</integer>',
  '<real>x</real>', '<date>2023-02-30T00:00:00Z</date>', '<data>!</data>', '&', '&lt', '&#0;', '&#x110000;', '&foo;', ']]>', '<![CDATA[', '<!--', '--',
  '<?xml version="1.0"?>', '<!DOCTYPE x [<!ENTITY a "b">]>', '<plist>', '</plist>', '<', '>', '"', '\u0000', '\uFFFE', '\r\n', '<true>x</true>', '<a b="1" b="2">',
].map((s) => Buffer.from(s, 'utf8'));

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('set' as const), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }), nearEnd: fc.boolean() }),
  fc.record({
    kind: fc.constant('insert' as const),
    at: fc.nat(),
    bytes: fc.oneof(fc.uint8Array({ minLength: 1, maxLength: 8 }), fc.constantFrom(...XML_SNIPPETS)),
  }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 16 }) }),
  fc.record({ kind: fc.constant('duplicate' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 64 }), to: fc.nat() }),
);

function apply(input: Buffer, mutations: Mutation[]): Buffer {
  let buf = Buffer.from(input);
  for (const m of mutations) {
    const len = buf.length;
    if (len === 0) break;
    const at = m.at % len;
    switch (m.kind) {
      case 'truncate':
        buf = buf.subarray(0, at);
        break;
      case 'set': {
        // Half the byte changes land in the last 48 bytes: the offset table and trailer.
        const i = m.nearEnd ? len - 1 - (m.at % Math.min(len, 48)) : at;
        buf[i] = m.byte;
        break;
      }
      case 'insert':
        buf = Buffer.concat([buf.subarray(0, at), m.bytes, buf.subarray(at)]);
        break;
      case 'delete':
        buf = Buffer.concat([buf.subarray(0, at), buf.subarray(at + m.length)]);
        break;
      case 'duplicate': {
        const piece = Buffer.from(buf.subarray(at, at + m.length));
        const to = m.to % len;
        buf = Buffer.concat([buf.subarray(0, to), piece, buf.subarray(to)]);
        break;
      }
    }
  }
  return buf;
}

/** Parses; passes when the result is a value or a located PlistError, fails on anything else. */
function parseOrPlistError(buf: Buffer): 'value' | 'error' {
  const started = performance.now();
  try {
    parsePlist(buf);
    return 'value';
  } catch (err) {
    if (!(err instanceof PlistError)) throw err;
    expect(err.offset !== undefined || (err.line !== undefined && err.column !== undefined)).toBe(true);
    return 'error';
  } finally {
    // Generous for a shared 2-core machine; a parse that loops or blows up takes far longer.
    expect(performance.now() - started).toBeLessThan(1_000);
  }
}

describe('mutated and truncated plists', needsTools('python3'), () => {
  let binarySeeds: Buffer[];
  let xmlSeeds: Buffer[];
  beforeAll(() => {
    const info = peerInfoPlist();
    const sample = peerSamplePlist();
    binarySeeds = [info.binary, sample.binary];
    xmlSeeds = [info.xml, sample.xml];
  });

  it('every strict prefix of a binary plist is refused with a PlistError', () => {
    for (const seed of binarySeeds) {
      for (let n = 0; n < seed.length; n += 1) expect(parseOrPlistError(seed.subarray(0, n))).toBe('error');
      expect(parseOrPlistError(seed)).toBe('value');
    }
  });

  it('every prefix of an XML plist is refused or read, never anything else', () => {
    const outcomes = new Set<string>();
    for (const seed of xmlSeeds) {
      for (let n = 0; n <= seed.length; n += 1) outcomes.add(parseOrPlistError(seed.subarray(0, n)));
    }
    expect([...outcomes].sort()).toEqual(['error', 'value']);
  });

  for (const format of ['binary', 'xml'] as const) {
    it(`mutated ${format} plists only throw PlistError, and terminate`, () => {
      const outcomes = { value: 0, error: 0 };
      fc.assert(
        fc.property(fc.nat(), fc.array(mutation, { minLength: 1, maxLength: 4 }), (pick, mutations) => {
          const seeds = format === 'binary' ? binarySeeds : xmlSeeds;
          outcomes[parseOrPlistError(apply(seeds[pick % seeds.length]!, mutations))] += 1;
        }),
        { numRuns: 2000 },
      );
      // Most mutations must be caught; a reader that accepted everything would fail here.
      expect(outcomes.error).toBeGreaterThan(outcomes.value);
    });
  }
});
