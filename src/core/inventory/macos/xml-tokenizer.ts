/**
 * A small, strict XML 1.0 tokenizer for the subset plists use (no XML library ships with
 * Vigil, and none is needed for this much).
 *
 * It checks well-formedness as it goes: the XML declaration only at the very start and only
 * for UTF-8; at most one DOCTYPE, before the root, and never with an internal subset (that is
 * where entity declarations live, the source of "billion laughs" expansion, which Apple's
 * plutil and Python's plistlib refuse too); comments without "--"; processing instructions;
 * CDATA sections; the five predefined entities and numeric character references; matching
 * end tags; one root element with nothing but comments, PIs and whitespace around it.
 *
 * Comments and processing instructions are consumed silently. Text is returned decoded, in
 * one or more pieces (a comment or CDATA section splits it); attributes are checked but not
 * returned, since no plist element's meaning depends on one.
 *
 * The input is an already-decoded string whose line ends are normalised to "\n" (XML 1.0
 * §2.11). Positions are string indexes; errors turn them into line:column.
 */
import { PlistError } from './plist-error.js';

export type XmlToken =
  | { kind: 'start'; name: string; selfClosing: boolean; pos: number }
  | { kind: 'end'; name: string; pos: number }
  | { kind: 'text'; text: string; pos: number }
  | { kind: 'eof'; pos: number };

// ASCII names are all a plist needs; a non-ASCII element name is reported as malformed.
const NAME = /[A-Za-z_:][-A-Za-z0-9._:]*/y;
const END_TAG = /<\/([A-Za-z_:][-A-Za-z0-9._:]*)[ \t\n]*>/y;
const REFERENCE = /&(?:#x([0-9A-Fa-f]{1,8})|#([0-9]{1,10})|([A-Za-z_:][-A-Za-z0-9._:]{0,31}));/y;
const XML_DECL =
  /^<\?xml[ \t\n]+version[ \t\n]*=[ \t\n]*(["'])1\.[0-9]+\1(?:[ \t\n]+encoding[ \t\n]*=[ \t\n]*(["'])([A-Za-z][-A-Za-z0-9._]*)\2)?(?:[ \t\n]+standalone[ \t\n]*=[ \t\n]*(["'])(?:yes|no)\4)?[ \t\n]*\?>/;
// XML 1.0 Char production, negated: control characters, lone surrogates, U+FFFE/U+FFFF.
const NOT_XML_CHAR = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;
const PREDEFINED: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

export function isXmlWhitespace(text: string): boolean {
  return /^[ \t\n\r]*$/.test(text);
}

function isXmlCodePoint(cp: number): boolean {
  return (
    cp === 0x9 ||
    cp === 0xa ||
    cp === 0xd ||
    (cp >= 0x20 && cp <= 0xd7ff) ||
    (cp >= 0xe000 && cp <= 0xfffd) ||
    (cp >= 0x10000 && cp <= 0x10ffff)
  );
}

/** 1-based line and column (in code points) of a string index. */
export function lineColumn(src: string, pos: number): { line: number; column: number } {
  const end = Math.max(0, Math.min(pos, src.length));
  let line = 1;
  let lineStart = 0;
  for (let i = src.indexOf('\n'); i !== -1 && i < end; i = src.indexOf('\n', i + 1)) {
    line += 1;
    lineStart = i + 1;
  }
  return { line, column: Array.from(src.slice(lineStart, end)).length + 1 };
}

interface OpenElement {
  name: string;
  pos: number;
}

export class XmlTokenizer {
  private pos = 0;
  private readonly open: OpenElement[] = [];
  private rootSeen = false;
  private rootClosed = false;
  private doctypeSeen = false;

  constructor(private readonly src: string) {
    const bad = NOT_XML_CHAR.exec(src);
    if (bad) {
      const cp = bad[0].codePointAt(0) ?? 0;
      this.fail(`character U+${cp.toString(16).toUpperCase().padStart(4, '0')} is not allowed in XML`, bad.index);
    }
  }

  fail(reason: string, pos: number): never {
    throw new PlistError('xml', reason, lineColumn(this.src, pos));
  }

  /** Describes where an element was opened, for messages about it. */
  where(pos: number): string {
    const { line, column } = lineColumn(this.src, pos);
    return `line ${line}, column ${column}`;
  }

  next(): XmlToken {
    const src = this.src;
    for (;;) {
      if (this.pos >= src.length) return this.endOfInput();
      if (src.charCodeAt(this.pos) !== 0x3c /* < */) {
        const start = this.pos;
        const text = this.readText();
        if (this.open.length > 0) return { kind: 'text', text, pos: start };
        if (!isXmlWhitespace(text)) {
          this.fail(
            this.rootSeen
              ? 'text after the root element'
              : 'text before the root element: not an XML plist (OpenStep-style text plists are not supported)',
            start + (src.slice(start).search(/[^ \t\n]/) || 0),
          );
        }
        continue;
      }
      if (src.startsWith('<?', this.pos)) {
        this.skipProcessingInstruction();
      } else if (src.startsWith('<!--', this.pos)) {
        this.skipComment();
      } else if (src.startsWith('<![CDATA[', this.pos)) {
        return this.readCdata();
      } else if (src.startsWith('<!DOCTYPE', this.pos)) {
        this.skipDoctype();
      } else if (src.startsWith('<!', this.pos)) {
        this.fail('unsupported markup declaration', this.pos);
      } else if (src.startsWith('</', this.pos)) {
        return this.readEndTag();
      } else {
        return this.readStartTag();
      }
    }
  }

  private endOfInput(): XmlToken {
    const innermost = this.open[this.open.length - 1];
    if (innermost) {
      this.fail(`unexpected end of input: <${innermost.name}> opened at ${this.where(innermost.pos)} is not closed`, this.pos);
    }
    if (!this.rootSeen) this.fail('no root element', this.pos);
    return { kind: 'eof', pos: this.pos };
  }

  private readText(): string {
    const src = this.src;
    const start = this.pos;
    const lt = src.indexOf('<', start);
    const end = lt === -1 ? src.length : lt;
    const raw = src.slice(start, end);
    // XML 1.0 §2.4: "]]>" may not appear literally in character data. Searched within this
    // run of text only, so a document of many short texts stays linear to scan.
    const cdataEnd = raw.indexOf(']]>');
    if (cdataEnd !== -1) this.fail('"]]>" is not allowed in text', start + cdataEnd);
    this.pos = end;
    return raw.includes('&') ? this.decodeReferences(raw, start) : raw;
  }

  /** Replaces entity and character references in `raw`, which starts at `base` in src. */
  private decodeReferences(raw: string, base: number): string {
    let out = '';
    let from = 0;
    for (let amp = raw.indexOf('&'); amp !== -1; amp = raw.indexOf('&', from)) {
      out += raw.slice(from, amp);
      REFERENCE.lastIndex = amp;
      const m = REFERENCE.exec(raw);
      if (!m) this.fail("'&' must start a reference such as &amp; or &#60;", base + amp);
      const [whole, hex, dec, name] = m;
      if (name !== undefined) {
        const replacement = PREDEFINED[name];
        if (replacement === undefined) this.fail(`unknown entity &${name}; (only the five predefined ones are allowed)`, base + amp);
        out += replacement;
      } else {
        const cp = hex !== undefined ? parseInt(hex, 16) : Number(dec);
        if (!isXmlCodePoint(cp)) this.fail(`character reference ${whole} is not an allowed XML character`, base + amp);
        out += String.fromCodePoint(cp);
      }
      from = amp + whole.length;
    }
    return out + raw.slice(from);
  }

  private readCdata(): XmlToken {
    const start = this.pos;
    if (this.open.length === 0) this.fail('CDATA section outside the root element', start);
    const end = this.src.indexOf(']]>', start + 9);
    if (end === -1) this.fail('CDATA section is not closed', start);
    this.pos = end + 3;
    return { kind: 'text', text: this.src.slice(start + 9, end), pos: start };
  }

  private skipComment(): void {
    const start = this.pos;
    const dashes = this.src.indexOf('--', start + 4);
    if (dashes === -1) this.fail('comment is not closed', start);
    if (this.src.charCodeAt(dashes + 2) !== 0x3e /* > */) this.fail('"--" is not allowed inside a comment', dashes);
    this.pos = dashes + 3;
  }

  private skipProcessingInstruction(): void {
    const start = this.pos;
    NAME.lastIndex = start + 2;
    const m = NAME.exec(this.src);
    if (!m) this.fail('malformed processing instruction: no target name', start);
    if (m[0].toLowerCase() === 'xml') {
      if (start !== 0) this.fail('the XML declaration is only allowed at the very start of the document', start);
      this.readXmlDeclaration();
      return;
    }
    const after = start + 2 + m[0].length;
    const end = this.src.indexOf('?>', after);
    if (end === -1) this.fail('processing instruction is not closed', start);
    if (end > after && !/[ \t\n]/.test(this.src.charAt(after))) this.fail('malformed processing instruction target', after);
    this.pos = end + 2;
  }

  private readXmlDeclaration(): void {
    const m = XML_DECL.exec(this.src.slice(0, 512));
    if (!m) this.fail('malformed XML declaration', 0);
    const encoding = m[3];
    if (encoding !== undefined && !/^utf-?8$/i.test(encoding)) {
      this.fail(`encoding "${encoding}" is not supported (plists must be UTF-8)`, m[0].indexOf(encoding));
    }
    this.pos = m[0].length;
  }

  private skipDoctype(): void {
    const start = this.pos;
    if (this.rootSeen) this.fail('DOCTYPE after the root element', start);
    if (this.doctypeSeen) this.fail('a second DOCTYPE', start);
    this.doctypeSeen = true;
    const src = this.src;
    let i = start + '<!DOCTYPE'.length;
    if (!/[ \t\n]/.test(src.charAt(i))) this.fail('malformed DOCTYPE', start);
    while (i < src.length) {
      const c = src.charAt(i);
      if (c === '"' || c === "'") {
        const close = src.indexOf(c, i + 1);
        if (close === -1) this.fail('unterminated quoted string in DOCTYPE', i);
        i = close + 1;
        continue;
      }
      if (c === '[') this.fail('DOCTYPE internal subsets are not supported (they can declare entities)', i);
      if (c === '<') this.fail('malformed DOCTYPE', i);
      if (c === '>') {
        this.pos = i + 1;
        return;
      }
      i += 1;
    }
    this.fail('DOCTYPE is not closed', start);
  }

  private readStartTag(): XmlToken {
    const src = this.src;
    const start = this.pos;
    NAME.lastIndex = start + 1;
    const m = NAME.exec(src);
    if (!m || m.index !== start + 1) this.fail("'<' must start a tag (write &lt; for a literal '<')", start);
    const name = m[0];
    let i = start + 1 + name.length;
    const seen = new Set<string>();
    let selfClosing = false;
    for (;;) {
      const wsStart = i;
      while (i < src.length && /[ \t\n]/.test(src.charAt(i))) i += 1;
      if (i >= src.length) this.fail(`tag <${name}> is not closed`, start);
      if (src.startsWith('/>', i)) {
        selfClosing = true;
        i += 2;
        break;
      }
      if (src.charAt(i) === '>') {
        i += 1;
        break;
      }
      if (i === wsStart) this.fail(`unexpected character ${JSON.stringify(src.charAt(i))} in tag <${name}>`, i);
      i = this.skipAttribute(name, i, seen);
    }
    if (this.open.length === 0) {
      if (this.rootClosed) this.fail(`element <${name}> after the root element`, start);
      this.rootSeen = true;
    }
    if (selfClosing) {
      if (this.open.length === 0) this.rootClosed = true;
    } else {
      this.open.push({ name, pos: start });
    }
    this.pos = i;
    return { kind: 'start', name, selfClosing, pos: start };
  }

  /** Checks one name="value" attribute at i and returns the index after it. */
  private skipAttribute(element: string, i: number, seen: Set<string>): number {
    const src = this.src;
    NAME.lastIndex = i;
    const m = NAME.exec(src);
    if (!m || m.index !== i) this.fail(`unexpected character ${JSON.stringify(src.charAt(i))} in tag <${element}>`, i);
    const attr = m[0];
    if (seen.has(attr)) this.fail(`duplicate attribute ${attr} on <${element}>`, i);
    seen.add(attr);
    i += attr.length;
    while (/[ \t\n]/.test(src.charAt(i))) i += 1;
    if (src.charAt(i) !== '=') this.fail(`attribute ${attr} on <${element}> has no value`, i);
    i += 1;
    while (/[ \t\n]/.test(src.charAt(i))) i += 1;
    const quote = src.charAt(i);
    if (quote !== '"' && quote !== "'") this.fail(`attribute ${attr} value must be quoted`, i);
    const close = src.indexOf(quote, i + 1);
    if (close === -1) this.fail(`attribute ${attr} value is not closed`, i);
    const value = src.slice(i + 1, close);
    const lt = value.indexOf('<');
    if (lt !== -1) this.fail(`'<' is not allowed in an attribute value`, i + 1 + lt);
    if (value.includes('&')) this.decodeReferences(value, i + 1);
    return close + 1;
  }

  private readEndTag(): XmlToken {
    const start = this.pos;
    END_TAG.lastIndex = start;
    const m = END_TAG.exec(this.src);
    if (!m) this.fail('malformed end tag', start);
    const name = m[1] ?? '';
    const top = this.open.pop();
    if (!top) this.fail(`</${name}> closes no open element`, start);
    if (top.name !== name) this.fail(`</${name}> does not match <${top.name}> opened at ${this.where(top.pos)}`, start);
    if (this.open.length === 0) this.rootClosed = true;
    this.pos = start + m[0].length;
    return { kind: 'end', name, pos: start };
  }
}
