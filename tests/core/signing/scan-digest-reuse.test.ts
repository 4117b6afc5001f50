/**
 * A scan reads a signed executable once: inventory's SHA-256 pass also computes the
 * Authenticode image digest, and the signature check of the same scan uses it. Measured
 * with a TargetFs that counts the bytes read per file; the verdict is the same as a
 * verification from scratch, and a file changed between the two is hashed again.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { hashFileAndRanges, hashRanges } from '../../../src/core/signing/pe-image-digest.js';
import { installSignatureCheck } from '../../../src/core/signing/install-signature-check.js';
import { verifyAuthenticodeFile } from '../../../src/core/signing/verify-authenticode.js';
import { parsePackText } from '../../../src/core/pack/parse-pack.js';
import { LocalTargetFs, type RandomAccessFile, type TargetFs } from '../../../src/core/os/target-fs.js';
import { runScan, type ScanContext } from '../../../src/core/scan.js';
import type { ScanReport } from '../../../src/shared/scan.js';
import { makePe, codeAndData } from '../../helpers/make-pe.js';
import { electronAppVersionSpec, makeVersionResource } from '../../helpers/make-version-resource.js';
import { makeSigningPki, osslsign } from '../../helpers/signing-fixtures.js';
import { needsTools } from '../../helpers/system-tool.js';
import { MemoryFile } from '../../helpers/signing-memory-file.js';
import { testPack } from '../../helpers/test-pack.js';

const INSTALL = 'Users/alice/AppData/Local/Programs/3CXDesktopApp';
const EXE = `${INSTALL}/3CXDesktopApp.exe`;
const DATA_BYTES = 6 * 1024 * 1024;

/** Counts the bytes each file is read for, through read and readInto alike. */
function countingFs(inner: TargetFs, bytes: Map<string, number>): TargetFs {
  const add = (rel: string, n: number) => bytes.set(rel, (bytes.get(rel) ?? 0) + n);
  return Object.assign(Object.create(inner) as TargetFs, {
    async open(rel: string): Promise<RandomAccessFile> {
      const f = await inner.open(rel);
      return {
        size: f.size,
        read: async (p: number, l: number) => {
          const b = await f.read(p, l);
          add(rel, b.length);
          return b;
        },
        ...(f.readInto
          ? {
              readInto: async (buf: Buffer, p: number) => {
                const n = await f.readInto!(buf, p);
                add(rel, n);
                return n;
              },
            }
          : {}),
        close: () => f.close(),
      };
    },
  });
}

let root: string;
let exePath: string;
let packText: string;

async function scan(extraFirst?: (ctx: ScanContext) => Promise<void>): Promise<{ report: ScanReport; bytes: Map<string, number> }> {
  const bytes = new Map<string, number>();
  const fs = countingFs(new LocalTargetFs(root, { caseInsensitive: true }), bytes);
  const report = await runScan({
    target: { platform: 'windows', fs, live: false },
    packs: [parsePackText(packText, 'test pack')],
    extraChecks: [
      async (ctx) => {
        await extraFirst?.(ctx);
        return [];
      },
      installSignatureCheck(),
    ],
  });
  return { report, bytes };
}

describe('one read of a signed executable per scan', needsTools('openssl', 'osslsigncode'), () => {
  beforeAll(() => {
    const work = mkdtempSync(path.join(tmpdir(), 'vigil-digest-reuse-'));
    const pki = makeSigningPki(path.join(work, 'pki'));
    const unsigned = path.join(work, 'client.unsigned');
    writeFileSync(
      unsigned,
      makePe({
        sections: codeAndData(Buffer.alloc(DATA_BYTES, 0x3c)),
        resources: (rva) => makeVersionResource(rva, { languages: [{ id: 0x0409, info: electronAppVersionSpec('18.12.425') }] }),
      }),
    );
    root = path.join(work, 'root');
    mkdirSync(path.join(root, INSTALL), { recursive: true });
    mkdirSync(path.join(root, 'Users/alice/Documents'), { recursive: true });
    exePath = path.join(root, EXE);
    osslsign(pki, unsigned, exePath, { name: 'Test Softphone' });
    packText = JSON.stringify(testPack());
  });

  it('inventory and the signature check share one pass; the result is the same as a verification from scratch', async () => {
    const size = readFileSync(exePath).length;
    const { report, bytes } = await scan();
    const read = bytes.get(EXE) ?? 0;
    // One pass over the file, plus headers, the certificate table and the version resource.
    expect(read).toBeGreaterThanOrEqual(size);
    expect(read).toBeLessThan(size + 512 * 1024);

    const install = report.installs[0]!;
    expect(install.files.find((f) => f.role === 'executable')?.sha256).toBe(createHash('sha256').update(readFileSync(exePath)).digest('hex'));
    const sig = report.findings.find((f) => f.category === 'signature')!;
    const fresh = await verifyAuthenticodeFile(exePath);
    expect(fresh.status).toBe('valid');
    expect(sig.evidence).toMatchObject({ detail: { status: 'valid' } });
    expect(JSON.stringify(sig.evidence)).toContain(fresh.signatures[0]!.signer!.sha256);
  });

  it('a file changed between inventory and the signature check is hashed again, and the change is caught', async () => {
    const original = readFileSync(exePath);
    try {
      const { report, bytes } = await scan(async () => {
        // Flip one byte of the image and move the modification time: the cached digest is stale.
        const changed = Buffer.from(original);
        changed[0x400 + 16] = changed[0x400 + 16]! ^ 0xff;
        writeFileSync(exePath, changed);
        const later = new Date(Date.now() + 5000);
        utimesSync(exePath, later, later);
      });
      expect(bytes.get(EXE)!).toBeGreaterThanOrEqual(2 * original.length);
      const sig = report.findings.find((f) => f.category === 'signature')!;
      expect(sig.evidence).toMatchObject({ detail: { status: 'digest-mismatch' } });
    } finally {
      writeFileSync(exePath, original);
    }
  });
});

describe('hashFileAndRanges', () => {
  it('equals a whole-file SHA-256 and hashRanges over the same ranges, at any chunk size', async () => {
    let seed = 7;
    const rand = (n: number) => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed % n;
    };
    for (let i = 0; i < 200; i++) {
      const data = Buffer.alloc(1 + rand(5000));
      for (let j = 0; j < data.length; j++) data[j] = rand(256);
      // Sorted, disjoint ranges, some touching chunk edges, some empty gaps.
      const cuts = [...new Set(Array.from({ length: rand(8) * 2 }, () => rand(data.length + 1)))].sort((a, b) => a - b);
      const ranges = [];
      for (let k = 0; k + 1 < cuts.length; k += 2) if (cuts[k]! < cuts[k + 1]!) ranges.push({ start: cuts[k]!, end: cuts[k + 1]! });
      const chunk = 1 + rand(700);
      const file = new MemoryFile(data);
      const one = await hashFileAndRanges(file, ranges, ['sha256', 'sha1'], chunk);
      expect(one.sha256.toString('hex')).toBe(createHash('sha256').update(data).digest('hex'));
      const apart = await hashRanges(file, ranges, ['sha256', 'sha1'], chunk);
      expect(one.ranges.get('sha256')!.equals(apart.get('sha256')!)).toBe(true);
      expect(one.ranges.get('sha1')!.equals(apart.get('sha1')!)).toBe(true);
    }
  });
});
