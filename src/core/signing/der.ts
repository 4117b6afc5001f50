/**
 * A small, strict reader of DER (X.690) over a Uint8Array, for the structures an
 * Authenticode signature holds. It decodes one level at a time, on demand: an element is
 * its tag, its full bytes and its content bytes, both subarrays of the input (no copies),
 * and the schema code asks for an element's children only where it needs them.
 *
 * Strict by default: definite lengths in their shortest form, no trailing bytes inside a
 * constructed element, no zero-padded tag numbers. BER is tolerated only where callers ask
 * for it (`ber: true`): indefinite lengths on constructed elements and long-form lengths
 * that are not the shortest, as some RFC 3161 timestamping services and PKCS#7 producers
 * write around the encapsulated content, and constructed OCTET STRINGs (their segments
 * concatenated). Signed bytes (certificates'
 * tbsCertificate, signed attributes) are always read as DER, so what is hashed is what was
 * signed.
 *
 * Hostile input is bounded: nesting depth (only BER scanning and constructed strings
 * recurse) and the number of children of one element. Every problem is a
 * SignatureFormatError naming what was being read and the offset in the input.
 */
import { SignatureFormatError } from './signature-format-error.js';

export const TAG_CLASS_UNIVERSAL = 0;
export const TAG_CLASS_APPLICATION = 1;
export const TAG_CLASS_CONTEXT = 2;
export const TAG_CLASS_PRIVATE = 3;

/** Universal tag numbers used here. */
export const TAG = {
  BOOLEAN: 1,
  INTEGER: 2,
  BIT_STRING: 3,
  OCTET_STRING: 4,
  NULL: 5,
  OID: 6,
  UTF8_STRING: 12,
  SEQUENCE: 16,
  SET: 17,
  NUMERIC_STRING: 18,
  PRINTABLE_STRING: 19,
  TELETEX_STRING: 20,
  VIDEOTEX_STRING: 21,
  IA5_STRING: 22,
  UTC_TIME: 23,
  GENERALIZED_TIME: 24,
  GRAPHIC_STRING: 25,
  VISIBLE_STRING: 26,
  GENERAL_STRING: 27,
  UNIVERSAL_STRING: 28,
  CHARACTER_STRING: 29,
  BMP_STRING: 30,
} as const;

/** Bounds on hostile input. */
export const MAX_DER_DEPTH = 32;
export const MAX_DER_CHILDREN = 10_000;

export interface DerElement {
  tagClass: number;
  tagNumber: number;
  constructed: boolean;
  /** Offset of the element in the buffer the outermost parse started from. */
  offset: number;
  /** Identifier, length and content octets (for an indefinite length, the end-of-contents too). */
  bytes: Uint8Array;
  /** Content octets (without an indefinite length's end-of-contents). */
  content: Uint8Array;
  /** Offset of the content in the outermost buffer. */
  contentOffset: number;
  /** Read with an indefinite length (BER). */
  indefinite: boolean;
  /** BER was allowed where this element was read; its children are read the same way. */
  ber: boolean;
}

export interface ReadOptions {
  /** Tolerate BER: indefinite lengths on constructed elements. */
  ber?: boolean;
}

function fail(what: string, offset: number, problem: string): never {
  throw new SignatureFormatError(`${what} is not valid DER: ${problem} at offset ${offset}`);
}

/**
 * The element starting at `pos` in `buf`; `base` is buf's own offset in the outermost
 * input (for messages). Does not look past the element.
 */
function readAt(buf: Uint8Array, pos: number, base: number, what: string, ber: boolean, depth: number): DerElement {
  const start = pos;
  const at = () => base + pos;
  if (depth > MAX_DER_DEPTH) fail(what, at(), `nesting deeper than ${MAX_DER_DEPTH} levels`);
  if (pos >= buf.length) fail(what, at(), 'missing element (end of data)');
  const id = buf[pos++]!;
  const tagClass = id >> 6;
  const constructed = (id & 0x20) !== 0;
  let tagNumber = id & 0x1f;
  if (tagNumber === 0x1f) {
    tagNumber = 0;
    let first = true;
    for (;;) {
      if (pos >= buf.length) fail(what, at(), 'truncated tag');
      const b = buf[pos++]!;
      if (first && b === 0x80) fail(what, at() - 1, 'tag number with a leading zero group');
      first = false;
      tagNumber = tagNumber * 128 + (b & 0x7f);
      if (tagNumber > 0x1fffff) fail(what, at() - 1, 'tag number too large');
      if ((b & 0x80) === 0) break;
    }
    if (tagNumber < 0x1f) fail(what, at() - 1, 'multi-byte tag for a number below 31');
  }
  if (pos >= buf.length) fail(what, at(), 'truncated length');
  const first = buf[pos++]!;
  let length: number;
  let indefinite = false;
  if (first < 0x80) {
    length = first;
  } else if (first === 0x80) {
    if (!ber) fail(what, at() - 1, 'indefinite length (BER, not DER)');
    if (!constructed) fail(what, at() - 1, 'indefinite length on a primitive element');
    indefinite = true;
    length = 0;
  } else if (first === 0xff) {
    fail(what, at() - 1, 'reserved length octet 0xff');
  } else {
    const n = first & 0x7f;
    if (n > 4) fail(what, at() - 1, `length of ${n} octets is too large`);
    if (pos + n > buf.length) fail(what, at(), 'truncated length');
    if (buf[pos] === 0 && !ber) fail(what, at(), 'length with a leading zero octet');
    length = 0;
    for (let i = 0; i < n; i++) length = length * 256 + buf[pos++]!;
    if (length < 0x80 && !ber) fail(what, at() - n, `long-form length for ${length} octets`);
  }
  const contentStart = pos;
  if (!indefinite) {
    if (length > buf.length - contentStart) {
      fail(what, base + start, `element of ${length} content octets runs past the end of its ${buf.length - contentStart} available`);
    }
    return element(buf, start, contentStart, contentStart + length, contentStart + length, base, tagClass, tagNumber, constructed, false, ber);
  }
  // Indefinite: the children up to the end-of-contents octets 00 00.
  let p = contentStart;
  for (let count = 0; ; count++) {
    if (count > MAX_DER_CHILDREN) fail(what, base + p, `more than ${MAX_DER_CHILDREN} elements`);
    if (p + 2 <= buf.length && buf[p] === 0 && buf[p + 1] === 0) break;
    if (p >= buf.length) fail(what, base + p, 'indefinite length without end-of-contents');
    const child = readAt(buf, p, base, what, true, depth + 1);
    p = child.offset - base + child.bytes.length;
  }
  return element(buf, start, contentStart, p, p + 2, base, tagClass, tagNumber, constructed, true, true);
}

function element(
  buf: Uint8Array,
  start: number,
  contentStart: number,
  contentEnd: number,
  end: number,
  base: number,
  tagClass: number,
  tagNumber: number,
  constructed: boolean,
  indefinite: boolean,
  ber: boolean,
): DerElement {
  return {
    tagClass,
    tagNumber,
    constructed,
    offset: base + start,
    bytes: buf.subarray(start, end),
    content: buf.subarray(contentStart, contentEnd),
    contentOffset: base + contentStart,
    indefinite,
    ber,
  };
}

/**
 * The element at the start of `bytes`. With `allowTrailing`, bytes after it are not
 * looked at (a PKCS#7 blob padded to 8 bytes in its WIN_CERTIFICATE entry); otherwise
 * they are an error.
 */
export function readDer(bytes: Uint8Array, what: string, opts: ReadOptions & { allowTrailing?: boolean; offset?: number } = {}): DerElement {
  const el = readAt(bytes, 0, opts.offset ?? 0, what, opts.ber === true, 0);
  if (!opts.allowTrailing && el.bytes.length !== bytes.length) {
    fail(what, (opts.offset ?? 0) + el.bytes.length, `${bytes.length - el.bytes.length} bytes after the element`);
  }
  return el;
}

/** Bound on the elements checkTree visits in one blob (an Authenticode blob has a few hundred). */
export const MAX_DER_ELEMENTS = 100_000;

/**
 * Reads every constructed element below `el` once, so that a blob whose encoding is broken
 * anywhere (a certificate no check needs, an unsigned attribute) is malformed as a whole,
 * as a full decoder (CryptoAPI's, or asn1js before this) finds it; the schema readers then
 * read only what they use. Primitive contents (OCTET STRINGs holding DER) are not entered.
 */
export function checkTree(el: DerElement, what: string): void {
  let count = 0;
  const stack: { el: DerElement; depth: number }[] = [{ el, depth: 0 }];
  while (stack.length) {
    const { el: next, depth } = stack.pop()!;
    if (!next.constructed) continue;
    if (depth >= MAX_DER_DEPTH) fail(what, next.offset, `nesting deeper than ${MAX_DER_DEPTH} levels`);
    for (const child of children(next, what)) {
      if (++count > MAX_DER_ELEMENTS) fail(what, child.offset, `more than ${MAX_DER_ELEMENTS} elements`);
      stack.push({ el: child, depth: depth + 1 });
    }
  }
}

/** The elements of a constructed element's content, which must fill it exactly. */
export function children(el: DerElement, what: string): DerElement[] {
  if (!el.constructed) fail(what, el.offset, 'expected a constructed element');
  const out: DerElement[] = [];
  const buf = el.content;
  let p = 0;
  while (p < buf.length) {
    if (out.length >= MAX_DER_CHILDREN) fail(what, el.contentOffset + p, `more than ${MAX_DER_CHILDREN} elements`);
    const child = readAt(buf, p, el.contentOffset, what, el.ber, 0);
    out.push(child);
    p += child.bytes.length;
  }
  return out;
}

export function isUniversal(el: DerElement | undefined, tagNumber: number): el is DerElement {
  return !!el && el.tagClass === TAG_CLASS_UNIVERSAL && el.tagNumber === tagNumber;
}

export function isContext(el: DerElement | undefined, tagNumber: number): el is DerElement {
  return !!el && el.tagClass === TAG_CLASS_CONTEXT && el.tagNumber === tagNumber;
}

function describe(el: DerElement | undefined): string {
  if (!el) return 'nothing';
  const cls = ['universal', 'application', 'context', 'private'][el.tagClass]!;
  return `${cls} tag ${el.tagNumber}${el.constructed ? ' (constructed)' : ''} at offset ${el.offset}`;
}

/** A universal element of the given type, or a SignatureFormatError naming what was found. */
export function expectUniversal(el: DerElement | undefined, tagNumber: number, what: string): DerElement {
  if (!isUniversal(el, tagNumber)) throw new SignatureFormatError(`${what}: expected ${TAG_NAMES[tagNumber] ?? `tag ${tagNumber}`}, found ${describe(el)}`);
  const shouldBeConstructed = tagNumber === TAG.SEQUENCE || tagNumber === TAG.SET;
  if (shouldBeConstructed !== el.constructed && !(el.ber && tagNumber === TAG.OCTET_STRING)) {
    fail(what, el.offset, `${TAG_NAMES[tagNumber]} with the wrong constructed bit`);
  }
  return el;
}

const TAG_NAMES: Record<number, string> = {
  [TAG.BOOLEAN]: 'BOOLEAN',
  [TAG.INTEGER]: 'INTEGER',
  [TAG.BIT_STRING]: 'BIT STRING',
  [TAG.OCTET_STRING]: 'OCTET STRING',
  [TAG.NULL]: 'NULL',
  [TAG.OID]: 'OBJECT IDENTIFIER',
  [TAG.SEQUENCE]: 'SEQUENCE',
  [TAG.SET]: 'SET',
  [TAG.UTC_TIME]: 'UTCTime',
  [TAG.GENERALIZED_TIME]: 'GeneralizedTime',
};

/** The children of a SEQUENCE (or SET). */
export function sequence(el: DerElement | undefined, what: string, tag: number = TAG.SEQUENCE): DerElement[] {
  return children(expectUniversal(el, tag, what), what);
}

/** Dotted-decimal OBJECT IDENTIFIER (X.690 8.19), refusing non-minimal sub-identifiers. */
export function oid(el: DerElement | undefined, what: string): string {
  const c = expectUniversal(el, TAG.OID, what).content;
  if (c.length === 0) fail(what, el!.offset, 'empty OBJECT IDENTIFIER');
  if (c[c.length - 1]! & 0x80) fail(what, el!.offset, 'OBJECT IDENTIFIER ends inside a sub-identifier');
  const arcs: string[] = [];
  let value = 0;
  let startOfArc = true;
  for (let i = 0; i < c.length; i++) {
    const b = c[i]!;
    if (startOfArc && b === 0x80) fail(what, el!.contentOffset + i, 'OBJECT IDENTIFIER sub-identifier with a leading zero group');
    startOfArc = false;
    value = value * 128 + (b & 0x7f);
    if (value > Number.MAX_SAFE_INTEGER / 128) fail(what, el!.contentOffset + i, 'OBJECT IDENTIFIER sub-identifier too large');
    if ((b & 0x80) === 0) {
      if (arcs.length === 0) {
        const first = value < 40 ? 0 : value < 80 ? 1 : 2;
        arcs.push(String(first), String(value - 40 * first));
      } else {
        arcs.push(String(value));
      }
      value = 0;
      startOfArc = true;
    }
  }
  return arcs.join('.');
}

/** An INTEGER's two's-complement content octets, refusing non-minimal encodings. */
export function integerBytes(el: DerElement | undefined, what: string): Uint8Array {
  const c = expectUniversal(el, TAG.INTEGER, what).content;
  if (c.length === 0) fail(what, el!.offset, 'empty INTEGER');
  if (c.length > 1 && ((c[0] === 0 && !(c[1]! & 0x80)) || (c[0] === 0xff && c[1]! & 0x80))) {
    fail(what, el!.offset, 'INTEGER with a redundant leading octet');
  }
  return c;
}

/** A small non-negative INTEGER (a version, a salt length) as a number. */
export function smallInteger(el: DerElement | undefined, what: string): number {
  const c = integerBytes(el, what);
  if (c[0]! & 0x80) fail(what, el!.offset, 'negative INTEGER');
  if (c.length > 4) fail(what, el!.offset, 'INTEGER too large');
  let n = 0;
  for (const b of c) n = n * 256 + b;
  return n;
}

/**
 * An OCTET STRING's content. A constructed one (BER, only where it was read with `ber`)
 * is its segments concatenated, the one case that copies.
 */
export function octetString(el: DerElement | undefined, what: string, depth = 0): Uint8Array {
  const e = expectUniversal(el, TAG.OCTET_STRING, what);
  if (!e.constructed) return e.content;
  if (depth >= MAX_DER_DEPTH) fail(what, e.offset, `constructed OCTET STRING nested deeper than ${MAX_DER_DEPTH} levels`);
  const parts = children(e, what).map((c) => octetString(c, what, depth + 1));
  return Buffer.concat(parts);
}

/** A BIT STRING's bits, which must be whole octets (keys and signatures are). */
export function bitStringBytes(el: DerElement | undefined, what: string): Uint8Array {
  const e = expectUniversal(el, TAG.BIT_STRING, what);
  const c = e.content;
  if (c.length === 0) fail(what, e.offset, 'empty BIT STRING');
  if (c[0] !== 0) fail(what, e.offset, `BIT STRING with ${c[0]} unused bits`);
  return c.subarray(1);
}

const UTC_TIME = /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/;
const GENERALIZED_TIME = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(?:\.(\d*[1-9]))?Z$/;

function utcDate(y: number, mo: number, d: number, h: number, mi: number, s: number, ms: number): Date | undefined {
  if (mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || s > 59) return undefined;
  const date = new Date(Date.UTC(y, mo - 1, d, h, mi, s, ms));
  if (y < 100) date.setUTCFullYear(y);
  return date.getUTCDate() === d ? date : undefined; // 31 February is not a day
}

/**
 * A UTCTime or GeneralizedTime as RFC 5280 4.1.2.5 writes them: UTCTime YYMMDDHHMMSSZ
 * (years 50-99 are 19xx), GeneralizedTime YYYYMMDDHHMMSSZ, with the fractional seconds
 * RFC 3161 allows in a TSTInfo's genTime (no trailing zeros; milliseconds kept). Anything
 * else (no seconds, a time zone offset, 25:00) is undefined: not a time.
 */
export function time(el: DerElement | undefined): Date | undefined {
  if (!el || el.tagClass !== TAG_CLASS_UNIVERSAL || el.constructed) return undefined;
  const s = latin1(el.content);
  if (el.tagNumber === TAG.UTC_TIME) {
    const m = UTC_TIME.exec(s);
    if (!m) return undefined;
    const yy = Number(m[1]);
    return utcDate(yy >= 50 ? 1900 + yy : 2000 + yy, +m[2]!, +m[3]!, +m[4]!, +m[5]!, +m[6]!, 0);
  }
  if (el.tagNumber === TAG.GENERALIZED_TIME) {
    const m = GENERALIZED_TIME.exec(s);
    if (!m) return undefined;
    const ms = m[7] ? Math.floor(Number(`0.${m[7]}`) * 1000) : 0;
    return utcDate(+m[1]!, +m[2]!, +m[3]!, +m[4]!, +m[5]!, +m[6]!, ms);
  }
  return undefined;
}

function latin1(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
}

const ONE_BYTE_STRINGS: ReadonlySet<number> = new Set([
  TAG.NUMERIC_STRING,
  TAG.PRINTABLE_STRING,
  TAG.TELETEX_STRING,
  TAG.VIDEOTEX_STRING,
  TAG.IA5_STRING,
  TAG.UTC_TIME,
  TAG.GENERALIZED_TIME,
  TAG.GRAPHIC_STRING,
  TAG.VISIBLE_STRING,
  TAG.GENERAL_STRING,
  TAG.CHARACTER_STRING,
]);

/** Whether the element is one of ASN.1's character string types. */
export function isStringType(el: DerElement): boolean {
  return (
    el.tagClass === TAG_CLASS_UNIVERSAL &&
    !el.constructed &&
    (ONE_BYTE_STRINGS.has(el.tagNumber) || el.tagNumber === TAG.UTF8_STRING || el.tagNumber === TAG.BMP_STRING || el.tagNumber === TAG.UNIVERSAL_STRING) &&
    el.tagNumber !== TAG.UTC_TIME &&
    el.tagNumber !== TAG.GENERALIZED_TIME
  );
}

/**
 * The text of a character string, decoded the way names have always been shown (the
 * asn1js decoders this replaced): one-byte types (PrintableString, IA5String,
 * TeletexString/T61 and the other ISO 2022 types) byte for byte as Latin-1; UTF8String as
 * UTF-8, or byte for byte when it is not valid UTF-8; BMPString as UTF-16BE;
 * UniversalString as UTF-32BE code units truncated to 16 bits. Undefined for an element
 * that is not a string.
 */
export function stringValue(el: DerElement): string | undefined {
  if (el.tagClass !== TAG_CLASS_UNIVERSAL || el.constructed) return undefined;
  const c = el.content;
  if (ONE_BYTE_STRINGS.has(el.tagNumber)) return latin1(c);
  if (el.tagNumber === TAG.UTF8_STRING) {
    try {
      return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(c);
    } catch {
      return latin1(c);
    }
  }
  if (el.tagNumber === TAG.BMP_STRING) {
    const even = Buffer.from(c.subarray(0, c.length - (c.length % 2)));
    return even.swap16().toString('utf16le');
  }
  if (el.tagNumber === TAG.UNIVERSAL_STRING) {
    let s = '';
    for (let i = 0; i + 3 < c.length; i += 4) s += String.fromCharCode(((c[i + 2]! << 8) | c[i + 3]!) & 0xffff);
    return s;
  }
  return undefined;
}

/** The element re-tagged with a different identifier octet, same length and content (DER). */
export function retag(el: DerElement, identifier: number): Uint8Array {
  const out = Buffer.from(el.bytes);
  out[0] = identifier;
  return out;
}
