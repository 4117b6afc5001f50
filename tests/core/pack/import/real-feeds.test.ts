/**
 * The importer on real published feeds. The copies are not committed: the workplace keeps
 * fetched third-party files out of project commits (and sophoslabs/IoCs carries no
 * licence). tests/fixtures/pack-import/README.md names each file, where it comes from and
 * at which commit; put copies in tests/fixtures/pack-import/real/ or point
 * VIGIL_REAL_FEEDS at a folder holding them (or shared/pack-import/real/ beside the clone), and these tests run. Each missing file skips
 * its test with one line naming it.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildDraft } from '../../../../src/core/pack/import/draft.js';
import { readFeedFile } from '../../../../src/core/pack/import/read-feed.js';

// Also looked for in the steering repo's shared/ beside the clone (CI gets a copy of it),
// the one place where fetched data files may be kept for the developers.
const SHARED = path.join(import.meta.dirname, '../../../../../shared/pack-import/real');
const DIR = process.env.VIGIL_REAL_FEEDS ?? (existsSync(SHARED) ? SHARED : path.join(import.meta.dirname, '../../../fixtures/pack-import/real'));
const BUILTIN_3CX = path.join(import.meta.dirname, '../../../../src/core/pack/builtin/3cx-2023.json');

function real(name: string): string | undefined {
  const file = path.join(DIR, name);
  if (existsSync(file)) return file;
  console.log(`skipped: real feed ${name} not found in ${DIR} (see tests/fixtures/pack-import/README.md)`);
  return undefined;
}

const sophos = real('sophos-3cx-2023-03.csv');
const apt1 = real('oasis-apt1.json');
const poisonIvy = real('oasis-poisonivy.json');

describe('pack import on real published feeds', () => {
  it.skipIf(!sophos)('Sophos "3CX IoCs 2023-03.csv": every row maps, and agrees with the built-in 3CX pack', async () => {
    const feed = await readFeedFile(sophos!, 'sophos-3cx-2023-03.csv');
    const { draft, report } = buildDraft([feed], { id: 'sophos-3cx', published: '2026-12-05' });
    expect(report.counts).toEqual({ hashes: 8, domains: 21, urls: 1, ips: 0, sources: 1, duplicatesMerged: 0, unmapped: 0 });
    expect(draft.sources).toEqual([{ id: 'sophos', publisher: 'sophos.com', title: 'Indicators of 3CX DLL-sideloading exploitation Mar-2023', url: 'https://news.sophos.com/en-us/2023/03/29/3cx-dll-sideloading-attack/' }]);
    const builtin = JSON.parse(await readFile(BUILTIN_3CX, 'utf8')) as { hashes: { sha256: string }[]; network: { domains: { domain: string }[]; urls: { url: string }[] } };
    const hashes = draft.hashes as { sha256: string; fileName?: string }[];
    const network = draft.network as { domains: { domain: string }[]; urls: { url: string }[] };
    expect(hashes.map((h) => h.sha256).filter((h) => !builtin.hashes.some((b) => b.sha256 === h))).toEqual([]);
    expect(network.domains.map((d) => d.domain).filter((d) => !builtin.network.domains.some((b) => b.domain === d))).toEqual([]);
    expect(network.urls.map((u) => u.url)).toEqual(['https://raw.githubusercontent.com/IconStorages/images/main/']);
    expect(hashes.find((h) => h.sha256 === 'a64fa9f1c76457ecc58402142a8728ce34ccba378c17318b3340083eeb7acc67')?.fileName).toBe('libffmpeg.dylib');
  });

  it.skipIf(!apt1)('OASIS APT1 bundle: domains map; MD5-only hashes, address ranges and certificates are listed as unmapped', async () => {
    const { report } = buildDraft([await readFeedFile(apt1!, 'apt1.json')], { id: 'apt1', published: '2026-12-05' });
    expect(report.counts).toEqual({ hashes: 0, domains: 3, urls: 0, ips: 0, sources: 0, duplicatesMerged: 0, unmapped: 9 });
    const reasons = report.unmapped.map((u) => u.reason);
    expect(reasons.filter((r) => /no SHA-256/.test(r))).toHaveLength(3);
    expect(reasons.filter((r) => /address range/.test(r))).toHaveLength(4);
    expect(reasons.filter((r) => /signers/.test(r))).toHaveLength(2);
    // The bundle's report names no URL, so nothing is cited: the draft says so, and validation will too.
    expect(report.todo).toContainEqual(expect.stringMatching(/^3 indicators cite no source/));
  });

  it.skipIf(!poisonIvy)('OASIS Poison Ivy bundle: domain OR address patterns split into entries, repeats merged', async () => {
    const { draft, report } = buildDraft([await readFeedFile(poisonIvy!, 'poisonivy.json')], { id: 'pivy', published: '2026-12-05' });
    expect(report.counts).toEqual({ hashes: 0, domains: 24, urls: 0, ips: 18, sources: 0, duplicatesMerged: 22, unmapped: 3 });
    expect(draft.title).toBe('Poison Ivy: Assessing Damage and Extracting Intelligence');
    // A value the bundle got wrong ("domain autuo.xicp.net") is reported, not guessed at.
    expect(report.unmapped).toContainEqual(expect.objectContaining({ reason: '"domain autuo.xicp.net" is not a DNS name' }));
  });
});
