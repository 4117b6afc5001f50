/**
 * Where the verifier tolerates BER and where it insists on DER (docs/SIGNING.md "DER
 * reader"), on a real osslsigncode signature with an RFC 3161 timestamp. An element whose
 * definite length takes 4 header octets (tag, 0x82, two length octets) is rewritten with
 * an indefinite length (tag, 0x80, content, 00 00): the same number of bytes, so nothing
 * around it changes and the image digest (which skips the certificate table) still
 * matches. The element to rewrite is found with the DER reader itself.
 */
import { readFileSync, rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { children, readDer, sequence, type DerElement } from '../../../src/core/signing/der.js';
import { serialHex } from '../../../src/core/signing/certificate-summary.js';
import { verifyAuthenticode } from '../../../src/core/signing/verify-authenticode.js';
import { parseCertificate } from '../../../src/core/signing/x509-certificate.js';
import type { SignatureVerification } from '../../../src/shared/signature.js';
import { LEAF_SERIAL, makeSigningFixtures, securityDirectory, type SigningFixtures } from '../../helpers/signing-fixtures.js';
import { MemoryFile } from '../../helpers/signing-memory-file.js';
import { needsTools } from '../../helpers/system-tool.js';

let fx: SigningFixtures;
let file: Buffer;
let blobOffset: number;

beforeAll(() => {
  fx = makeSigningFixtures();
  file = readFileSync(fx.files.timestamped);
  blobOffset = securityDirectory(file).offset + 8; // after the WIN_CERTIFICATE header
});
afterAll(() => {
  if (fx) rmSync(fx.dir, { recursive: true, force: true });
});

const now = new Date('2026-01-01T00:00:00Z');
const verify = (bytes: Buffer): Promise<SignatureVerification> => verifyAuthenticode(new MemoryFile(bytes), { path: 'ber.exe', now });

/** The PKCS#7 blob's structure: SignedData, its first SignerInfo, the timestamp token's SignedData. */
function landmarks(bytes: Buffer) {
  const blob = bytes.subarray(blobOffset);
  const contentInfo = readDer(blob, 'blob', { allowTrailing: true });
  const signedData = children(children(contentInfo, 'ci')[1]!, 'content')[0]!;
  const sd = sequence(signedData, 'sd');
  const certificates = children(sd[3]!, 'certs');
  const signerInfo = sequence(sd[4], 'signerInfos', 0x11)[0]!;
  const si = sequence(signerInfo, 'si');
  const unsigned = si[si.length - 1]!;
  const token = sequence(children(children(unsigned, 'unsigned')[0]!, 'attr')[1], 'values', 0x11)[0]!;
  const tokenSignedData = children(children(token, 'token')[1]!, 'content')[0]!;
  const tokenEncap = sequence(tokenSignedData, 'tsd')[2]!;
  return { certificates, token, tokenSignedData, tokenEncap };
}

/** The file with one element's definite 4-octet header turned into an indefinite length. */
function indefinite(bytes: Buffer, el: DerElement): Buffer {
  expect(el.constructed).toBe(true);
  expect(el.bytes[1]).toBe(0x82); // a 4-octet header: the rewrite keeps the length
  const out = Buffer.from(bytes);
  const at = blobOffset + el.offset;
  out[at + 1] = 0x80;
  out.set(el.content, at + 2);
  out[at + 2 + el.content.length] = 0;
  out[at + 3 + el.content.length] = 0;
  return out;
}

describe('BER in the envelope, DER where bytes are signed', needsTools('openssl', 'osslsigncode'), () => {
  it('the fixture verifies as made, timestamp included', async () => {
    const r = await verify(file);
    expect(r.status).toBe('valid');
    expect(r.signatures[0]!.timestamp).toMatchObject({ kind: 'rfc3161', verified: true });
  });

  it('indefinite lengths on the timestamp token and its SignedData and encapsulated content: still valid', async () => {
    const { token, tokenSignedData, tokenEncap } = landmarks(file);
    let bytes = file;
    // Innermost first: a rewrite moves its own content two octets, nothing outside it.
    for (const el of [tokenEncap, tokenSignedData, token]) {
      if (el.bytes[1] === 0x82) bytes = indefinite(bytes, el);
    }
    expect(bytes.equals(file)).toBe(false);
    const r = await verify(bytes);
    expect(r.status).toBe('valid');
    expect(r.signatures[0]!.timestamp).toMatchObject({ kind: 'rfc3161', verified: true });
    expect(r.signatures[0]!.problems).toEqual(expect.not.arrayContaining([expect.stringMatching(/timestamp/)]));
  });

  it("an indefinite length on the signer's certificate: skipped as not DER, so the signer is not found", async () => {
    const { certificates } = landmarks(file);
    const leaf = certificates.find((c) => serialHex(parseCertificate(c).serial) === LEAF_SERIAL)!;
    const r = await verify(indefinite(file, leaf));
    expect(r.status).toBe('bad-signature');
    expect(r.signatures[0]!.problems).toContain("the signer's certificate is not embedded in the signature");
    // The same bytes with a definite length are the signer: only the encoding differs.
    expect(leaf.bytes[1]).toBe(0x82);
  });

  it('a broken length anywhere in the blob, even in a certificate no check needs: the blob is malformed', async () => {
    const { certificates } = landmarks(file);
    const last = certificates[certificates.length - 1]!;
    const bytes = Buffer.from(file);
    bytes[blobOffset + last.offset + 3] = bytes[blobOffset + last.offset + 3]! + 1; // the certificate claims one octet more than it has
    const r = await verify(bytes);
    expect(r.status).toBe('malformed');
    expect(r.error).toMatch(/the PKCS#7 blob is not valid DER: .* at offset \d+/);
  });
});
