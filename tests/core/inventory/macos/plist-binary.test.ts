import { beforeAll, describe, expect, it } from 'vitest';
import { parsePlist, PlistError, type PlistValue } from '../../../../src/core/inventory/macos/plist.js';
import { bplist, obj } from './bplist-builder.js';
import { peerSamplePlist, type PeerPlist } from './python-peer.js';
import { needsTools } from '../../../helpers/system-tool.js';

/** Asserts a PlistError from the binary reader with this reason at this byte offset. */
function expectBinaryError(buf: Buffer, reason: RegExp, offset?: number, limits = {}): PlistError {
  let caught: unknown;
  try {
    parsePlist(buf, limits);
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(PlistError);
  const e = caught as PlistError;
  expect(e.reason).toMatch(reason);
  expect(e.format).toBe('binary');
  expect(typeof e.offset).toBe('number');
  if (offset !== undefined) expect(e.offset).toBe(offset);
  expect(e.message).toContain(`at byte ${e.offset}`);
  return e;
}

describe('binary plists written by Python plistlib', needsTools('python3'), () => {
  let sample: PeerPlist;
  beforeAll(() => {
    sample = peerSamplePlist();
  });

  it('reads every type plistlib writes, with integer widths from 1 to 16 bytes', () => {
    expect(sample.binary.subarray(0, 8).toString('latin1')).toBe('bplist00');
    expect(parsePlist(sample.binary)).toEqual({
      ascii: 'plain',
      unicode: 'caf\u00e9 \u2603 \u{1F600}',
      long: 'x'.repeat(300),
      ints: [0, 1, 255, 256, 65535, 65536, 2 ** 32 - 1, 2 ** 32, 2n ** 53n + 1n, 2n ** 63n - 1n, 2n ** 63n, 2n ** 64n - 1n, -1, -(2n ** 63n)],
      reals: [0.5, -1.25, 1e300, Infinity],
      bools: [true, false],
      date: new Date('2023-03-29T12:34:56Z'),
      data: Uint8Array.from({ length: 40 }, (_, i) => i),
      empty: { array: [], dict: {}, string: '', data: new Uint8Array(0) },
      nested: [[['deep', { k: [1, 2, 3] }]]],
      shared: ['same', 'same', 'same'],
    });
  });

  it('returns data as a copy, not a view into the input', () => {
    const value = parsePlist(sample.binary) as { data: Uint8Array };
    expect(Buffer.isBuffer(value.data)).toBe(false);
    const before = Uint8Array.from(value.data);
    sample.binary.fill(0xee, 8, sample.binary.length - 40);
    expect(value.data).toEqual(before);
  });
});

describe('binary object kinds no Python writer produces', () => {
  it('reads a 4-byte real, a set as an array, a UID as {CF$UID} and a 16-byte integer', () => {
    const buf = bplist([
      obj.array([1, 2, 3, 4, 5]),
      obj.float32(1.5),
      obj.set([6, 6]),
      obj.uid(0x01020304, 4),
      obj.int128(2n ** 64n - 2n),
      obj.date(-978307200), // the Unix epoch, in seconds since 2001
      obj.true(),
    ]);
    expect(parsePlist(buf)).toEqual([1.5, [true, true], { CF$UID: 0x01020304 }, 2n ** 64n - 2n, new Date(0)]);
  });

  it('reads counts given as 0xF plus a 1, 2 or 4-byte integer object', () => {
    const long = 'k'.repeat(300);
    const buf = bplist([obj.array([1, 2, 3]), obj.ascii('fifteen chars!!'), obj.ascii(long), obj.utf16('\u00e9'.repeat(20))], { offsetSize: 2 });
    expect(buf[12]).toBe(0x5f); // the 15-character string really uses the 0xF form
    expect(parsePlist(buf)).toEqual(['fifteen chars!!', long, '\u00e9'.repeat(20)]);
  });

  it('keeps a "__proto__" key as an ordinary entry', () => {
    const value = parsePlist(bplist([obj.dict([1], [2]), obj.ascii('__proto__'), obj.ascii('x')])) as Record<string, PlistValue>;
    expect(Object.getPrototypeOf(value)).toBe(Object.prototype);
    expect(Object.keys(value)).toEqual(['__proto__']);
    expect(Object.getOwnPropertyDescriptor(value, '__proto__')?.value).toBe('x');
  });

  it('reads a plist with 2-byte references and offsets', () => {
    const strings = Array.from({ length: 300 }, (_, i) => `s${i}`);
    const objects = [obj.array(strings.map((_, i) => i + 1), 2), ...strings.map((s) => obj.ascii(s))];
    expect(parsePlist(bplist(objects, { refSize: 2, offsetSize: 2 }))).toEqual(strings);
  });
});

describe('malformed binary plists', () => {
  const valid = (): Buffer => bplist([obj.array([1, 2]), obj.ascii('a'), obj.uint8(7)]);
  const trailer = (buf: Buffer): number => buf.length - 32;

  it('the builder output used below is valid', () => {
    expect(parsePlist(valid())).toEqual(['a', 7]);
  });

  it('refuses files too short to hold a trailer', () => {
    expectBinaryError(Buffer.from('bplist00\x00'), /truncated/, 9);
    expectBinaryError(valid().subarray(0, 40), /truncated/, 40);
  });

  it('refuses a trailer cut short or followed by garbage (the layout must fit exactly)', () => {
    expectBinaryError(valid().subarray(0, valid().length - 1), /./);
    expectBinaryError(Buffer.concat([valid(), Buffer.from([0])]), /./);
  });

  it('refuses non-zero unused trailer bytes', () => {
    const buf = valid();
    buf[trailer(buf) + 2] = 1;
    expectBinaryError(buf, /trailer byte 2 must be zero/, trailer(buf) + 2);
  });

  it('refuses offset and reference sizes outside 1-8 bytes', () => {
    let buf = valid();
    buf[trailer(buf) + 6] = 0;
    expectBinaryError(buf, /offset size 0/, trailer(buf) + 6);
    buf = valid();
    buf[trailer(buf) + 6] = 9;
    expectBinaryError(buf, /offset size 9/, trailer(buf) + 6);
    buf = valid();
    buf[trailer(buf) + 7] = 0;
    expectBinaryError(buf, /reference size 0/, trailer(buf) + 7);
  });

  it('refuses a zero object count and a top object past the count', () => {
    const objects = [obj.array([1, 2]), obj.ascii('a'), obj.uint8(7)];
    expectBinaryError(bplist(objects, { numObjects: 0n }), /object count is zero/);
    const buf = bplist(objects, { topObject: 3n });
    expectBinaryError(buf, /top object 3 is not below the object count 3/, trailer(buf) + 16);
    expectBinaryError(bplist(objects, { topObject: 2n ** 64n - 1n }), /top object/);
  });

  it('refuses an offset table offset outside the object area', () => {
    const objects = [obj.array([1, 2]), obj.ascii('a'), obj.uint8(7)];
    expectBinaryError(bplist(objects, { offsetTableOffset: 4n }), /offset table offset 4 is outside/);
    expectBinaryError(bplist(objects, { offsetTableOffset: 2n ** 63n }), /offset table offset/);
    expectBinaryError(bplist(objects, { offsetTableOffset: 12n }), /ends at .*not at the trailer/);
  });

  it('refuses an object count whose offset table would overflow the file', () => {
    expectBinaryError(bplist([obj.array([1, 2]), obj.ascii('a'), obj.uint8(7)], { numObjects: 2n ** 61n }), /not at the trailer/);
  });

  it('refuses offsets that point outside the object area', () => {
    let buf = bplist([obj.array([1, 2]), obj.ascii('a'), obj.uint8(7)], { offsets: { 1: 3 } });
    expectBinaryError(buf, /object 1 offset 3 is outside the object area/, buf.length - 32 - 3 + 1);
    buf = bplist([obj.array([1, 2]), obj.ascii('a'), obj.uint8(7)], { offsets: { 2: 250 } });
    expectBinaryError(buf, /object 2 offset 250/);
  });

  it('refuses references past the object count', () => {
    const buf = bplist([obj.array([1, 9]), obj.ascii('a')]);
    expectBinaryError(buf, /reference 9 is not below the object count 2/, 10);
  });

  it('refuses a reference cycle, direct or through other containers', () => {
    expectBinaryError(bplist([obj.array([0])]), /reference cycle: object 0/, 9);
    const indirect = bplist([obj.dict([1], [2]), obj.ascii('k'), obj.array([3]), obj.array([0])]);
    expectBinaryError(indirect, /reference cycle: object 0/);
  });

  it('allows the same object referenced twice when that is not a cycle', () => {
    const shared = bplist([obj.array([1, 1]), obj.array([2]), obj.ascii('x')]);
    const value = parsePlist(shared) as PlistValue[][];
    expect(value).toEqual([['x'], ['x']]);
    expect(value[0]).not.toBe(value[1]); // separate copies: results are trees
  });

  it('refuses lengths that run past the object area', () => {
    // A string claiming 2^64-1 characters, via an 8-byte count.
    const huge = bplist([[0x5f, 0x13, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x41]]);
    expectBinaryError(huge, /ASCII string of .* bytes .* runs past the object area/, 8);
    expectBinaryError(bplist([[0x4f, 0x10, 0x40, 1, 2]]), /data of 64 bytes/, 8);
    expectBinaryError(bplist([[0x6f, 0x11, 0x01, 0x00, 0, 0x41]]), /UTF-16 string of 512 bytes/, 8);
    expectBinaryError(bplist([[0xa5, 0]]), /reference list of 5 bytes/, 8);
    expectBinaryError(bplist([[0xd2, 0, 0]]), /key and value references of 4 bytes/, 8);
    expectBinaryError(bplist([[0x13, 1, 2, 3], obj.ascii('pad')], { top: 0 }), /integer of 8 bytes/, 8);
    expectBinaryError(bplist([[0x23, 1, 2]]), /real of 8 bytes/, 8);
    expectBinaryError(bplist([[0x33, 1]]), /date of 8 bytes/, 8);
    expectBinaryError(bplist([[0x83, 1]]), /UID of 4 bytes/, 8);
  });

  it('refuses 16-byte integers beyond 64 bits, which CoreFoundation and Python read differently', () => {
    expectBinaryError(bplist([obj.int128(-5n)]), /16-byte integer beyond 64 bits/, 8);
    expectBinaryError(bplist([obj.int128(2n ** 64n)]), /16-byte integer beyond 64 bits/, 8);
  });

  it('refuses a count marker not followed by an integer object', () => {
    expectBinaryError(bplist([[0x5f, 0x51, 0x41, 0x41]]), /count must be a 1-8 byte integer object, found marker 0x51/, 9);
    expectBinaryError(bplist([[0x5f, 0x14, ...new Array<number>(16).fill(0)]]), /found marker 0x14/, 9);
    expectBinaryError(bplist([[0x5f]]), /count marker of 1 bytes/, 8);
  });

  it('refuses unknown markers', () => {
    for (const marker of [0x01, 0x0c, 0x21, 0x24, 0x34, 0x70, 0x90, 0xb0, 0xe0, 0xf0]) {
      expectBinaryError(bplist([[marker, 0, 0, 0, 0, 0, 0, 0, 0]]), /unknown object marker|a real of marker/, 8);
    }
    expectBinaryError(bplist([[0x15, ...new Array<number>(32).fill(0)]]), /integer of 2\^5 bytes/, 8);
  });

  it('refuses null and fill objects, which have no plist value', () => {
    expectBinaryError(bplist([[0x00]]), /null object/, 8);
    expectBinaryError(bplist([obj.array([1]), [0x0f]]), /fill byte/, 10);
  });

  it('refuses dictionary keys that are not strings, without expanding them', () => {
    expectBinaryError(bplist([obj.dict([1], [1]), obj.uint8(1)]), /dictionary key \(object 1\) is not a string/, 9);
    // A key that is the dictionary itself: refused as a non-string, not followed as a cycle.
    expectBinaryError(bplist([obj.dict([0], [0])]), /dictionary key \(object 0\) is not a string/, 9);
  });

  it('refuses duplicate keys, even when spelled as ASCII and as UTF-16', () => {
    expectBinaryError(bplist([obj.dict([1, 1], [2, 2]), obj.ascii('k'), obj.uint8(1)]), /duplicate key "k"/, 10);
    expectBinaryError(bplist([obj.dict([1, 2], [3, 3]), obj.ascii('k'), obj.utf16('k'), obj.uint8(1)]), /duplicate key "k"/, 10);
  });

  it('refuses non-ASCII bytes in an ASCII string', () => {
    expectBinaryError(bplist([[0x52, 0x41, 0xe9]]), /byte 0xe9 in an ASCII string/, 10);
  });

  it('refuses dates that are not finite or past what a Date holds', () => {
    expectBinaryError(bplist([obj.date(NaN)]), /date NaN s after 2001 is out of range/, 8);
    expectBinaryError(bplist([obj.date(1e300)]), /out of range/, 8);
  });

  it('refuses UIDs wider than 32 bits', () => {
    expectBinaryError(bplist([obj.uid(2 ** 40, 8)]), /UID 1099511627776 is larger than 32 bits/, 8);
  });

  it('refuses other bplist versions', () => {
    const buf = valid();
    buf.write('15', 6, 'latin1');
    expectBinaryError(buf, /unsupported binary plist version "15"/, 6);
  });

  it('refuses nesting deeper than maxDepth', () => {
    // 300 arrays, each holding the next, with 2-byte references.
    const chain = Array.from({ length: 300 }, (_, i) => (i < 299 ? obj.array([i + 1], 2) : obj.true()));
    const buf = bplist(chain, { refSize: 2, offsetSize: 2 });
    expectBinaryError(buf, /nesting deeper than 256 levels/);
    expectBinaryError(buf, /nesting deeper than 10 levels/, undefined, { maxDepth: 10 });
    expect(() => parsePlist(buf, { maxDepth: 300 })).not.toThrow();
  });

  it('stops a "billion laughs" of shared references at maxValues, quickly', () => {
    // 40 levels, each an array referencing the next level twice: 2^40 values if expanded.
    const levels = Array.from({ length: 40 }, (_, i) => obj.array([i + 1, i + 1]));
    const buf = bplist([...levels, obj.ascii('lol')]);
    const started = performance.now();
    expectBinaryError(buf, /more than 1000000 values/);
    expect(performance.now() - started).toBeLessThan(5_000);
    expectBinaryError(buf, /more than 100 values/, undefined, { maxValues: 100 });
  });

  it('stops repeated copies of one large data object at maxDataBytes', () => {
    const buf = bplist([obj.array(new Array<number>(40).fill(1), 1), obj.data(new Array<number>(1024 * 1024).fill(7))], { offsetSize: 4 });
    expectBinaryError(buf, /more than 33554432 bytes of data values/, 8 + 3 + 40);
    expect((parsePlist(buf, { maxDataBytes: 64 * 1024 * 1024 }) as Uint8Array[]).length).toBe(40);
  });

  it('refuses inputs over maxBytes before reading them', () => {
    let caught: unknown;
    try {
      parsePlist(valid(), { maxBytes: 20 });
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(PlistError);
    expect((caught as PlistError).reason).toMatch(/over the 20-byte limit/);
    expect((caught as PlistError).offset).toBe(20);
  });
});
