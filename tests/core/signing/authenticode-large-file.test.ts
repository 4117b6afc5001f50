/**
 * Memory stays bounded whatever the file size: a 1 GiB signed PE (the 3CX executable is
 * about 150 MB) whose middle is generated on read (VirtualFile) is verified in one pass of
 * chunked reads. The file's signature is real (osslsigncode); the 1 GiB of filler between
 * the image and the certificate table changes the image digest, so the expected outcome is
 * a digest mismatch with the signer still read.
 */
import { readFileSync, rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyAuthenticode } from '../../../src/core/signing/verify-authenticode.js';
import { CHUNK_BYTES } from '../../../src/core/signing/pe-image-digest.js';
import { makeSigningFixtures, securityDirectory, LEAF_SERIAL, type SigningFixtures } from '../../helpers/signing-fixtures.js';
import { needsTools } from '../../helpers/system-tool.js';
import { VirtualFile } from '../../helpers/signing-memory-file.js';

const SIZE = 1024 * 1024 * 1024;
let fx: SigningFixtures;

beforeAll(() => {
  fx = makeSigningFixtures();
});
afterAll(() => {
  if (fx) rmSync(fx.dir, { recursive: true, force: true });
});

describe('verifying a 1 GiB signed PE', needsTools('openssl', 'osslsigncode'), () => {
  it('reads it once in chunks, never holding more than a few chunks', async () => {
    const signed = readFileSync(fx.files.validSha256);
    const dir = securityDirectory(signed);
    const head = Buffer.from(signed.subarray(0, dir.offset));
    const tail = signed.subarray(dir.offset);
    // The certificate table moves to the end of the 1 GiB file.
    head.writeUInt32LE(SIZE - tail.length, dir.entryOffset);
    const file = new VirtualFile(SIZE, head, tail);

    let peakExternal = 0;
    const baseline = process.memoryUsage().arrayBuffers;
    const read = file.read.bind(file);
    file.read = async (position, length) => {
      const buf = await read(position, length);
      peakExternal = Math.max(peakExternal, process.memoryUsage().arrayBuffers - baseline);
      return buf;
    };

    const r = await verifyAuthenticode(file, { path: 'big.exe' });
    expect(r.status).toBe('digest-mismatch');
    expect(r.fileSize).toBe(SIZE);
    expect(r.signatures[0]!.signer?.serial).toBe(LEAF_SERIAL);
    expect(r.signatures[0]!.signatureValid).toBe(true);
    expect(r.flags).toMatchObject({ extraDataInCertificateTable: false, dataAfterCertificateTable: false });
    // One pass: the image once, plus the 64 KiB header read and the certificate table.
    expect(file.log.largestRead).toBeLessThanOrEqual(CHUNK_BYTES);
    expect(file.log.bytes).toBeLessThanOrEqual(SIZE + 64 * 1024 + 2 * tail.length);
    expect(file.log.reads).toBeLessThan(SIZE / CHUNK_BYTES + 16);
    // Buffers not yet collected may pile up between garbage collections, but nowhere near
    // the file: a whole-file read would need 1 GiB here.
    expect(peakExternal).toBeLessThan(SIZE / 4);
    if (process.env.VIGIL_PRINT_FUZZ) process.stdout.write(`peak external growth ${(peakExternal / 2 ** 20).toFixed(1)} MiB\n`);
  }, 60_000);
});
