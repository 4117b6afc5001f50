/**
 * Hashing the image on a worker thread (what `vigil verify` does for a large PE while the
 * signature code loads): the worker's digests are the bytes' digests, over odd ranges and
 * chunk boundaries; a short file, a bad descriptor and an early stop are errors, not hangs
 * or unhandled rejections; and a real signed PE above the threshold, signed by osslsigncode
 * (SHA-256 with a timestamp; SHA-1 with a nested SHA-256), verifies to the same result on
 * the worker as on the main thread, with the digest osslsigncode calculates.
 */
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashRangesOnWorker, WORKER_MIN_BYTES } from '../../../src/core/signing/image-digest-worker.js';
import { verifyAuthenticodeFile } from '../../../src/core/signing/verify-authenticode.js';
import { makePe, codeAndData } from '../../helpers/make-pe.js';
import { makeSigningPki, osslsign, securityDirectory, type SigningPki } from '../../helpers/signing-fixtures.js';
import { osslsigncodeVerify } from '../../helpers/signing-osslsigncode.js';
import { needsTools } from '../../helpers/system-tool.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'vigil-digest-worker-'));
});
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('hashRangesOnWorker', () => {
  const bytes = randomBytes(3 * 1024 * 1024 + 123);
  let file: string;
  beforeAll(() => {
    file = path.join(dir, 'random.bin');
    writeFileSync(file, bytes);
  });

  it('gives every algorithm the digest of the ranges, in order, across chunk boundaries', async () => {
    const ranges = [
      { start: 0, end: 216 },
      { start: 220, end: 296 },
      { start: 304, end: 2_000_001 },
      { start: 2_000_001, end: bytes.length },
    ];
    const fd = openSync(file, 'r');
    try {
      const digests = await hashRangesOnWorker(fd, ranges, ['sha256', 'sha1'], 64 * 1024 + 7).digests;
      for (const alg of ['sha256', 'sha1']) {
        const h = createHash(alg);
        for (const r of ranges) h.update(bytes.subarray(r.start, r.end));
        expect(digests.get(alg)!.toString('hex'), alg).toBe(h.digest('hex'));
      }
    } finally {
      closeSync(fd);
    }
  });

  it('a range past the end of the file is an error naming where the file ended', async () => {
    const fd = openSync(file, 'r');
    try {
      await expect(hashRangesOnWorker(fd, [{ start: 0, end: bytes.length + 10 }], ['sha256']).digests).rejects.toThrow(
        `file ended at ${bytes.length} while reading 0-${bytes.length + 10}`,
      );
    } finally {
      closeSync(fd);
    }
  });

  it('a descriptor that is not open is a read error with its code', async () => {
    // Far above any descriptor this process has open (a just-closed number may be reused).
    await expect(hashRangesOnWorker(1_000_000, [{ start: 0, end: 10 }], ['sha256']).digests).rejects.toMatchObject({ code: 'EBADF' });
  });

  it('stop() ends the worker mid-way: it resolves, and the digests reject instead of hanging', async () => {
    const fd = openSync(file, 'r');
    try {
      // Many passes over the file: far longer than the stop takes.
      const ranges = Array.from({ length: 200 }, () => ({ start: 0, end: bytes.length }));
      const job = hashRangesOnWorker(fd, ranges, ['sha256']);
      await job.stop();
      await job.stop(); // idempotent
      await expect(job.digests).rejects.toThrow(/without a result/);
    } finally {
      closeSync(fd);
    }
  });
});

describe('verifying a large signed PE with its hashing on a worker thread (hashOnWorker)', needsTools('osslsigncode', 'openssl'), () => {
  let pki: SigningPki;
  const files: Record<'sha256' | 'nested' | 'tampered', string> = { sha256: '', nested: '', tampered: '' };

  beforeAll(() => {
    pki = makeSigningPki(path.join(dir, 'pki'));
    const data = randomBytes(WORKER_MIN_BYTES + 1024 * 1024);
    const pe = makePe({
      sections: codeAndData(data),
    });
    const plain = path.join(dir, 'big.exe');
    writeFileSync(plain, pe);
    files.sha256 = path.join(dir, 'big-sha256.exe');
    osslsign(pki, plain, files.sha256, { timestamp: true, withRoot: true });
    const sha1 = path.join(dir, 'big-sha1.exe');
    osslsign(pki, plain, sha1, { hash: 'sha1', withRoot: true });
    files.nested = path.join(dir, 'big-nested.exe');
    osslsign(pki, sha1, files.nested, { nest: true, withRoot: true, timestamp: true });
    const tampered = readFileSync(files.sha256);
    const at = securityDirectory(tampered).offset - 4096; // one byte of .rdata
    tampered[at] = tampered[at]! ^ 0xff;
    files.tampered = path.join(dir, 'big-tampered.exe');
    writeFileSync(files.tampered, tampered);
  }, 120_000);

  it('is above the threshold, and the result equals the main thread\'s and osslsigncode\'s digests', async () => {
    for (const name of ['sha256', 'nested'] as const) {
      const onWorker = await verifyAuthenticodeFile(files[name], { hashOnWorker: true });
      const here = await verifyAuthenticodeFile(files[name]);
      expect(onWorker.fileSize!, name).toBeGreaterThanOrEqual(WORKER_MIN_BYTES);
      expect(onWorker.status, name).toBe('valid');
      expect(onWorker.signatures.map((s) => s.computedDigest), name).toEqual(here.signatures.map((s) => s.computedDigest));
      expect({ status: onWorker.status, flags: onWorker.flags, extraData: onWorker.extraData }, name).toEqual({
        status: here.status,
        flags: here.flags,
        extraData: here.extraData,
      });
      const peer = osslsigncodeVerify(files[name], pki.rootPem);
      expect(peer.succeeded, peer.text).toBe(true);
      for (const s of onWorker.signatures) {
        expect(s.digestMatches, `${name} #${s.index}`).toBe(true);
        expect(peer.signatures.map((p) => p.calculated), `${name} #${s.index}`).toContain(s.computedDigest);
      }
    }
    expect((await verifyAuthenticodeFile(files.nested, { hashOnWorker: true })).signatures.map((s) => s.digestAlgorithm)).toEqual(['sha1', 'sha256']);
  }, 60_000);

  it('a byte changed after signing is a digest mismatch on the worker as on the main thread', async () => {
    const onWorker = await verifyAuthenticodeFile(files.tampered, { hashOnWorker: true });
    const here = await verifyAuthenticodeFile(files.tampered);
    expect(onWorker.status).toBe('digest-mismatch');
    expect(here.status).toBe('digest-mismatch');
    expect(onWorker.signatures[0]!.computedDigest).toBe(here.signatures[0]!.computedDigest);
    expect(onWorker.signatures[0]!.signatureValid).toBe(true);
  }, 60_000);
});
