/**
 * XML property lists (Apple's PropertyList-1.0 DTD) read into PlistValue.
 *
 * Accepted: UTF-8 with or without a BOM; a `<plist>` root holding exactly one value, or a
 * bare value as the root (as Python's plistlib does); elements dict, key, string, integer
 * (decimal or 0x-hex, optionally signed, from -2^63 to 2^64-1: CoreFoundation's range, and
 * what every writer produces), real (decimal, also
 * nan/inf/infinity as Python and CF write them), true, false, date (ISO 8601
 * `YYYY-MM-DDTHH:MM:SSZ`, UTC), data (base64, whitespace ignored, padding optional), array.
 *
 * Refused, each as a PlistError with line:column: any other element, text between elements,
 * a `<key>` outside a dictionary or without a value, a duplicate key in one dictionary
 * (CF keeps the last and other readers the first, so an attacker could show Vigil one
 * version and macOS another: refusing turns that into a visible "unreadable" instead),
 * nesting or value counts beyond the limits, and everything the tokenizer refuses.
 */
import { PlistError } from './plist-error.js';
import { isXmlWhitespace, lineColumn, XmlTokenizer, type XmlToken } from './xml-tokenizer.js';
import {
  hasDictEntry,
  plistInteger,
  setDictEntry,
  type PlistDict,
  type PlistLimits,
  type PlistValue,
} from './plist-value.js';

type StartToken = Extract<XmlToken, { kind: 'start' }>;

const INT_RE = /^([+-]?)(?:0[xX]([0-9A-Fa-f]{1,40})|([0-9]{1,45}))$/;
const REAL_RE = /^[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$/;
const SPECIAL_REALS: Record<string, number> = {
  nan: NaN,
  '+nan': NaN,
  '-nan': NaN,
  inf: Infinity,
  '+inf': Infinity,
  '-inf': -Infinity,
  infinity: Infinity,
  '+infinity': Infinity,
  '-infinity': -Infinity,
};
const DATE_RE = /^([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})Z$/;
const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
const BASE64_RE = /^[A-Za-z0-9+/]*={0,2}$/;
const INT_MIN = -(2n ** 63n);
const INT_MAX = 2n ** 64n - 1n;

/** Parses an XML plist; `bytes` holds the whole document. */
export function parseXmlPlist(bytes: Uint8Array, limits: PlistLimits): PlistValue {
  const hasBom = bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf;
  const body = hasBom ? bytes.subarray(3) : bytes;
  const text = decodeUtf8(body);
  // XML 1.0 §2.11: CR LF and lone CR become LF before parsing.
  return new XmlPlistReader(new XmlTokenizer(text.replace(/\r\n?/g, '\n')), limits).readDocument();
}

function decodeUtf8(bytes: Uint8Array): string {
  try {
    // ignoreBOM keeps a second U+FEFF as a character, which the tokenizer then reports.
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    const bad = firstInvalidUtf8(bytes);
    const prefix = new TextDecoder('utf-8', { ignoreBOM: true }).decode(bytes.subarray(0, bad)).replace(/\r\n?/g, '\n');
    throw new PlistError(
      'xml',
      `invalid UTF-8 at byte ${bad} of the text (0x${(bytes[bad] ?? 0).toString(16).padStart(2, '0')})`,
      lineColumn(prefix, prefix.length),
    );
  }
}

/** Index of the first byte that does not start or continue a valid UTF-8 sequence. */
function firstInvalidUtf8(bytes: Uint8Array): number {
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i]!;
    if (b < 0x80) {
      i += 1;
      continue;
    }
    let need: number;
    let min: number;
    let cp: number;
    if (b >= 0xc2 && b <= 0xdf) [need, min, cp] = [1, 0x80, b & 0x1f];
    else if (b >= 0xe0 && b <= 0xef) [need, min, cp] = [2, 0x800, b & 0x0f];
    else if (b >= 0xf0 && b <= 0xf4) [need, min, cp] = [3, 0x10000, b & 0x07];
    else return i;
    for (let k = 1; k <= need; k += 1) {
      const c = bytes[i + k];
      if (c === undefined || (c & 0xc0) !== 0x80) return i;
      cp = (cp << 6) | (c & 0x3f);
    }
    // Overlong forms, UTF-16 surrogates and code points past U+10FFFF are all invalid.
    if (cp < min || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff) return i;
    i += need + 1;
  }
  return bytes.length;
}

function quoteKey(key: string): string {
  return JSON.stringify(key.length > 60 ? `${key.slice(0, 60)}…` : key);
}

class XmlPlistReader {
  private values = 0;
  private dataBytes = 0;

  constructor(
    private readonly tokens: XmlTokenizer,
    private readonly limits: PlistLimits,
  ) {}

  private fail(reason: string, pos: number): never {
    return this.tokens.fail(reason, pos);
  }

  readDocument(): PlistValue {
    const root = this.tokens.next();
    if (root.kind !== 'start') return this.fail('no root element', root.pos);
    let value: PlistValue;
    if (root.name === 'plist') {
      if (root.selfClosing) this.fail('<plist> is empty', root.pos);
      const first = this.nextInContainer(root);
      if (first.kind !== 'start') this.fail('<plist> is empty', first.pos);
      value = this.readValue(first, 1);
      const after = this.nextInContainer(root);
      if (after.kind !== 'end') this.fail('<plist> must hold exactly one value', after.pos);
    } else {
      value = this.readValue(root, 1);
    }
    // The tokenizer allows only comments, PIs and whitespace after the root.
    const end = this.tokens.next();
    if (end.kind !== 'eof') this.fail('content after the root element', end.pos);
    return value;
  }

  /** The next start or end tag directly inside `container`; only whitespace may come between. */
  private nextInContainer(container: StartToken): Extract<XmlToken, { kind: 'start' | 'end' }> {
    for (;;) {
      const t = this.tokens.next();
      if (t.kind === 'start' || t.kind === 'end') return t;
      if (t.kind === 'eof') return this.fail(`<${container.name}> is not closed`, t.pos);
      if (!isXmlWhitespace(t.text)) this.fail(`text is not allowed directly inside <${container.name}>`, t.pos);
    }
  }

  private count(pos: number): void {
    this.values += 1;
    if (this.values > this.limits.maxValues) this.fail(`more than ${this.limits.maxValues} values`, pos);
  }

  private readValue(t: StartToken, depth: number): PlistValue {
    this.count(t.pos);
    switch (t.name) {
      case 'dict':
        return this.readDict(t, depth);
      case 'array':
        return this.readArray(t, depth);
      case 'string':
        return this.readText(t);
      case 'integer':
        return this.parseInteger(this.readText(t).trim(), t);
      case 'real':
        return this.parseReal(this.readText(t).trim(), t);
      case 'true':
      case 'false':
        if (!isXmlWhitespace(this.readText(t))) this.fail(`<${t.name}> must be empty`, t.pos);
        return t.name === 'true';
      case 'date':
        return this.parseDate(this.readText(t).trim(), t);
      case 'data':
        return this.parseData(this.readText(t), t);
      case 'key':
        return this.fail('<key> outside a <dict>', t.pos);
      case 'plist':
        return this.fail('<plist> inside a value', t.pos);
      default:
        return this.fail(`unknown element <${t.name}>`, t.pos);
    }
  }

  private enter(t: StartToken, depth: number): void {
    if (depth > this.limits.maxDepth) this.fail(`nesting deeper than ${this.limits.maxDepth} levels`, t.pos);
  }

  private readDict(t: StartToken, depth: number): PlistDict {
    this.enter(t, depth);
    const dict: PlistDict = {};
    if (t.selfClosing) return dict;
    for (;;) {
      const k = this.nextInContainer(t);
      if (k.kind === 'end') return dict;
      if (k.name !== 'key') this.fail(`expected <key> in <dict>, found <${k.name}>`, k.pos);
      this.count(k.pos);
      const key = this.readText(k);
      if (hasDictEntry(dict, key)) this.fail(`duplicate key ${quoteKey(key)}`, k.pos);
      const v = this.nextInContainer(t);
      if (v.kind === 'end' || v.name === 'key') this.fail(`key ${quoteKey(key)} has no value`, v.pos);
      setDictEntry(dict, key, this.readValue(v, depth + 1));
    }
  }

  private readArray(t: StartToken, depth: number): PlistValue[] {
    this.enter(t, depth);
    const items: PlistValue[] = [];
    if (t.selfClosing) return items;
    for (;;) {
      const v = this.nextInContainer(t);
      if (v.kind === 'end') return items;
      items.push(this.readValue(v, depth + 1));
    }
  }

  /** The text content of a leaf element, which may not contain elements. */
  private readText(t: StartToken): string {
    if (t.selfClosing) return '';
    let text = '';
    for (;;) {
      const n = this.tokens.next();
      if (n.kind === 'text') text += n.text;
      else if (n.kind === 'end') return text; // the tokenizer has checked it closes t
      else if (n.kind === 'start') this.fail(`<${t.name}> cannot contain elements (found <${n.name}>)`, n.pos);
      else this.fail(`<${t.name}> is not closed`, n.pos);
    }
  }

  private parseInteger(text: string, t: StartToken): number | bigint {
    const m = INT_RE.exec(text);
    if (!m) this.fail(`malformed <integer> ${JSON.stringify(text.slice(0, 60))}`, t.pos);
    const [, sign, hex, dec] = m;
    const magnitude = hex !== undefined ? BigInt(`0x${hex}`) : BigInt(dec ?? '0');
    const value = sign === '-' ? -magnitude : magnitude;
    if (value < INT_MIN || value > INT_MAX) this.fail(`<integer> ${text} is outside -2^63..2^64-1`, t.pos);
    return plistInteger(value);
  }

  private parseReal(text: string, t: StartToken): number {
    const special = SPECIAL_REALS[text.toLowerCase()];
    if (special !== undefined) return special;
    if (!REAL_RE.test(text)) this.fail(`malformed <real> ${JSON.stringify(text.slice(0, 60))}`, t.pos);
    return Number(text);
  }

  private parseDate(text: string, t: StartToken): Date {
    const m = DATE_RE.exec(text);
    if (!m) this.fail(`malformed <date> ${JSON.stringify(text.slice(0, 60))} (expected YYYY-MM-DDTHH:MM:SSZ)`, t.pos);
    const [year, month, day, hour, minute, second] = m.slice(1).map(Number) as [number, number, number, number, number, number];
    const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
    const maxDay = month === 2 && leap ? 29 : (DAYS_IN_MONTH[month - 1] ?? 0);
    if (day < 1 || day > maxDay || hour > 23 || minute > 59 || second > 59) {
      this.fail(`<date> ${text} is not a real date and time`, t.pos);
    }
    const date = new Date(0);
    // setUTCFullYear, unlike Date.UTC, does not map years 0-99 to 1900-1999.
    date.setUTCFullYear(year, month - 1, day);
    date.setUTCHours(hour, minute, second, 0);
    return date;
  }

  private parseData(text: string, t: StartToken): Uint8Array {
    const compact = text.replace(/[ \t\n\r]+/g, '');
    const padded = compact.endsWith('=');
    if (!BASE64_RE.test(compact) || (padded ? compact.length % 4 !== 0 : compact.length % 4 === 1)) {
      this.fail('malformed base64 in <data>', t.pos);
    }
    const bytes = new Uint8Array(Buffer.from(compact, 'base64'));
    this.dataBytes += bytes.length;
    if (this.dataBytes > this.limits.maxDataBytes) this.fail(`more than ${this.limits.maxDataBytes} bytes of data values`, t.pos);
    return bytes;
  }
}
