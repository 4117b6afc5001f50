/**
 * The DER reader (src/core/signing/der.ts) on hand-encoded input, well-formed and not, and
 * the pieces built on it that the signed-fixture tests cannot reach: name equality, string
 * decoding and the node:crypto signature algorithms (RSA PKCS#1 v1.5, RSA-PSS, ECDSA).
 */
import { constants, createHash, generateKeyPairSync, sign } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  bitStringBytes,
  checkTree,
  children,
  integerBytes,
  MAX_DER_DEPTH,
  octetString,
  oid,
  readDer,
  sequence,
  stringValue,
  time,
} from '../../../src/core/signing/der.js';
import { digestAlgorithmByName } from '../../../src/core/signing/digest-algorithms.js';
import { namesEqual } from '../../../src/core/signing/name-equality.js';
import { verifySignature } from '../../../src/core/signing/public-key-signature.js';
import { SignatureFormatError } from '../../../src/core/signing/signature-format-error.js';
import { parseName, type X509Certificate } from '../../../src/core/signing/x509-certificate.js';
import { formatName } from '../../../src/core/signing/x509-name.js';

/** One TLV with a definite length in its shortest form. */
function tlv(tag: number, ...content: (Uint8Array | number[])[]): Buffer {
  const body = Buffer.concat(content.map((c) => Buffer.from(c)));
  const n = body.length;
  const len = n < 0x80 ? [n] : n < 0x100 ? [0x81, n] : [0x82, n >> 8, n & 0xff];
  return Buffer.concat([Buffer.from([tag, ...len]), body]);
}
const seq = (...c: Buffer[]) => tlv(0x30, ...c);
const OID_SHA256 = [0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01];

function formatError(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(SignatureFormatError);
    return (err as Error).message;
  }
  throw new Error('expected a SignatureFormatError');
}

describe('DER reader: well-formed input', () => {
  it('reads tag, constructed bit, full and content bytes as views of the input', () => {
    const input = seq(tlv(0x02, [0x01]), tlv(0x04, [0xaa, 0xbb]));
    const el = readDer(input, 'test');
    expect(el).toMatchObject({ tagClass: 0, tagNumber: 16, constructed: true, offset: 0, contentOffset: 2, indefinite: false });
    expect(el.bytes.buffer).toBe(input.buffer);
    const [i, o] = children(el, 'test');
    expect(Buffer.from(i!.bytes)).toEqual(Buffer.from([0x02, 0x01, 0x01]));
    expect(o!.offset).toBe(5);
    expect(Buffer.from(octetString(o, 'test'))).toEqual(Buffer.from([0xaa, 0xbb]));
  });

  it('reads long-form lengths and multi-byte tag numbers', () => {
    const long = tlv(0x04, Buffer.alloc(300, 7));
    expect(readDer(long, 'test').content.length).toBe(300);
    const highTag = Buffer.from([0x9f, 0x81, 0x00, 0x01, 0x05]); // [128] primitive
    expect(readDer(highTag, 'test')).toMatchObject({ tagClass: 2, tagNumber: 128 });
  });

  it('decodes OIDs, INTEGERs and BIT STRINGs', () => {
    expect(oid(readDer(Buffer.from([0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02]), 't'), 't')).toBe('1.2.840.113549.1.7.2');
    expect(oid(readDer(Buffer.from(OID_SHA256), 't'), 't')).toBe('2.16.840.1.101.3.4.2.1');
    expect(oid(readDer(Buffer.from([0x06, 0x03, 0x55, 0x1d, 0x0e]), 't'), 't')).toBe('2.5.29.14');
    expect(Buffer.from(integerBytes(readDer(Buffer.from([0x02, 0x02, 0x00, 0x80]), 't'), 't'))).toEqual(Buffer.from([0x00, 0x80]));
    expect(Buffer.from(bitStringBytes(readDer(Buffer.from([0x03, 0x03, 0x00, 0x12, 0x34]), 't'), 't'))).toEqual(Buffer.from([0x12, 0x34]));
  });

  it('BER where allowed: indefinite lengths and a constructed OCTET STRING, concatenated', () => {
    // [0] { OCTET STRING (constructed, indefinite) { "ab", "cd" } } with an indefinite [0] too.
    const ber = Buffer.from([0xa0, 0x80, 0x24, 0x80, 0x04, 0x02, 0x61, 0x62, 0x04, 0x02, 0x63, 0x64, 0x00, 0x00, 0x00, 0x00]);
    const el = readDer(ber, 'token', { ber: true });
    expect(el.indefinite).toBe(true);
    expect(el.bytes.length).toBe(ber.length);
    const [os] = children(el, 'token');
    expect(Buffer.from(octetString(os, 'token')).toString()).toBe('abcd');
    // A non-shortest long-form length is BER too.
    expect(readDer(Buffer.from([0x30, 0x81, 0x02, 0x05, 0x00]), 't', { ber: true }).content.length).toBe(2);
  });
});

describe('DER reader: malformed input is a SignatureFormatError naming the problem and offset', () => {
  it.each([
    ['empty input', [], /missing element.*offset 0/],
    ['truncated length', [0x30], /truncated length/],
    ['truncated long-form length', [0x30, 0x82, 0x01], /truncated length/],
    ['length past the end', [0x30, 0x05, 0x02, 0x01], /5 content octets runs past the end of its 2 available at offset 0/],
    ['overlong length (5 octets)', [0x04, 0x85, 0x01, 0x00, 0x00, 0x00, 0x00], /length of 5 octets is too large/],
    ['reserved length 0xff', [0x04, 0xff], /reserved length octet/],
    ['indefinite length in DER', [0x30, 0x80, 0x00, 0x00], /indefinite length \(BER, not DER\) at offset 1/],
    ['length with a leading zero', [0x04, 0x82, 0x00, 0x81, ...Buffer.alloc(0x81)], /leading zero/],
    ['long form for a short length', [0x04, 0x81, 0x01, 0x00], /long-form length for 1 octets/],
    ['multi-byte tag below 31', [0x9f, 0x05, 0x00], /multi-byte tag/],
    ['truncated tag', [0x9f, 0x81], /truncated tag/],
    ['trailing bytes', [0x05, 0x00, 0x00], /1 bytes after the element at offset 2/],
  ])('%s', (_name, bytes, message) => {
    expect(formatError(() => readDer(Buffer.from(bytes), 'the blob'))).toMatch(message);
  });

  it('BER: indefinite length on a primitive, or without end-of-contents', () => {
    expect(formatError(() => readDer(Buffer.from([0x04, 0x80, 0x00, 0x00]), 't', { ber: true }))).toMatch(/indefinite length on a primitive/);
    expect(formatError(() => readDer(Buffer.from([0x30, 0x80, 0x05, 0x00]), 't', { ber: true }))).toMatch(/without end-of-contents/);
  });

  it('refuses a depth bomb: nested indefinite lengths and nested definite SEQUENCEs', () => {
    const n = MAX_DER_DEPTH + 8;
    const bomb = Buffer.concat([Buffer.alloc(n * 2).map((_, i) => (i % 2 ? 0x80 : 0x30)), Buffer.alloc(n * 2)]);
    expect(formatError(() => readDer(bomb, 'bomb', { ber: true }))).toMatch(/nesting deeper than 32 levels/);
    let nested: Buffer = Buffer.from([0x05, 0x00]);
    for (let i = 0; i < n; i++) nested = seq(nested);
    const root = readDer(nested, 'nested');
    expect(formatError(() => checkTree(root, 'nested'))).toMatch(/nesting deeper than 32 levels/);
    let fine: Buffer = Buffer.from([0x05, 0x00]);
    for (let i = 0; i < 20; i++) fine = seq(fine);
    expect(() => checkTree(readDer(fine, 'ok'), 'ok')).not.toThrow();
  });

  it('checkTree finds a broken element deep inside a well-formed outer one', () => {
    const inner = Buffer.from([0x30, 0x03, 0x02, 0x05, 0x01]); // INTEGER claims 5 octets, 1 present
    const root = readDer(seq(seq(tlv(0x05, [])), inner), 'the PKCS#7 blob');
    expect(formatError(() => checkTree(root, 'the PKCS#7 blob'))).toMatch(/the PKCS#7 blob is not valid DER: element of 5 content octets runs past the end of its 1 available at offset 8/);
  });

  it('bad OID encodings', () => {
    expect(formatError(() => oid(readDer(Buffer.from([0x06, 0x00]), 't'), 't'))).toMatch(/empty OBJECT IDENTIFIER/);
    expect(formatError(() => oid(readDer(Buffer.from([0x06, 0x02, 0x2a, 0x86]), 't'), 't'))).toMatch(/ends inside a sub-identifier/);
    expect(formatError(() => oid(readDer(Buffer.from([0x06, 0x03, 0x2a, 0x80, 0x01]), 't'), 't'))).toMatch(/leading zero group/);
    expect(formatError(() => oid(readDer(Buffer.from([0x04, 0x01, 0x2a]), 't'), 'the type'))).toMatch(/the type: expected OBJECT IDENTIFIER, found universal tag 4 at offset 0/);
  });

  it('non-minimal INTEGERs, partial BIT STRINGs, a SEQUENCE that is not constructed', () => {
    expect(formatError(() => integerBytes(readDer(Buffer.from([0x02, 0x02, 0x00, 0x01]), 't'), 't'))).toMatch(/redundant leading octet/);
    expect(formatError(() => integerBytes(readDer(Buffer.from([0x02, 0x00]), 't'), 't'))).toMatch(/empty INTEGER/);
    expect(formatError(() => bitStringBytes(readDer(Buffer.from([0x03, 0x02, 0x04, 0xf0]), 't'), 't'))).toMatch(/4 unused bits/);
    expect(formatError(() => sequence(readDer(Buffer.from([0x10, 0x00]), 't'), 't'))).toMatch(/wrong constructed bit/);
    // A constructed OCTET STRING is BER: refused where DER is read.
    expect(formatError(() => octetString(readDer(Buffer.from([0x24, 0x03, 0x04, 0x01, 0x61]), 't'), 't'))).toMatch(/wrong constructed bit/);
  });
});

describe('times (RFC 5280 4.1.2.5; RFC 3161 genTime fractions)', () => {
  const t = (tag: number, s: string) => time(readDer(tlv(tag, Buffer.from(s, 'latin1')), 't'))?.toISOString();
  it('reads UTCTime with the 1950 pivot and GeneralizedTime with fractional seconds', () => {
    expect(t(0x17, '250301120000Z')).toBe('2025-03-01T12:00:00.000Z');
    expect(t(0x17, '500101000000Z')).toBe('1950-01-01T00:00:00.000Z');
    expect(t(0x17, '491231235959Z')).toBe('2049-12-31T23:59:59.000Z');
    expect(t(0x18, '20260102030405Z')).toBe('2026-01-02T03:04:05.000Z');
    expect(t(0x18, '20260102030405.1239Z')).toBe('2026-01-02T03:04:05.123Z');
  });
  it.each([
    [0x17, '2503011200Z'], // no seconds
    [0x17, '250301120000+0100'],
    [0x17, '251301120000Z'], // month 13
    [0x17, '250230120000Z'], // 30 February
    [0x17, '250301250000Z'],
    [0x18, '20260102030405'], // no Z
    [0x18, '20260102030405.10Z'], // trailing zero in the fraction
    [0x18, '20260102030405.Z'],
    [0x04, '20260102030405Z'], // not a time type
  ])('tag %i "%s" is not a time', (tag, s) => {
    expect(t(tag, s)).toBeUndefined();
  });
});

describe('strings and names', () => {
  const str = (tag: number, bytes: number[] | Buffer) => stringValue(readDer(tlv(tag, bytes), 't'));
  it('decodes each string type as names were always shown', () => {
    expect(str(0x13, Buffer.from('Example Ltd'))).toBe('Example Ltd');
    expect(str(0x14, [0x43, 0x61, 0x66, 0xe9])).toBe('Café'); // TeletexString as Latin-1
    expect(str(0x0c, Buffer.from('Zürich ✓'))).toBe('Zürich ✓');
    expect(str(0x0c, [0x41, 0xff, 0x42])).toBe('A\u00ffB'); // invalid UTF-8: byte for byte
    expect(str(0x1e, [0x00, 0x41, 0x04, 0x14])).toBe('AД'); // BMPString
    expect(str(0x1c, [0x00, 0x00, 0x00, 0x41, 0x00, 0x00, 0x04, 0x14])).toBe('AД'); // UniversalString
    expect(str(0x02, [0x01])).toBeUndefined();
  });

  const atv = (oidBytes: number[], value: Buffer) => tlv(0x31, seq(Buffer.from(oidBytes), value));
  const CN = [0x06, 0x03, 0x55, 0x04, 0x03];
  const C = [0x06, 0x03, 0x55, 0x04, 0x06];
  const name = (...rdns: Buffer[]) => parseName(readDer(seq(...rdns), 'name'), 'name');

  it('formats Windows-style, most specific first, odd values as #hex', () => {
    const n = name(atv(C, tlv(0x13, Buffer.from('GB'))), atv(CN, tlv(0x0c, Buffer.from('Example, Inc.'))), atv([0x06, 0x03, 0x2a, 0x03, 0x04], tlv(0x02, [0x05])));
    expect(formatName(n)).toBe('OID.1.2.3.4="#05", CN="Example, Inc.", C=GB');
  });

  it('equal DER is equal; else type by type, strings compared trimmed, space-collapsed, lower-cased', () => {
    const a = name(atv(C, tlv(0x13, Buffer.from('GB'))), atv(CN, tlv(0x13, Buffer.from('Vigil  Test CA'))));
    const b = name(atv(C, tlv(0x13, Buffer.from('GB'))), atv(CN, tlv(0x0c, Buffer.from(' vigil test ca'))));
    expect(namesEqual(a, a)).toBe(true);
    expect(namesEqual(a, b)).toBe(true);
    const other = name(atv(C, tlv(0x13, Buffer.from('GB'))), atv(CN, tlv(0x0c, Buffer.from('Vigil Test CA 2'))));
    expect(namesEqual(a, other)).toBe(false);
    // A soft hyphen is ignorable to localeCompare (what pkijs used), not here.
    const hyphen = name(atv(C, tlv(0x13, Buffer.from('GB'))), atv(CN, tlv(0x0c, Buffer.from('Vigil Test\u00ad CA'))));
    expect(namesEqual(b, hyphen)).toBe(false);
    // A string never equals a non-string value, and order matters.
    expect(namesEqual(name(atv(CN, tlv(0x13, Buffer.from('05')))), name(atv(CN, tlv(0x02, [0x05]))))).toBe(false);
    expect(namesEqual(name(atv(C, tlv(0x13, Buffer.from('GB'))), atv(CN, tlv(0x13, Buffer.from('X')))), name(atv(CN, tlv(0x13, Buffer.from('X'))), atv(C, tlv(0x13, Buffer.from('GB')))))).toBe(false);
  });
});

describe('signatures with node:crypto', () => {
  const data = Buffer.from('signed attributes');
  const certWith = (publicKey: { export(o: { format: 'der'; type: 'spki' }): Buffer }) =>
    ({ spki: new Uint8Array(publicKey.export({ format: 'der', type: 'spki' })) }) as X509Certificate;
  const alg = (bytes: number[], params?: Buffer) => ({ oid: oid(readDer(Buffer.from(bytes), 'alg'), 'alg'), ...(params ? { params: readDer(params, 'p') } : {}) });
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const SHA256_RSA = [0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b];
  const RSA_ENCRYPTION = [0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
  const RSA_PSS = [0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0a];
  const ECDSA_SHA256 = [0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02];

  it('RSA PKCS#1 v1.5: shaNNNWithRSAEncryption, and rsaEncryption with the SignerInfo digest', () => {
    const sig = sign('sha256', data, rsa.privateKey);
    expect(verifySignature(data, sig, certWith(rsa.publicKey), alg(SHA256_RSA))).toBe(true);
    expect(verifySignature(data, sig, certWith(rsa.publicKey), alg(RSA_ENCRYPTION), digestAlgorithmByName('sha256'))).toBe(true);
    expect(verifySignature(data, sig, certWith(rsa.publicKey), alg(RSA_ENCRYPTION), digestAlgorithmByName('sha1'))).toBe(false);
    expect(verifySignature(data, sig, certWith(rsa.publicKey), alg(RSA_ENCRYPTION))).toBe(false); // no digest named
    expect(verifySignature(Buffer.from('other'), sig, certWith(rsa.publicKey), alg(SHA256_RSA))).toBe(false);
  });

  it('RSA-PSS with its parameters (SHA-256, salt 32)', () => {
    const sig = sign('sha256', data, { key: rsa.privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 });
    const sha256Alg = seq(Buffer.from(OID_SHA256), Buffer.from([0x05, 0x00]));
    const mgf1 = seq(Buffer.from([0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x08]), sha256Alg);
    const params = (salt: number) => seq(tlv(0xa0, sha256Alg), tlv(0xa1, mgf1), tlv(0xa2, tlv(0x02, [salt])));
    expect(verifySignature(data, sig, certWith(rsa.publicKey), alg(RSA_PSS, params(32)))).toBe(true);
    expect(verifySignature(data, sig, certWith(rsa.publicKey), alg(RSA_PSS, params(20)))).toBe(false);
    expect(verifySignature(data, sig, certWith(rsa.publicKey), alg(RSA_PSS))).toBe(false); // defaults: SHA-1, salt 20
  });

  it('ECDSA with a DER signature; a key of the wrong type never verifies', () => {
    const sig = sign('sha256', data, ec.privateKey);
    expect(verifySignature(data, sig, certWith(ec.publicKey), alg(ECDSA_SHA256))).toBe(true);
    expect(verifySignature(data, sig, certWith(ec.publicKey), alg(SHA256_RSA))).toBe(false);
    expect(verifySignature(data, sign('sha256', data, rsa.privateKey), certWith(rsa.publicKey), alg(ECDSA_SHA256))).toBe(false);
    expect(verifySignature(data, sig, { spki: new Uint8Array([0x30, 0x00]) } as X509Certificate, alg(ECDSA_SHA256))).toBe(false);
    expect(createHash('sha256').update(data).digest().length).toBe(32);
  });
});
