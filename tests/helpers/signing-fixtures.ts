/**
 * Signed PE fixtures made at test time, never downloaded: PE images from make-pe.ts, a
 * throwaway PKI made with openssl in a temp dir (root CA -> intermediate CA -> code-signing
 * certificate, and a time-stamping certificate), and signatures made by osslsigncode, the
 * open-source Authenticode signer. The tampered variants are made the way attackers and
 * accidents make them: a byte changed after signing, data appended inside the certificate
 * table (dwLength and the directory size grown to cover it, as in the 3CX
 * d3dcompiler_47.dll, CVE-2013-3900), data appended after the table, truncation.
 */
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import * as asn1js from 'asn1js';
import { Attribute, Certificate, ContentInfo, SignedAndUnsignedAttributes, SignedData } from 'pkijs';
import { makePe, SCN_CODE, SCN_DATA, TEXT_CODE } from './make-pe.js';

export const LEAF_SERIAL = '1b6611df9c9a4d6ecc8ed50c9b917873';
export const LEAF_SUBJECT = '/C=GB/L=London/O=Example Softphone Ltd/CN=Example Softphone Ltd';
/** How our verifier writes LEAF_SUBJECT (Windows order). */
export const LEAF_SUBJECT_WINDOWS = 'CN=Example Softphone Ltd, O=Example Softphone Ltd, L=London, C=GB';

export interface SigningPki {
  dir: string;
  rootPem: string;
  rootKey: string;
  interPem: string;
  interKey: string;
  leafPem: string;
  leafKey: string;
  tsaPem: string;
  tsaKey: string;
  /** A second, unrelated code-signing certificate (for signer-rule tests). */
  otherPem: string;
  otherKey: string;
}

const EXTENSIONS = `
[req]
distinguished_name=dn
[dn]
[ca_ext]
basicConstraints=critical,CA:TRUE
keyUsage=critical,keyCertSign,cRLSign
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid
[cs_ext]
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=codeSigning
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid
[ts_ext]
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=critical,timeStamping
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid
`;

function run(cmd: string, args: string[], cwd: string): string {
  return execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** openssl: root CA (self-signed), intermediate CA, code-signing leaf, TSA, another leaf. */
export function makeSigningPki(dir: string): SigningPki {
  mkdirSync(dir, { recursive: true });
  const ext = path.join(dir, 'ext.cnf');
  writeFileSync(ext, EXTENSIONS);
  const p = (f: string) => path.join(dir, f);
  const key = (name: string) => run('openssl', ['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', p(`${name}.key`)], dir);
  const csr = (name: string, subj: string) => run('openssl', ['req', '-new', '-key', p(`${name}.key`), '-subj', subj, '-out', p(`${name}.csr`)], dir);
  const issue = (name: string, ca: string, serial: string, extName: string, days: number) =>
    run('openssl', ['x509', '-req', '-in', p(`${name}.csr`), '-CA', p(`${ca}.pem`), '-CAkey', p(`${ca}.key`), '-set_serial', serial, '-days', String(days), '-extfile', ext, '-extensions', extName, '-out', p(`${name}.pem`)], dir);

  key('root');
  run('openssl', ['req', '-x509', '-new', '-key', p('root.key'), '-subj', '/C=GB/O=Vigil Test/CN=Vigil Test Root CA', '-days', '3650', '-config', ext, '-extensions', 'ca_ext', '-out', p('root.pem')], dir);
  for (const [name, ca, subj, serial, extName] of [
    ['inter', 'root', '/C=GB/O=Vigil Test, Inc./CN=Vigil Test Code Signing CA', '0x1001', 'ca_ext'],
    ['leaf', 'inter', LEAF_SUBJECT, `0x${LEAF_SERIAL}`, 'cs_ext'],
    ['tsa', 'root', '/C=GB/O=Vigil Test/CN=Vigil Test TSA', '0x77', 'ts_ext'],
    ['other', 'inter', '/C=US/O=Unrelated Publisher/CN=Unrelated Publisher', '0x0a0b0c0d', 'cs_ext'],
  ] as const) {
    key(name);
    csr(name, subj);
    issue(name, ca, serial, extName, 1000);
  }
  return {
    dir,
    rootPem: p('root.pem'),
    rootKey: p('root.key'),
    interPem: p('inter.pem'),
    interKey: p('inter.key'),
    leafPem: p('leaf.pem'),
    leafKey: p('leaf.key'),
    tsaPem: p('tsa.pem'),
    tsaKey: p('tsa.key'),
    otherPem: p('other.pem'),
    otherKey: p('other.key'),
  };
}

export interface SignOptions {
  hash?: 'sha1' | 'sha256' | 'sha384' | 'sha512';
  /** Add as a nested signature (osslsigncode -nest). */
  nest?: boolean;
  /** RFC 3161 timestamp from osslsigncode's built-in TSA with the test TSA key. */
  timestamp?: boolean;
  /** SpcSpOpusInfo program name (osslsigncode -n). */
  name?: string;
  /** Embed the root too (default: leaf + intermediate, as publishers do). */
  withRoot?: boolean;
  /** Sign with the unrelated certificate. */
  other?: boolean;
}

export function osslsign(pki: SigningPki, input: string, output: string, opts: SignOptions = {}): void {
  const certs = path.join(pki.dir, `chain-${opts.other ? 'other' : 'leaf'}-${opts.withRoot ? 'root' : 'noroot'}.pem`);
  writeFileSync(
    certs,
    [opts.other ? pki.otherPem : pki.leafPem, pki.interPem, ...(opts.withRoot ? [pki.rootPem] : [])].map((f) => readFileSync(f, 'utf8')).join(''),
  );
  const args = ['sign', '-certs', certs, '-key', opts.other ? pki.otherKey : pki.leafKey, '-h', opts.hash ?? 'sha256'];
  if (opts.name) args.push('-n', opts.name);
  if (opts.nest) args.push('-nest');
  if (opts.timestamp) args.push('-TSA-certs', pki.tsaPem, '-TSA-key', pki.tsaKey, '-TSA-time', String(Math.floor(Date.now() / 1000)));
  args.push('-in', input, '-out', output);
  run('osslsigncode', args, pki.dir);
}

/**
 * An impostor's signature: a self-signed code-signing certificate whose subject is
 * `subject` (e.g. LEAF_SUBJECT, the publisher's own name), made with openssl in `dir`, and
 * `input` signed with it by osslsigncode into `output`. Every signature check on the file
 * itself passes; only the chain's anchor gives it away. Returns the certificate's PEM file.
 */
export function signWithSelfSigned(dir: string, subject: string, input: string, output: string): string {
  mkdirSync(dir, { recursive: true });
  const ext = path.join(dir, 'ext.cnf');
  writeFileSync(ext, EXTENSIONS);
  const p = (f: string) => path.join(dir, f);
  run('openssl', ['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', p('impostor.key')], dir);
  run('openssl', ['req', '-x509', '-new', '-key', p('impostor.key'), '-subj', subject, '-days', '1000', '-set_serial', '0x5e1f', '-config', ext, '-extensions', 'cs_ext', '-out', p('impostor.pem')], dir);
  run('osslsigncode', ['sign', '-certs', p('impostor.pem'), '-key', p('impostor.key'), '-h', 'sha256', '-in', input, '-out', output], dir);
  return p('impostor.pem');
}

function pemToDer(pemFile: string): Uint8Array {
  return new Uint8Array(Buffer.from(readFileSync(pemFile, 'utf8').replace(/-----[^-]+-----|\s/g, ''), 'base64'));
}

/**
 * A legacy (pre-RFC 3161) Authenticode timestamp: a PKCS#9 countersignature (unsigned
 * attribute 1.2.840.113549.1.9.6) over the signature value, as the old
 * timestamp.verisign.com-style services returned. osslsigncode only requests these from a
 * live server, so it is made here: `openssl cms -sign` over the primary signature's value
 * with the TSA key gives a SignerInfo with messageDigest and signingTime attributes; it is
 * added to the primary SignerInfo (and the TSA certificate to the certificates), and
 * osslsigncode attach-signature puts the result on the unsigned image.
 */
export function signWithLegacyCountersignature(pki: SigningPki, unsignedPe: string, signedPe: string, output: string): void {
  const tmp = (n: string) => path.join(pki.dir, `counter-${path.basename(output)}-${n}`);
  run('osslsigncode', ['extract-signature', '-in', signedPe, '-out', tmp('orig.der')], pki.dir);
  const ci = new ContentInfo({ schema: asn1js.fromBER(new Uint8Array(readFileSync(tmp('orig.der')))).result });
  const sd = new SignedData({ schema: ci.content });
  const si = sd.signerInfos[0]!;
  writeFileSync(tmp('sigvalue.bin'), Buffer.from(si.signature.valueBlock.valueHexView));
  run('openssl', ['cms', '-sign', '-binary', '-in', tmp('sigvalue.bin'), '-signer', pki.tsaPem, '-inkey', pki.tsaKey, '-md', 'sha256', '-nosmimecap', '-nocerts', '-outform', 'DER', '-out', tmp('counter.der')], pki.dir);
  const counter = new SignedData({ schema: new ContentInfo({ schema: asn1js.fromBER(new Uint8Array(readFileSync(tmp('counter.der')))).result }).content });
  si.unsignedAttrs = new SignedAndUnsignedAttributes({
    type: 1,
    attributes: [new Attribute({ type: '1.2.840.113549.1.9.6', values: [counter.signerInfos[0]!.toSchema()] })],
  });
  sd.certificates = [...(sd.certificates ?? []), Certificate.fromBER(pemToDer(pki.tsaPem))];
  const der = new ContentInfo({ contentType: ci.contentType, content: sd.toSchema(true) }).toSchema().toBER();
  writeFileSync(tmp('new.der'), Buffer.from(der));
  run('osslsigncode', ['attach-signature', '-sigin', tmp('new.der'), '-CAfile', pki.rootPem, '-in', unsignedPe, '-out', output], pki.dir);
}

/** Offsets of the certificate-table directory entry, and the table it names. */
export function securityDirectory(pe: Buffer): { entryOffset: number; offset: number; size: number; checksumOffset: number } {
  const peOff = pe.readUInt32LE(0x3c);
  const opt = peOff + 24;
  const is64 = pe.readUInt16LE(opt) === 0x20b;
  const entryOffset = opt + (is64 ? 112 : 96) + 4 * 8;
  return { entryOffset, offset: pe.readUInt32LE(entryOffset), size: pe.readUInt32LE(entryOffset + 4), checksumOffset: opt + 64 };
}

/**
 * The 3CX d3dcompiler_47.dll trick: bytes appended after the PKCS#7 blob inside its
 * WIN_CERTIFICATE entry, with dwLength and the directory size grown (8-byte aligned) to
 * cover them. Signature tools that decode only the DER element still call it valid.
 */
export function appendInsideCertificateTable(signed: Buffer, payload: Buffer): Buffer {
  const dir = securityDirectory(signed);
  const pad = (8 - ((signed.length + payload.length) % 8)) % 8;
  const out = Buffer.concat([signed, payload, Buffer.alloc(pad)]);
  out.writeUInt32LE(dir.size + payload.length + pad, dir.entryOffset + 4);
  out.writeUInt32LE(out.readUInt32LE(dir.offset) + payload.length + pad, dir.offset);
  return out;
}

/** A stand-in for an encrypted shellcode blob (random bytes behind a marker). */
export function fakePayload(bytes = 4096): Buffer {
  return Buffer.concat([Buffer.from('\xfe\xed\xfa\xce\xfe\xed\xfa\xce', 'latin1'), randomBytes(bytes)]);
}

export interface SigningFixtures {
  pki: SigningPki;
  dir: string;
  files: Record<FixtureName, string>;
}

export type FixtureName =
  | 'validSha256'
  | 'validPe32Sha1'
  | 'timestamped'
  | 'nested'
  | 'countersigned'
  | 'otherSigner'
  | 'tampered'
  | 'extraInTable'
  | 'afterTable'
  | 'secondEntry'
  | 'unsigned'
  | 'truncated'
  | 'garbage';

/** A realistic-shaped image: code, read-only data and some pseudo-random "resources". */
export function samplePe(opts: { pe32plus?: boolean; dataBytes?: number; seed?: string } = {}): Buffer {
  const data = Buffer.alloc(opts.dataBytes ?? 24 * 1024);
  let block = createHash('sha256').update(opts.seed ?? 'vigil').digest();
  for (let i = 0; i < data.length; i += 32) {
    block = createHash('sha256').update(block).digest();
    block.copy(data, i);
  }
  return makePe({
    pe32plus: opts.pe32plus ?? true,
    sections: [
      { name: '.text', data: TEXT_CODE, characteristics: SCN_CODE },
      { name: '.rdata', data: Buffer.from('Example Softphone 18.12.416\0'.repeat(20), 'latin1'), characteristics: SCN_DATA },
      { name: '.data', data, characteristics: SCN_DATA },
    ],
  });
}

/** Makes every fixture in a new temp dir (about a second: four RSA keys, a few signatures). */
export function makeSigningFixtures(): SigningFixtures {
  const dir = mkdtempSync(path.join(tmpdir(), 'vigil-signing-'));
  const pki = makeSigningPki(path.join(dir, 'pki'));
  const f = (n: string) => path.join(dir, n);
  writeFileSync(f('plain64.exe'), samplePe());
  writeFileSync(f('plain32.dll'), samplePe({ pe32plus: false, seed: 'pe32' }));

  osslsign(pki, f('plain64.exe'), f('valid-sha256.exe'), { name: 'Example Softphone' });
  osslsign(pki, f('plain32.dll'), f('valid-pe32-sha1.dll'), { hash: 'sha1', withRoot: true });
  osslsign(pki, f('plain64.exe'), f('timestamped.exe'), { timestamp: true, withRoot: true });
  osslsign(pki, f('plain64.exe'), f('nest-base.exe'), { hash: 'sha1', withRoot: true });
  osslsign(pki, f('nest-base.exe'), f('nested.exe'), { nest: true, withRoot: true, timestamp: true });
  osslsign(pki, f('plain64.exe'), f('other-signer.exe'), { other: true });
  osslsign(pki, f('plain64.exe'), f('counter-base.exe'), { withRoot: true });
  signWithLegacyCountersignature(pki, f('plain64.exe'), f('counter-base.exe'), f('countersigned.exe'));

  const valid = readFileSync(f('valid-sha256.exe'));
  const tampered = Buffer.from(valid);
  const dotData = tampered.indexOf(Buffer.from('Example Softphone 18.12.416', 'latin1'));
  tampered[dotData + 18] = '9'.charCodeAt(0); // 18.12.416 -> 18.12.916, one byte of .rdata
  writeFileSync(f('tampered.exe'), tampered);
  writeFileSync(f('extra-in-table.dll'), appendInsideCertificateTable(valid, fakePayload()));
  writeFileSync(f('after-table.exe'), Buffer.concat([valid, Buffer.from('data appended after the certificate table\n')]));
  // A second WIN_CERTIFICATE entry (revision 2, type PKCS) after the first: Windows ignores it.
  const second = Buffer.alloc(8 + 64, 0x41);
  second.writeUInt32LE(second.length, 0);
  second.writeUInt16LE(0x0200, 4);
  second.writeUInt16LE(0x0002, 6);
  const withSecond = Buffer.concat([valid, second]);
  withSecond.writeUInt32LE(securityDirectory(valid).size + second.length, securityDirectory(valid).entryOffset + 4);
  writeFileSync(f('second-entry.exe'), withSecond);
  const table = securityDirectory(valid);
  writeFileSync(f('truncated.exe'), valid.subarray(0, table.offset + Math.floor(table.size / 2)));
  writeFileSync(f('garbage.bin'), randomBytes(8192));

  return {
    pki,
    dir,
    files: {
      validSha256: f('valid-sha256.exe'),
      validPe32Sha1: f('valid-pe32-sha1.dll'),
      timestamped: f('timestamped.exe'),
      nested: f('nested.exe'),
      countersigned: f('countersigned.exe'),
      otherSigner: f('other-signer.exe'),
      tampered: f('tampered.exe'),
      extraInTable: f('extra-in-table.dll'),
      afterTable: f('after-table.exe'),
      secondEntry: f('second-entry.exe'),
      unsigned: f('plain64.exe'),
      truncated: f('truncated.exe'),
      garbage: f('garbage.bin'),
    },
  };
}
