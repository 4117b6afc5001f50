/**
 * Property test, part 1 of 2 (the parts run on separate workers): 6,500 signed and
 * unsigned PE files with mutated PE headers, certificate-table directory entries and file
 * lengths, each verified in memory. Invariants in tests/helpers/signing-fuzz.ts: no throw,
 * no hang, the shared result shape, "valid" only when every signature checks out, and
 * bounded reads. Part 2 (authenticode-fuzz-signature.test.ts) aims at the certificate
 * table and the PKCS#7 blob; together they feed 10,000 mutated files to the verifier.
 */
import { rmSync } from 'node:fs';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeSigningFixtures, type SigningFixtures } from '../../helpers/signing-fixtures.js';
import { needsTools } from '../../helpers/system-tool.js';
import { applyMutations, mutationArbitrary, type MutationSeed } from '../../helpers/signing-mutations.js';
import { loadSeeds, verifyMutated, type FuzzStats } from '../../helpers/signing-fuzz.js';

const RUNS = 6_500;
let fx: SigningFixtures;
let seeds: MutationSeed[];

beforeAll(() => {
  fx = makeSigningFixtures();
  seeds = loadSeeds(fx);
});
afterAll(() => {
  if (fx) rmSync(fx.dir, { recursive: true, force: true });
});

describe('Authenticode verifier on mutated PE headers and lengths', needsTools('openssl', 'osslsigncode'), () => {
  it(`${RUNS} mutated files: every one ends in a well-formed result, with bounded reads`, async () => {
    const stats: FuzzStats = { runs: 0, byStatus: {} };
    await fc.assert(
      fc.asyncProperty(
        fc.nat({ max: seeds.length - 1 }),
        fc.array(mutationArbitrary({ fields: 6, bytes: 2, lengths: 2 }), { minLength: 1, maxLength: 4 }),
        async (seedIndex, mutations) => {
          await verifyMutated(applyMutations(seeds[seedIndex]!, mutations), stats);
        },
      ),
      { numRuns: RUNS },
    );
    expect(stats.runs).toBeGreaterThanOrEqual(RUNS);
    // The mutations reach past the header checks: several outcomes occur, not only "malformed".
    for (const status of ['malformed', 'unsigned', 'valid', 'digest-mismatch']) expect(stats.byStatus[status], status).toBeGreaterThan(0);
    if (process.env.VIGIL_PRINT_FUZZ) process.stdout.write(`headers fuzz: ${JSON.stringify(stats)}\n`);
  }, 120_000);
});
