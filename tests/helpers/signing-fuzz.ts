/**
 * The invariants every verification of a mutated PE file must keep, shared by the
 * property tests that aim mutations at different structures (so vitest can run them on
 * both cores). A verification that throws, rejects, or never settles fails the property
 * (fast-check reports the seed and the shrunk mutation list).
 */
import { readFileSync } from 'node:fs';
import { expect } from 'vitest';
import { verifyAuthenticode } from '../../src/core/signing/verify-authenticode.js';
import { PE_HEADER_READ_BYTES } from '../../src/core/pe/pe-headers.js';
import { SignatureVerificationSchema, type SignatureVerification } from '../../src/shared/signature.js';
import { MemoryFile } from './signing-memory-file.js';
import { describeSeed, type MutationSeed } from './signing-mutations.js';
import type { FixtureName, SigningFixtures } from './signing-fixtures.js';

/** Seeds covering every signature shape the fixtures have. */
export const SEED_NAMES: readonly FixtureName[] = ['validSha256', 'validPe32Sha1', 'nested', 'timestamped', 'countersigned', 'extraInTable', 'secondEntry', 'unsigned'];

export function loadSeeds(fx: SigningFixtures): MutationSeed[] {
  return SEED_NAMES.map((n) => describeSeed(n, readFileSync(fx.files[n])));
}

export interface FuzzStats {
  runs: number;
  byStatus: Record<string, number>;
}

export async function verifyMutated(bytes: Buffer, stats: FuzzStats): Promise<SignatureVerification> {
  const file = new MemoryFile(bytes);
  const result = await verifyAuthenticode(file, { path: 'mutated.exe', now: new Date('2026-01-01T00:00:00Z') });
  stats.runs++;
  stats.byStatus[result.status] = (stats.byStatus[result.status] ?? 0) + 1;

  // A result of the shared shape, plain JSON.
  const parsed = SignatureVerificationSchema.safeParse(JSON.parse(JSON.stringify(result)));
  expect(parsed.success, parsed.success ? '' : parsed.error.message).toBe(true);
  expect(result.fileSize ?? bytes.length).toBe(bytes.length);

  // "valid" is only ever said of signatures that each check out.
  if (result.status === 'valid') {
    expect(result.signatures.length).toBeGreaterThan(0);
    for (const s of result.signatures) {
      expect(s.digestMatches && s.signatureValid && s.chain.status !== 'invalid').toBe(true);
      expect(s.computedDigest).toBe(s.signedDigest);
    }
  }
  if (result.status === 'malformed' || result.status === 'unsupported' || result.status === 'unreadable') {
    if (result.signatures.length === 0) expect(result.error).toBeTruthy();
  }
  // Flags and the extra-data list say the same thing, and every range lies in the file.
  expect(result.flags.extraDataInCertificateTable).toBe(result.extraData.some((e) => e.location === 'certificate-table'));
  expect(result.flags.dataAfterCertificateTable).toBe(result.extraData.some((e) => e.location === 'after-certificate-table'));
  for (const e of result.extraData) expect(e.offset + e.length).toBeLessThanOrEqual(bytes.length);

  // Bounded work and memory: no read asks for more than the file holds, and the file is
  // read a bounded number of times over (headers once, the image once, the certificate
  // table and any extra data once more), whatever the mutated lengths claim.
  expect(file.log.largestRead).toBeLessThanOrEqual(Math.max(bytes.length, 16));
  expect(file.log.bytes).toBeLessThanOrEqual(3 * bytes.length + PE_HEADER_READ_BYTES);
  return result;
}
