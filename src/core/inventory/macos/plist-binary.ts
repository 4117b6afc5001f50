/**
 * Binary property lists ("bplist00") read into PlistValue, following CoreFoundation's
 * CFBinaryPList.c (the format's reference) and Python's plistlib (the independent peer).
 *
 * Layout: an 8-byte header "bplist00", the objects, an offset table (one big-endian
 * `offsetIntSize`-byte file offset per object), then a 32-byte trailer: 5 unused bytes, a
 * sort-version byte, offsetIntSize, objectRefSize, and three big-endian 64-bit fields:
 * object count, top object's index, offset table's file offset. Containers hold object
 * references (indexes into the offset table) of objectRefSize bytes.
 *
 * Object markers (high nibble, low nibble):
 *   0x00 null, 0x08 false, 0x09 true, 0x0F fill; 0x1n integer of 2^n bytes (1, 2, 4 bytes
 *   unsigned, 8 bytes signed, 16 bytes: see readInteger); 0x22/0x23 real (float32/float64); 0x33 date (float64
 *   seconds since 2001-01-01T00:00:00Z); 0x4n data, 0x5n ASCII string, 0x6n UTF-16BE
 *   string (n UTF-16 units), 0xAn array, 0xCn set, 0xDn dict (n keys, then n values),
 *   where n = 0xF means the count follows as an integer object; 0x8n UID of n+1 bytes.
 *
 * Checks, as CoreFoundation makes them (each a PlistError with the byte offset): the trailer
 * fits and its unused bytes are zero; sizes are 1-8 bytes and wide enough for the counts and
 * offsets they must hold; the file is exactly header + objects + offset table + trailer;
 * every offset points into the object area; every reference is below the object count;
 * every object and length fits before the offset table; dictionary keys are strings.
 * Beyond CoreFoundation: a reference cycle, a duplicate key in one dictionary (see
 * plist-xml.ts for why), nesting deeper than maxDepth, more than maxValues values or
 * maxDataBytes bytes of data in total are refused. null and fill objects have no PlistValue and are refused too.
 */
import { PlistError } from './plist-error.js';
import { hasDictEntry, plistInteger, setDictEntry, type PlistDict, type PlistLimits, type PlistValue } from './plist-value.js';

const HEADER_LENGTH = 8;
const TRAILER_LENGTH = 32;
/** Seconds between the Unix epoch and CoreFoundation's, 2001-01-01T00:00:00Z. */
const CF_EPOCH_UNIX_SECONDS = 978_307_200;
/** ECMAScript's Date range: ±8.64e15 ms around the Unix epoch. */
const MAX_DATE_MS = 8.64e15;
const UID_MAX = 0xffff_ffffn; // CoreFoundation keeps UIDs in 32 bits

interface Trailer {
  offsetIntSize: number;
  objectRefSize: number;
  numObjects: number;
  topObject: number;
  offsetTableOffset: number;
}

function fail(reason: string, offset: number): never {
  throw new PlistError('binary', reason, { offset });
}

function hex(byte: number): string {
  return `0x${byte.toString(16).padStart(2, '0')}`;
}

/** Reads an unsigned big-endian integer of 1-8 bytes; values past 2^53 lose precision but stay huge. */
function readUnsigned(buf: Uint8Array, at: number, size: number): number {
  let v = 0;
  for (let i = 0; i < size; i += 1) v = v * 256 + buf[at + i]!;
  return v;
}

function readBigUnsigned(buf: Uint8Array, at: number, size: number): bigint {
  let v = 0n;
  for (let i = 0; i < size; i += 1) v = (v << 8n) | BigInt(buf[at + i]!);
  return v;
}

function readTrailer(buf: Uint8Array): Trailer {
  const len = buf.length;
  // CoreFoundation's minimum: the header, one one-byte object and the trailer.
  if (len < HEADER_LENGTH + 1 + TRAILER_LENGTH) {
    fail(`truncated: ${len} bytes cannot hold a header, an object and the 32-byte trailer`, len);
  }
  const t = len - TRAILER_LENGTH;
  for (let i = 0; i < 6; i += 1) {
    if (buf[t + i] !== 0) fail(`trailer byte ${i} must be zero, found ${hex(buf[t + i]!)}`, t + i);
  }
  const offsetIntSize = buf[t + 6]!;
  const objectRefSize = buf[t + 7]!;
  if (offsetIntSize < 1 || offsetIntSize > 8) fail(`offset size ${offsetIntSize} is not 1-8 bytes`, t + 6);
  if (objectRefSize < 1 || objectRefSize > 8) fail(`object reference size ${objectRefSize} is not 1-8 bytes`, t + 7);
  const numObjects = readBigUnsigned(buf, t + 8, 8);
  const topObject = readBigUnsigned(buf, t + 16, 8);
  const tableOffset = readBigUnsigned(buf, t + 24, 8);
  if (numObjects < 1n) fail('the object count is zero', t + 8);
  if (topObject >= numObjects) fail(`top object ${topObject} is not below the object count ${numObjects}`, t + 16);
  if (tableOffset < BigInt(HEADER_LENGTH + 1) || tableOffset >= BigInt(t)) {
    fail(`offset table offset ${tableOffset} is outside the object area (9..${t - 1})`, t + 24);
  }
  // Exact fit: objects, then exactly numObjects offsets, then the trailer; nothing between.
  const tableEnd = tableOffset + numObjects * BigInt(offsetIntSize);
  if (tableEnd !== BigInt(t)) {
    fail(
      `offset table of ${numObjects} × ${offsetIntSize} bytes at ${tableOffset} ends at ${tableEnd}, not at the trailer (${t})`,
      t + 8,
    );
  }
  if (objectRefSize < 8 && numObjects > 1n << BigInt(8 * objectRefSize)) {
    fail(`${objectRefSize}-byte references cannot address ${numObjects} objects`, t + 7);
  }
  if (offsetIntSize < 8 && tableOffset > 1n << BigInt(8 * offsetIntSize)) {
    fail(`${offsetIntSize}-byte offsets cannot reach offset ${tableOffset}`, t + 6);
  }
  // All three are now below the buffer length, so they are exact as numbers.
  return {
    offsetIntSize,
    objectRefSize,
    numObjects: Number(numObjects),
    topObject: Number(topObject),
    offsetTableOffset: Number(tableOffset),
  };
}

class BinaryPlistReader {
  private values = 0;
  private dataBytes = 0;
  /** Strings by object index: keys repeat across dictionaries, and JS strings can be shared. */
  private readonly strings = new Map<number, string>();
  /** Objects being read on the current path from the top object: a repeat is a cycle. */
  private readonly onPath = new Set<number>();

  constructor(
    private readonly buf: Uint8Array,
    private readonly trailer: Trailer,
    private readonly limits: PlistLimits,
  ) {}

  read(): PlistValue {
    const { numObjects, offsetIntSize, offsetTableOffset } = this.trailer;
    for (let i = 0; i < numObjects; i += 1) {
      const at = offsetTableOffset + i * offsetIntSize;
      const off = readUnsigned(this.buf, at, offsetIntSize);
      if (off < HEADER_LENGTH || off >= offsetTableOffset) {
        fail(`object ${i} offset ${off} is outside the object area (8..${offsetTableOffset - 1})`, at);
      }
    }
    return this.readObject(this.trailer.topObject, 1, this.buf.length - 16);
  }

  private offsetOf(ref: number): number {
    const { offsetTableOffset, offsetIntSize } = this.trailer;
    return readUnsigned(this.buf, offsetTableOffset + ref * offsetIntSize, offsetIntSize);
  }

  /** Fails unless `length` bytes starting at `at` lie before the offset table. */
  private need(at: number, length: number, what: string, objectAt: number): void {
    if (length > this.trailer.offsetTableOffset - at) {
      fail(`${what} of ${length} bytes at ${at} runs past the object area`, objectAt);
    }
  }

  /** Reads the reference at `at`, checking it names an object. */
  private readRef(at: number): number {
    const ref = readUnsigned(this.buf, at, this.trailer.objectRefSize);
    if (ref >= this.trailer.numObjects) fail(`reference ${ref} is not below the object count ${this.trailer.numObjects}`, at);
    return ref;
  }

  /** The element count of a data/string/array/set/dict object; `at` is just after the marker. */
  private readCount(marker: number, at: number, objectAt: number): { count: number; next: number } {
    const low = marker & 0x0f;
    if (low !== 0x0f) return { count: low, next: at };
    this.need(at, 1, 'count marker', objectAt);
    const intMarker = this.buf[at]!;
    if ((intMarker & 0xf0) !== 0x10 || (intMarker & 0x0f) > 3) {
      fail(`a count must be a 1-8 byte integer object, found marker ${hex(intMarker)}`, at);
    }
    const size = 1 << (intMarker & 0x0f);
    this.need(at + 1, size, 'count', objectAt);
    // No count can exceed the input size, so a precision-losing huge value still fails the
    // later length check.
    return { count: readUnsigned(this.buf, at + 1, size), next: at + 1 + size };
  }

  private count(at: number): void {
    this.values += 1;
    if (this.values > this.limits.maxValues) fail(`more than ${this.limits.maxValues} values`, at);
  }

  /** `from` is where the reference was read (the trailer's top-object field for the root). */
  private readObject(ref: number, depth: number, from: number): PlistValue {
    if (this.onPath.has(ref)) fail(`reference cycle: object ${ref} contains itself`, from);
    const at = this.offsetOf(ref);
    this.count(at);
    const marker = this.buf[at]!;
    const high = marker & 0xf0;
    const low = marker & 0x0f;
    const body = at + 1;
    switch (high) {
      case 0x00:
        if (marker === 0x08) return false;
        if (marker === 0x09) return true;
        if (marker === 0x00) fail('null object: it has no plist value', at);
        if (marker === 0x0f) fail('fill byte where an object should be', at);
        return fail(`unknown object marker ${hex(marker)}`, at);
      case 0x10:
        return this.readInteger(low, body, at);
      case 0x20: {
        if (low !== 2 && low !== 3) fail(`a real of marker ${hex(marker)} (only 4 and 8 bytes exist)`, at);
        const size = low === 2 ? 4 : 8;
        this.need(body, size, 'real', at);
        const view = new DataView(this.buf.buffer, this.buf.byteOffset + body, size);
        return size === 4 ? view.getFloat32(0) : view.getFloat64(0);
      }
      case 0x30: {
        if (marker !== 0x33) fail(`unknown object marker ${hex(marker)}`, at);
        this.need(body, 8, 'date', at);
        const seconds = new DataView(this.buf.buffer, this.buf.byteOffset + body, 8).getFloat64(0);
        const ms = Math.round(seconds * 1000) + CF_EPOCH_UNIX_SECONDS * 1000;
        if (!Number.isFinite(ms) || Math.abs(ms) > MAX_DATE_MS) fail(`date ${seconds} s after 2001 is out of range`, at);
        return new Date(ms);
      }
      case 0x40: {
        const { count, next } = this.readCount(marker, body, at);
        this.need(next, count, 'data', at);
        this.dataBytes += count;
        if (this.dataBytes > this.limits.maxDataBytes) fail(`more than ${this.limits.maxDataBytes} bytes of data values`, at);
        // A copy, as a plain Uint8Array: results never pin or alias the input (a Buffer's
        // slice() would be a view).
        return new Uint8Array(this.buf.subarray(next, next + count));
      }
      case 0x50:
      case 0x60: {
        // Each string object is decoded once, so decoding work stays within the input size
        // however often it is referenced.
        let text = this.strings.get(ref);
        if (text === undefined) {
          text = high === 0x50 ? this.readAscii(marker, body, at) : this.readUtf16(marker, body, at);
          this.strings.set(ref, text);
        }
        return text;
      }
      case 0x80: {
        const size = low + 1;
        this.need(body, size, 'UID', at);
        const uid = readBigUnsigned(this.buf, body, size);
        if (uid > UID_MAX) fail(`UID ${uid} is larger than 32 bits`, at);
        const dict: PlistDict = {};
        setDictEntry(dict, 'CF$UID', Number(uid));
        return dict;
      }
      case 0xa0:
      case 0xc0: // a set: plists have no set type for callers, so it reads as an array
        return this.readArray(ref, marker, body, at, depth);
      case 0xd0:
        return this.readDict(ref, marker, body, at, depth);
      default:
        return fail(`unknown object marker ${hex(marker)}`, at);
    }
  }

  private readInteger(low: number, body: number, at: number): number | bigint {
    if (low > 4) fail(`an integer of 2^${low} bytes (only 1-16 bytes exist)`, at);
    const size = 1 << low;
    this.need(body, size, 'integer', at);
    if (size === 16) {
      // Writers use 16 bytes only for 2^63..2^64-1. CoreFoundation then reads the low 64
      // bits as unsigned, Python's plistlib all 128 as signed: they agree only when the high
      // half is zero, so anything else is refused rather than read one way or the other.
      if (readBigUnsigned(this.buf, body, 8) !== 0n) fail('16-byte integer beyond 64 bits', at);
      return plistInteger(readBigUnsigned(this.buf, body + 8, 8));
    }
    const value = readBigUnsigned(this.buf, body, size);
    // 1, 2 and 4-byte integers are unsigned; 8-byte ones are two's complement.
    return plistInteger(size === 8 && value >= 1n << 63n ? value - (1n << 64n) : value);
  }

  private readAscii(marker: number, body: number, at: number): string {
    const { count, next } = this.readCount(marker, body, at);
    this.need(next, count, 'ASCII string', at);
    for (let i = next; i < next + count; i += 1) {
      if (this.buf[i]! > 0x7f) fail(`byte ${hex(this.buf[i]!)} in an ASCII string`, i);
    }
    return Buffer.from(this.buf.buffer, this.buf.byteOffset + next, count).toString('latin1');
  }

  private readUtf16(marker: number, body: number, at: number): string {
    const { count, next } = this.readCount(marker, body, at);
    this.need(next, count * 2, 'UTF-16 string', at);
    // Code units are copied as they are, as CoreFoundation does, unpaired surrogates included.
    const units = new Array<number>(count);
    for (let i = 0; i < count; i += 1) units[i] = (this.buf[next + 2 * i]! << 8) | this.buf[next + 2 * i + 1]!;
    let out = '';
    for (let i = 0; i < count; i += 8192) out += String.fromCharCode(...units.slice(i, i + 8192));
    return out;
  }

  private enter(ref: number, at: number, depth: number): void {
    if (depth > this.limits.maxDepth) fail(`nesting deeper than ${this.limits.maxDepth} levels`, at);
    this.onPath.add(ref);
  }

  private readArray(ref: number, marker: number, body: number, at: number, depth: number): PlistValue[] {
    const { count, next } = this.readCount(marker, body, at);
    const refSize = this.trailer.objectRefSize;
    this.need(next, count * refSize, 'reference list', at);
    this.enter(ref, at, depth);
    const items: PlistValue[] = [];
    for (let i = 0; i < count; i += 1) {
      const refAt = next + i * refSize;
      items.push(this.readObject(this.readRef(refAt), depth + 1, refAt));
    }
    this.onPath.delete(ref);
    return items;
  }

  private readDict(ref: number, marker: number, body: number, at: number, depth: number): PlistDict {
    const { count, next } = this.readCount(marker, body, at);
    const refSize = this.trailer.objectRefSize;
    this.need(next, count * 2 * refSize, 'key and value references', at);
    this.enter(ref, at, depth);
    const dict: PlistDict = {};
    for (let i = 0; i < count; i += 1) {
      const keyRefAt = next + i * refSize;
      const valueRefAt = next + (count + i) * refSize;
      const keyRef = this.readRef(keyRefAt);
      const keyMarker = this.buf[this.offsetOf(keyRef)]! & 0xf0;
      // Checked before reading, so a container used as a key is never expanded.
      if (keyMarker !== 0x50 && keyMarker !== 0x60) fail(`dictionary key (object ${keyRef}) is not a string`, keyRefAt);
      const key = this.readObject(keyRef, depth + 1, keyRefAt) as string;
      if (hasDictEntry(dict, key)) fail(`duplicate key ${JSON.stringify(key.slice(0, 60))}`, keyRefAt);
      setDictEntry(dict, key, this.readObject(this.readRef(valueRefAt), depth + 1, valueRefAt));
    }
    this.onPath.delete(ref);
    return dict;
  }
}

/** Parses a binary plist; the caller has checked the "bplist00" header and the size limit. */
export function parseBinaryPlist(buf: Uint8Array, limits: PlistLimits): PlistValue {
  return new BinaryPlistReader(buf, readTrailer(buf), limits).read();
}
