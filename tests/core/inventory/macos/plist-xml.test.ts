import { beforeAll, describe, expect, it } from 'vitest';
import { parsePlist, PlistError, type PlistLimits, type PlistValue } from '../../../../src/core/inventory/macos/plist.js';
import { peerSamplePlist, type PeerPlist } from './python-peer.js';
import { needsTools } from '../../../helpers/system-tool.js';

const HEAD =
  '<?xml version="1.0" encoding="UTF-8"?>\n' +
  '<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">\n';

function xml(body: string): Buffer {
  return Buffer.from(`${HEAD}<plist version="1.0">\n${body}\n</plist>\n`, 'utf8');
}

function parse(text: string | Buffer, limits: Partial<PlistLimits> = {}): PlistValue {
  return parsePlist(typeof text === 'string' ? Buffer.from(text, 'utf8') : text, limits);
}

/** Asserts a PlistError from the XML reader, with this reason and (if given) line:column. */
function expectXmlError(
  input: string | Buffer,
  reason: RegExp,
  at?: { line: number; column: number },
  limits: Partial<PlistLimits> = {},
): PlistError {
  let caught: unknown;
  try {
    parse(input, limits);
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(PlistError);
  const e = caught as PlistError;
  expect(e.reason).toMatch(reason);
  expect(e.format).toBe('xml');
  expect(e.line).toBeGreaterThanOrEqual(1);
  expect(e.column).toBeGreaterThanOrEqual(1);
  if (at) expect({ line: e.line, column: e.column }).toEqual(at);
  expect(e.message).toContain(`at line ${e.line}, column ${e.column}`);
  return e;
}

describe('XML plists written by Python plistlib', needsTools('python3'), () => {
  let sample: PeerPlist;
  beforeAll(() => {
    sample = peerSamplePlist();
  });

  it('reads the same value from the XML and the binary form', () => {
    expect(sample.xml.subarray(0, 5).toString()).toBe('<?xml');
    const fromXml = parsePlist(sample.xml);
    expect(fromXml).toEqual(parsePlist(sample.binary));
    expect((fromXml as { ints: PlistValue[] }).ints).toContain(2n ** 64n - 1n);
  });
});

describe('the XML subset', () => {
  it('reads every element type', () => {
    const value = parse(
      xml(`<dict>
  <key>s</key><string>3CX Desktop App</string>
  <key>i</key><integer>-42</integer>
  <key>hex</key><integer>0x1F</integer>
  <key>big</key><integer>18446744073709551615</integer>
  <key>r</key><real>-1.5e3</real>
  <key>t</key><true/>
  <key>f</key><false></false>
  <key>d</key><date>2023-03-29T12:00:00Z</date>
  <key>data</key><data>
    AAEC
    /w==
  </data>
  <key>a</key><array><string/><dict/><array/><data/></array>
</dict>`),
    );
    expect(value).toEqual({
      s: '3CX Desktop App',
      i: -42,
      hex: 31,
      big: 18446744073709551615n,
      r: -1500,
      t: true,
      f: false,
      d: new Date('2023-03-29T12:00:00Z'),
      data: new Uint8Array([0, 1, 2, 255]),
      a: ['', {}, [], new Uint8Array(0)],
    });
  });

  it('keeps integers as numbers up to MAX_SAFE_INTEGER and as bigints beyond', () => {
    expect(parse(xml('<integer>9007199254740991</integer>'))).toBe(9007199254740991);
    expect(parse(xml('<integer>9007199254740992</integer>'))).toBe(9007199254740992n);
    expect(parse(xml('<integer>-9223372036854775808</integer>'))).toBe(-9223372036854775808n);
    expect(parse(xml('<integer> +7 </integer>'))).toBe(7);
  });

  it('reads the special reals Python and CoreFoundation write', () => {
    expect(parse(xml('<array><real>nan</real><real>inf</real><real>-inf</real><real>+Infinity</real><real>.5</real></array>'))).toEqual([
      NaN,
      Infinity,
      -Infinity,
      Infinity,
      0.5,
    ]);
  });

  it('decodes entities, character references and CDATA, and skips comments and PIs', () => {
    const value = parse(
      xml(`<!-- a comment --><?app-hint x?><array>
  <string>&lt;a&gt; &amp; &quot;b&quot; &apos;c&apos; &#65;&#x1F600;</string>
  <string><![CDATA[<raw> & ]]]]><![CDATA[>]]></string>
  <string>one<!-- split -->two</string>
</array><!-- after -->`),
    );
    expect(value).toEqual([`<a> & "b" 'c' A\u{1F600}`, '<raw> & ]]>', 'onetwo']);
  });

  it('accepts a UTF-8 BOM, CRLF line ends and single-quoted attributes', () => {
    const body = "<?xml version='1.0' encoding='utf-8'?>\r\n<plist version='1.0'>\r\n<string>a\r\nb\rc</string>\r\n</plist>\r\n";
    expect(parse(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(body)]))).toBe('a\nb\nc');
  });

  it('accepts a bare value as the root, as CoreFoundation and plistlib do', () => {
    expect(parse('<dict><key>k</key><string>v</string></dict>')).toEqual({ k: 'v' });
  });

  it('keeps a "__proto__" key as an ordinary entry', () => {
    const value = parse(xml('<dict><key>__proto__</key><string>x</string></dict>')) as Record<string, PlistValue>;
    expect(Object.getPrototypeOf(value)).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(value, '__proto__')?.value).toBe('x');
  });

  it('keeps whitespace inside strings exactly', () => {
    expect(parse(xml('<string>  two  spaces\n\tand tab </string>'))).toBe('  two  spaces\n\tand tab ');
  });
});

describe('malformed XML plists', () => {
  it('empty input and no root element', () => {
    let caught: unknown;
    try {
      parsePlist(Buffer.alloc(0));
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(PlistError);
    expect((caught as PlistError).reason).toBe('empty input');
    expectXmlError(' \n ', /no root element/, { line: 2, column: 2 });
    expectXmlError(`${HEAD}<!-- only a comment -->`, /no root element/);
  });

  it('OpenStep text plists and other non-XML text', () => {
    expectXmlError('{ CFBundleVersion = "1"; }', /not an XML plist/, { line: 1, column: 1 });
    expectXmlError('\n\n  junk', /not an XML plist/, { line: 3, column: 3 });
  });

  it('unclosed and mismatched elements, with where they were opened', () => {
    expectXmlError(`${HEAD}<plist>\n<dict>\n<key>a</key><string>b</string>\n`, /<dict> opened at line 4, column 1 is not closed/, { line: 6, column: 1 });
    expectXmlError('<plist><array></dict></plist>', /<\/dict> does not match <array> opened at line 1, column 8/, { line: 1, column: 15 });
    expectXmlError('<plist><string>abc', /<string> opened at line 1, column 8 is not closed/);
    expectXmlError('<plist><string', /tag <string> is not closed/);
  });

  it('content around the root element', () => {
    expectXmlError('<plist><true/></plist><plist/>', /element <plist> after the root element/, { line: 1, column: 23 });
    expectXmlError('<plist><true/></plist>x', /text after the root element/, { line: 1, column: 23 });
    expectXmlError('<![CDATA[x]]><plist/>', /CDATA section outside the root element/);
  });

  it('wrong plist structure', () => {
    expectXmlError(xml('<dict><key>a</key></dict>'), /key "a" has no value/, { line: 4, column: 19 });
    expectXmlError(xml('<dict><key>a</key><key>b</key><true/></dict>'), /key "a" has no value/);
    expectXmlError(xml('<dict><string>v</string></dict>'), /expected <key> in <dict>, found <string>/);
    expectXmlError(xml('<array><key>a</key></array>'), /<key> outside a <dict>/);
    expectXmlError(xml('<dict>loose text</dict>'), /text is not allowed directly inside <dict>/, { line: 4, column: 7 });
    expectXmlError(xml('<true/><false/>'), /<plist> must hold exactly one value/, { line: 4, column: 8 });
    expectXmlError('<plist version="1.0"></plist>', /<plist> is empty/);
    expectXmlError('<plist/>', /<plist> is empty/);
    expectXmlError(xml('<array><plist/></array>'), /<plist> inside a value/);
    expectXmlError(xml('<set/>'), /unknown element <set>/, { line: 4, column: 1 });
    expectXmlError(xml('<string>a<b/>c</string>'), /<string> cannot contain elements \(found <b>\)/);
    expectXmlError(xml('<true>yes</true>'), /<true> must be empty/);
  });

  it('duplicate keys in one dictionary', () => {
    expectXmlError(
      xml('<dict>\n<key>CFBundleShortVersionString</key><string>18.12.425</string>\n<key>CFBundleShortVersionString</key><string>18.12.416</string>\n</dict>'),
      /duplicate key "CFBundleShortVersionString"/,
      { line: 6, column: 1 },
    );
  });

  it('malformed scalar values', () => {
    expectXmlError(xml('<integer>12a</integer>'), /malformed <integer> "12a"/, { line: 4, column: 1 });
    expectXmlError(xml('<integer></integer>'), /malformed <integer>/);
    expectXmlError(xml('<integer>1_000</integer>'), /malformed <integer>/);
    expectXmlError(xml(`<integer>${2n ** 64n}</integer>`), /outside -2\^63..2\^64-1/);
    expectXmlError(xml(`<integer>${-(2n ** 63n) - 1n}</integer>`), /outside -2\^63..2\^64-1/);
    expectXmlError(xml(`<integer>${'9'.repeat(50)}</integer>`), /malformed <integer>/);
    expectXmlError(xml('<real>1.2.3</real>'), /malformed <real>/);
    expectXmlError(xml('<real>0x10</real>'), /malformed <real>/);
    expectXmlError(xml('<date>2023-02-29T00:00:00Z</date>'), /not a real date/);
    expectXmlError(xml('<date>2023-13-01T00:00:00Z</date>'), /not a real date/);
    expectXmlError(xml('<date>2023-03-29T24:00:00Z</date>'), /not a real date/);
    expectXmlError(xml('<date>2023-03-29</date>'), /malformed <date>/);
    expectXmlError(xml('<data>abc!</data>'), /malformed base64/);
    expectXmlError(xml('<data>A</data>'), /malformed base64/);
    expectXmlError(xml('<data>AB=</data>'), /malformed base64/);
    expectXmlError(xml('<data>A=BC</data>'), /malformed base64/);
  });

  it('accepts leap days and dates before 100 AD that Date.UTC would shift', () => {
    expect(parse(xml('<date>2024-02-29T23:59:59Z</date>'))).toEqual(new Date('2024-02-29T23:59:59Z'));
    expect((parse(xml('<date>0050-01-01T00:00:00Z</date>')) as Date).getUTCFullYear()).toBe(50);
  });

  it('entity and reference abuse', () => {
    expectXmlError(
      `<?xml version="1.0"?>\n<!DOCTYPE plist [<!ENTITY lol "lol">]>\n<plist><string>&lol;</string></plist>`,
      /DOCTYPE internal subsets are not supported/,
      { line: 2, column: 17 },
    );
    expectXmlError(xml('<string>&lol;</string>'), /unknown entity &lol;/, { line: 4, column: 9 });
    expectXmlError(xml('<string>a & b</string>'), /'&' must start a reference/);
    expectXmlError(xml('<string>&#0;</string>'), /&#0; is not an allowed XML character/);
    expectXmlError(xml('<string>&#xD800;</string>'), /not an allowed XML character/);
    expectXmlError(xml('<string>&#x110000;</string>'), /not an allowed XML character/);
    expectXmlError(xml('<string>&#99999999999;</string>'), /'&' must start a reference/);
    expectXmlError(xml('<string>]]></string>'), /"]]>" is not allowed in text/);
  });

  it('comments, PIs, CDATA and DOCTYPEs that are not closed or not well-formed', () => {
    expectXmlError(xml('<!-- open'), /comment is not closed/);
    expectXmlError(xml('<!-- a -- b -->'), /"--" is not allowed inside a comment/);
    expectXmlError(xml('<?pi never closed'), /processing instruction is not closed/);
    expectXmlError(xml('<string><![CDATA[x</string>'), /CDATA section is not closed/);
    expectXmlError('<!DOCTYPE plist', /DOCTYPE is not closed/);
    expectXmlError('<!DOCTYPE plist "unterminated>', /unterminated quoted string in DOCTYPE/);
    expectXmlError('<!DOCTYPE a><!DOCTYPE b><plist/>', /a second DOCTYPE/);
    expectXmlError('<plist><true/></plist><!DOCTYPE a>', /DOCTYPE after the root element/);
    expectXmlError(xml('<!ELEMENT x ANY>'), /unsupported markup declaration/);
  });

  it('XML declarations that are misplaced, malformed or not UTF-8', () => {
    expectXmlError(' <?xml version="1.0"?><plist/>', /only allowed at the very start/, { line: 1, column: 2 });
    expectXmlError('<?xml version="1.0" encoding="ISO-8859-1"?><plist/>', /encoding "ISO-8859-1" is not supported/);
    expectXmlError('<?xml encoding="UTF-8"?><plist/>', /malformed XML declaration/);
  });

  it('tags with bad attributes or names', () => {
    expectXmlError('<plist version="1.0" version="1.0"><true/></plist>', /duplicate attribute version/);
    expectXmlError('<plist version=1.0><true/></plist>', /value must be quoted/);
    expectXmlError('<plist version="<"><true/></plist>', /'<' is not allowed in an attribute value/);
    expectXmlError('<plist version="1.0"x="2"><true/></plist>', /unexpected character "x"/);
    expectXmlError('<plist version><true/></plist>', /has no value/);
    expectXmlError(xml('<string>a < b</string>'), /'<' must start a tag/);
    expectXmlError(xml('</>'), /malformed end tag/);
  });

  it('bytes that are not UTF-8 XML', () => {
    const bad = Buffer.concat([Buffer.from(`${HEAD}<plist>\n<string>caf`), Buffer.from([0xe9]), Buffer.from('</string></plist>')]);
    const e = expectXmlError(bad, /invalid UTF-8 at byte \d+ of the text \(0xe9\)/, { line: 4, column: 12 });
    expect(e.reason).toContain(`byte ${bad.indexOf(0xe9)}`);
    expectXmlError(Buffer.from([0x3c, 0xc0, 0x80, 0x3e]), /invalid UTF-8 at byte 1/); // overlong
    expectXmlError(Buffer.from([0x3c, 0xed, 0xa0, 0x80]), /invalid UTF-8 at byte 1/); // a surrogate
    expectXmlError(xml('<string>bell\u0007</string>'), /character U\+0007 is not allowed/, { line: 4, column: 13 });
    expectXmlError(xml('<string>\uFFFE</string>'), /character U\+FFFE is not allowed/);
    expectXmlError(Buffer.from([0xfe, 0xff, 0, 0x3c]), /UTF-16 text is not supported/, { line: 1, column: 1 });
    expectXmlError(Buffer.from([0xef, 0xbb, 0xbf, 0xef, 0xbb, 0xbf, 0x3c, 0x61, 0x2f, 0x3e]), /not an XML plist/);
  });

  it('reports columns in characters, not bytes', () => {
    expectXmlError(Buffer.from('<plist><string>\u00e9\u00e9</strin></plist>'), /<\/strin> does not match/, { line: 1, column: 18 });
  });

  it('nesting deeper than maxDepth', () => {
    const deep = `${'<array>'.repeat(300)}${'</array>'.repeat(300)}`;
    expectXmlError(deep, /nesting deeper than 256 levels/, { line: 1, column: 1 + 256 * 7 });
    expectXmlError('<array><array><array/></array></array>', /nesting deeper than 2 levels/, undefined, { maxDepth: 2 });
    expect(parse(deep, { maxDepth: 300 })).toBeInstanceOf(Array);
  });

  it('more values than maxValues, or more data than maxDataBytes', () => {
    expectXmlError(`<array>${'<true/>'.repeat(20)}</array>`, /more than 10 values/, undefined, { maxValues: 10 });
    expectXmlError('<array><data>AAAA</data><data>AAAA</data></array>', /more than 5 bytes of data values/, undefined, { maxDataBytes: 5 });
  });

  it('inputs over maxBytes, before decoding them', () => {
    let caught: unknown;
    try {
      parsePlist(Buffer.alloc(8 * 1024 * 1024 + 1, 0x20));
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(PlistError);
    expect((caught as PlistError).reason).toMatch(/over the 8388608-byte limit/);
  });
});
