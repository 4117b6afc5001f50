/**
 * Property test, part 2 of 2 (the parts run on separate workers): 3,500 signed PE files
 * whose certificate table and PKCS#7 blob are mutated (WIN_CERTIFICATE header fields, DER
 * tags and lengths, bytes anywhere in the blob, cut, shortened or grown tables), each
 * verified in memory. Invariants in tests/helpers/signing-fuzz.ts: no throw, no hang, the
 * shared result shape, "valid" only when every signature checks out, and bounded reads.
 * With part 1 (authenticode-fuzz-headers.test.ts), 10,000 mutated files.
 */
import { rmSync } from 'node:fs';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeSigningFixtures, type SigningFixtures } from '../../helpers/signing-fixtures.js';
import { needsTools } from '../../helpers/system-tool.js';
import { applyMutations, mutationArbitrary, type MutationSeed } from '../../helpers/signing-mutations.js';
import { loadSeeds, verifyMutated, type FuzzStats } from '../../helpers/signing-fuzz.js';

const RUNS = 3_500;
let fx: SigningFixtures;
let seeds: MutationSeed[];

beforeAll(() => {
  fx = makeSigningFixtures();
  // Only signed seeds: an unsigned file has no certificate table to mutate.
  seeds = loadSeeds(fx).filter((s) => s.table);
});
afterAll(() => {
  if (fx) rmSync(fx.dir, { recursive: true, force: true });
});

describe('Authenticode verifier on mutated certificate tables and PKCS#7 blobs', needsTools('openssl', 'osslsigncode'), () => {
  it(`${RUNS} mutated files: every one ends in a well-formed result, with bounded reads`, async () => {
    expect(seeds.length).toBe(7);
    const stats: FuzzStats = { runs: 0, byStatus: {} };
    await fc.assert(
      fc.asyncProperty(
        fc.nat({ max: seeds.length - 1 }),
        fc.array(mutationArbitrary({ fields: 1, bytes: 6, lengths: 2 }, ['table', 'table', 'pkcs7-head']), { minLength: 1, maxLength: 3 }),
        async (seedIndex, mutations) => {
          await verifyMutated(applyMutations(seeds[seedIndex]!, mutations), stats);
        },
      ),
      { numRuns: RUNS },
    );
    expect(stats.runs).toBeGreaterThanOrEqual(RUNS);
    // Mutations inside the blob reach the signature checks, not only the parser.
    for (const status of ['malformed', 'bad-signature', 'valid']) expect(stats.byStatus[status], status).toBeGreaterThan(0);
    if (process.env.VIGIL_PRINT_FUZZ) process.stdout.write(`signature fuzz: ${JSON.stringify(stats)}\n`);
  }, 120_000);
});
