/**
 * Every built-in pack, read from disk: each indicator cites at least one source that the
 * pack lists, each source is cited, and an indicator whose sources are a single entry
 * carries the "single source" marker that findings and the fleet page show.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { PackSchema, type Pack } from '../../../src/core/pack/schema.js';
import { builtinPacks } from '../../../src/core/pack/load.js';

const DIR = fileURLToPath(new URL('../../../src/core/pack/builtin/', import.meta.url));
const files = readdirSync(DIR).filter((n) => n.endsWith('.json')).sort();

interface Cited {
  what: string;
  sources: readonly string[];
  singleSource?: boolean | undefined;
}

/** Every indicator of a pack, named for the failure message. */
function indicators(pack: Pack): Cited[] {
  const net = pack.network;
  return [
    ...pack.versionRules.map((r) => ({ what: `versionRules ${r.id}`, sources: r.sources, singleSource: r.singleSource })),
    ...pack.hashes.map((h) => ({ what: `hash ${h.sha256}`, sources: h.sources, singleSource: h.singleSource })),
    ...pack.signers.map((s) => ({ what: `signer ${s.id}`, sources: s.sources, singleSource: s.singleSource })),
    ...pack.artifacts.map((a) => ({ what: `artifact ${a.id}`, sources: a.sources, singleSource: a.singleSource })),
    ...(net?.domains ?? []).map((d) => ({ what: `domain ${d.domain}`, sources: d.sources, singleSource: d.singleSource })),
    ...(net?.urls ?? []).map((u) => ({ what: `url ${u.url}`, sources: u.sources, singleSource: u.singleSource })),
    ...(net?.ips ?? []).map((i) => ({ what: `ip ${i.ip}`, sources: i.sources, singleSource: i.singleSource })),
  ];
}

it('ships both built-in packs', async () => {
  expect(files).toEqual(['3cx-2023.json', 'x-trader-2023.json']);
  const ids = (await builtinPacks()).map((p) => [p.pack.id, p.ref.origin]);
  expect(ids).toEqual([
    ['3cx-desktopapp-2023-03', 'builtin'],
    ['x-trader-2023', 'builtin'],
  ]);
});

describe.each(files)('built-in pack %s: citations', (file) => {
  const raw = JSON.parse(readFileSync(path.join(DIR, file), 'utf8')) as Record<string, unknown>;
  const pack = PackSchema.parse(raw);
  const sourceIds = new Set(pack.sources.map((s) => s.id));

  it('every indicator cites at least one source the pack lists', () => {
    const all = indicators(pack);
    expect(all.length).toBeGreaterThan(0);
    for (const i of all) {
      expect(i.sources.length, `${i.what} cites no source`).toBeGreaterThan(0);
      for (const s of i.sources) expect(sourceIds.has(s), `${i.what} cites unknown source ${s}`).toBe(true);
    }
  });

  it('an indicator resting on one source entry is marked singleSource', () => {
    for (const i of indicators(pack)) {
      if (new Set(i.sources).size === 1) expect(i.singleSource, `${i.what} cites only ${i.sources[0]}`).toBe(true);
    }
  });

  it('every source is cited by an indicator or an application, over https, once', () => {
    const cited = new Set([...indicators(pack).flatMap((i) => i.sources), ...pack.applications.flatMap((a) => a.sources ?? [])]);
    for (const s of pack.sources) {
      expect(cited.has(s.id), `source ${s.id} is never cited`).toBe(true);
      expect(new URL(s.url).protocol).toBe('https:');
    }
    expect(new Set(pack.sources.map((s) => s.url)).size).toBe(pack.sources.length);
  });

  it('a copy with an indicator stripped of its sources is refused', () => {
    const doc = structuredClone(raw) as { hashes: { sources: string[] }[] };
    doc.hashes[0]!.sources = [];
    const r = PackSchema.safeParse(doc);
    expect(r.success).toBe(false);
    expect(r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`)).toContain('hashes.0.sources: every indicator must cite at least one source');
  });
});
