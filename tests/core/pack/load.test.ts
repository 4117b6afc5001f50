import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { builtinPacks, mergePacks, PackError, type LoadedPack } from '../../../src/core/pack/load.js';
import { loadPackFile, parsePackText } from '../../../src/core/pack/parse-pack.js';
import { generatePackKey, signPack } from '../../../src/core/pack/pack-signature.js';
import { disarmedCopy, testPack } from '../../helpers/test-pack.js';

function errorOf(fn: () => unknown): PackError {
  try {
    fn();
  } catch (err) {
    if (err instanceof PackError) return err;
    throw err;
  }
  throw new Error('expected a PackError');
}

describe('parsePackText', () => {
  it('loads a valid pack and reports it unsigned', () => {
    const lp = parsePackText(JSON.stringify(testPack()), 'test.json');
    expect(lp.pack.id).toBe('test-softphone-2023');
    expect(lp.ref).toEqual({ id: 'test-softphone-2023', version: 1, title: 'Test softphone incident', origin: 'unsigned' });
  });

  it('names the field of a schema violation', () => {
    const bad = testPack();
    (bad.hashes as { sha256: string }[])[0]!.sha256 = 'ABC';
    const err = errorOf(() => parsePackText(JSON.stringify(bad), 'bad.json'));
    expect(err.message).toContain('bad.json');
    expect(err.problems.join('\n')).toMatch(/hashes\[0\]\.sha256: must be 64 lowercase hex/);
  });

  it('names dangling cross-references', () => {
    const bad = testPack();
    (bad.versionRules as { advice: string; sources: string[] }[])[1]!.advice = 'nope';
    (bad.artifacts as { sources: string[] }[])[0]!.sources = ['ghost'];
    const err = errorOf(() => parsePackText(JSON.stringify(bad), 'x.json'));
    expect(err.problems).toContain('versionRules[1].advice: unknown advice id "nope"');
    expect(err.problems).toContain('artifacts[0].sources[0]: unknown source id "ghost"');
  });

  it('refuses a wildcard in an exact file name, and a fallbackAdvice that names no advice', () => {
    const bad = testPack({ fallbackAdvice: 'missing' });
    ((bad.applications as { platforms: { windows: { executables: string[] } } }[])[0]!.platforms.windows.executables = ['3CX*.exe']);
    const problems = errorOf(() => parsePackText(JSON.stringify(bad), 'x.json')).problems;
    expect(problems).toContain('fallbackAdvice: unknown advice id "missing"');
    expect(problems.join('\n')).toMatch(/applications\[0\]\.platforms\.windows\.executables\[0\]: must be an exact path/);
  });

  it('refuses recursive or absolute locations', () => {
    const bad = testPack();
    (bad.artifacts as { location: { path: string } }[])[0]!.location.path = 'AppData/**/manifest';
    expect(errorOf(() => parsePackText(JSON.stringify(bad), 'x.json')).problems.join()).toMatch(/never walks folders recursively/);
    (bad.artifacts as { location: { path: string } }[])[0]!.location.path = 'C:/Users/x';
    expect(errorOf(() => parsePackText(JSON.stringify(bad), 'x.json')).problems.join()).toMatch(/relative to its scope/);
  });

  it('refuses a newer format with a message to update, and junk', () => {
    expect(errorOf(() => parsePackText(JSON.stringify(testPack({ format: 3 })), 'n.json')).message).toMatch(/format 3 is newer than this agent supports \(2\); update Vigil/);
    expect(errorOf(() => parsePackText('{"format": 1,', 'trunc.json')).message).toMatch(/trunc\.json: not valid JSON/);
    expect(errorOf(() => parsePackText('[]', 'arr.json')).message).toMatch(/must be a JSON object/);
    expect(errorOf(() => parsePackText(JSON.stringify(testPack({ format: '1' })), 's.json')).message).toMatch(/format: expected a pack format from 1 to 2, got "1"/);
  });

  it('reads format 1 and format 2 packs; a format-2 field under format 1 is refused, so an older agent never half-reads it', () => {
    const pbx = {
      id: 'pbx',
      name: 'Test PBX',
      publisher: 'Example Ltd',
      role: 'distribution-point',
      servedAdvice: 'isolate',
      platforms: { linux: { installDirs: [{ scope: 'system', path: 'var/lib/pbx' }], servedFiles: ['Http/clients/*.msi'] } },
    };
    const base = testPack();
    const v2 = testPack({ format: 2, applications: [...(base.applications as unknown[]), pbx] });
    expect(parsePackText(JSON.stringify(v2), 'v2.json').pack.applications[1]).toMatchObject({ role: 'distribution-point', platforms: { linux: { servedFiles: ['Http/clients/*.msi'] } } });
    expect(parsePackText(JSON.stringify(testPack()), 'v1.json').pack.format).toBe(1);

    const understated = errorOf(() => parsePackText(JSON.stringify({ ...v2, format: 1 }), 'v1.json')).problems;
    expect([...understated].sort()).toEqual([
      'applications[1].platforms.linux.servedFiles: servedFiles needs pack format 2',
      'applications[1].role: role needs pack format 2',
      'applications[1].servedAdvice: servedAdvice needs pack format 2',
    ]);
  });

  it('names what a distribution point lacks or misuses', () => {
    const base = testPack();
    const app = (extra: Record<string, unknown>) => testPack({ format: 2, applications: [...(base.applications as unknown[]), { id: 'pbx', name: 'PBX', publisher: 'X', platforms: { linux: { installDirs: [{ scope: 'system', path: 'var/lib/pbx' }] } }, ...extra }] });
    const noServed = errorOf(() => parsePackText(JSON.stringify(app({ role: 'distribution-point', servedAdvice: 'isolate' })), 'a.json')).problems;
    expect(noServed).toContain('applications[1].platforms.linux.servedFiles: a distribution point needs servedFiles on every platform');
    const noAdvice = testPack({ format: 2, applications: [...(base.applications as unknown[]), { id: 'pbx', name: 'PBX', publisher: 'X', role: 'distribution-point', platforms: { linux: { installDirs: [{ scope: 'system', path: 'var/lib/pbx' }], servedFiles: ['a/*.msi'] } } }] });
    expect(errorOf(() => parsePackText(JSON.stringify(noAdvice), 'b.json')).problems).toContain('applications[1].servedAdvice: a distribution point needs servedAdvice');
    const wrongAdvice = app({ role: 'distribution-point', servedAdvice: 'ghost', platforms: { linux: { installDirs: [{ scope: 'system', path: 'var/lib/pbx' }], servedFiles: ['a/*.msi'] } } });
    expect(errorOf(() => parsePackText(JSON.stringify(wrongAdvice), 'c.json')).problems).toContain('applications[1].servedAdvice: unknown advice id "ghost"');
    const servedOnInstalled = app({ platforms: { linux: { installDirs: [{ scope: 'system', path: 'opt/x' }], servedFiles: ['a/*.msi'] } } });
    expect(errorOf(() => parsePackText(JSON.stringify(servedOnInstalled), 'd.json')).problems).toContain('applications[1].platforms.linux.servedFiles: servedFiles are only for role "distribution-point"');
    const recursive = app({ role: 'distribution-point', servedAdvice: 'isolate', platforms: { linux: { installDirs: [{ scope: 'system', path: 'var/lib/pbx' }], servedFiles: ['Http/**/x.msi'] } } });
    expect(errorOf(() => parsePackText(JSON.stringify(recursive), 'e.json')).problems.join('\n')).toMatch(/applications\[1\]\.platforms\.linux\.servedFiles\[0\]: must not use "\*\*"/);
    const ruled = app({ role: 'distribution-point', servedAdvice: 'isolate', platforms: { linux: { installDirs: [{ scope: 'system', path: 'var/lib/pbx' }], servedFiles: ['a/*.msi'] } } });
    (ruled.versionRules as unknown[]).push({ id: 'pbx-old', application: 'pbx', platform: 'linux', class: 'at-risk', below: '20', summary: 'old', advice: 'update', sources: ['advisory'] });
    expect(errorOf(() => parsePackText(JSON.stringify(ruled), 'f.json')).problems).toContain('versionRules[4].application: application "pbx" is a distribution point, whose version is not judged');
  });

  it('keeps singleSource and application sources in any format; an unknown application source is named', () => {
    const doc = testPack();
    (doc.hashes as { singleSource?: boolean }[])[0]!.singleSource = true;
    (doc.applications as { sources?: string[] }[])[0]!.sources = ['advisory'];
    const lp = parsePackText(JSON.stringify(doc), 's.json');
    expect(lp.pack.format).toBe(1);
    expect(lp.pack.hashes[0]!.singleSource).toBe(true);
    (doc.applications as { sources?: string[] }[])[0]!.sources = ['nowhere'];
    expect(errorOf(() => parsePackText(JSON.stringify(doc), 's.json')).problems).toContain('applications[0].sources[0]: unknown source id "nowhere"');
  });

  it('accepts a signed envelope only with a trusted key and an intact pack', () => {
    const key = generatePackKey('partner-1');
    const env = signPack(testPack(), key.keyId, key.privateKeyPem);
    const trusted = [{ keyId: key.keyId, publicKey: key.publicKey }];
    expect(parsePackText(JSON.stringify(env), 'e.json', { trustedKeys: trusted }).ref.origin).toBe('signed:partner-1');
    // Key order and whitespace do not matter: the signature covers canonical JSON.
    const reordered = { pack: Object.fromEntries(Object.entries(env.pack).reverse()), signatures: env.signatures };
    expect(parsePackText(JSON.stringify(reordered, null, 2), 'e.json', { trustedKeys: trusted }).pack.id).toBe('test-softphone-2023');
    expect(errorOf(() => parsePackText(JSON.stringify(env), 'e.json')).message).toMatch(/key "partner-1" is not trusted/);
    const tampered = structuredClone(env);
    (tampered.pack.network as { domains: unknown[] }).domains = [];
    expect(errorOf(() => parsePackText(JSON.stringify(tampered), 'e.json', { trustedKeys: trusted })).message).toMatch(/does not match the pack/);
    const other = generatePackKey('partner-1');
    expect(errorOf(() => parsePackText(JSON.stringify(env), 'e.json', { trustedKeys: [{ keyId: 'partner-1', publicKey: other.publicKey }] })).message).toMatch(/does not match/);
  });

  it('refuses an unsigned pack where a signature is required', () => {
    expect(errorOf(() => parsePackText(JSON.stringify(testPack()), 'u.json', { requireSignature: true })).message).toMatch(/not signed/);
  });
});

describe('loadPackFile / mergePacks', () => {
  it('reads files and keeps the highest version of each pack id', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'vigil-pack-'));
    const v1 = path.join(dir, 'v1.json');
    const v2 = path.join(dir, 'v2.json');
    await writeFile(v1, JSON.stringify(testPack()));
    await writeFile(v2, JSON.stringify(testPack({ version: 2 })));
    const merged = mergePacks([await loadPackFile(v2), await loadPackFile(v1)]);
    expect(merged.packs).toHaveLength(1);
    expect(merged.packs[0]!.pack.version).toBe(2);
    expect(merged.refused).toEqual([]);
    await expect(loadPackFile(path.join(dir, 'missing.json'))).rejects.toThrow(/missing\.json: cannot read: ENOENT/);
  });
});

describe('mergePacks: an unsigned pack never replaces a built-in or signed one', () => {
  /** The attack: the built-in 3CX pack, copied unsigned at version 99 with every rule emptied. */
  async function attack(): Promise<{ builtin: LoadedPack; evil: LoadedPack }> {
    const [builtin] = (await builtinPacks()).filter((p) => p.pack.id === '3cx-desktopapp-2023-03');
    return { builtin: builtin!, evil: parsePackText(JSON.stringify(disarmedCopy(builtin!.pack)), '/etc/vigil/packs/3cx-update.json') };
  }

  it('the unsigned copy at version 99 is refused, in either order, and the built-in pack stays whole', async () => {
    const { builtin, evil } = await attack();
    expect(evil.ref.origin).toBe('unsigned');
    for (const input of [[builtin, evil], [evil, builtin]]) {
      const merged = mergePacks(input);
      expect(merged.packs).toEqual([builtin]);
      expect(merged.packs[0]!.pack.versionRules.length).toBeGreaterThan(0);
      expect(merged.refused).toHaveLength(1);
      expect(merged.refused[0]!.pack).toBe(evil);
      expect(merged.refused[0]!.kept).toBe(builtin);
      expect(merged.refused[0]!.reason).toBe(
        `/etc/vigil/packs/3cx-update.json: unsigned pack "3cx-desktopapp-2023-03" version 99 not used: the built-in pack "3cx-desktopapp-2023-03" version ${builtin.pack.version} stays in use, because an unsigned pack never replaces a built-in or signed pack of the same id (sign it with a trusted pack key, or give it an id of its own)`,
      );
    }
  });

  it('a signed pack of a higher version replaces the built-in one; a signed lower version does not; an unsigned one never replaces the signed one', async () => {
    const { builtin } = await attack();
    const key = generatePackKey('partner-1');
    const trusted = [{ keyId: key.keyId, publicKey: key.publicKey }];
    const signed = (version: number) => parsePackText(JSON.stringify(signPack({ ...builtin.pack, version, title: `3CX v${version}` }, key.keyId, key.privateKeyPem)), `v${version}.json`, { trustedKeys: trusted });
    const v = builtin.pack.version + 1;
    expect(mergePacks([builtin, signed(v)]).packs.map((p) => p.ref)).toEqual([{ id: builtin.pack.id, version: v, title: `3CX v${v}`, origin: 'signed:partner-1' }]);
    // A signed pack older than the built-in one does not roll it back.
    expect(mergePacks([signed(v), { ...builtin, pack: { ...builtin.pack, version: v + 1 } }]).packs[0]!.ref.origin).toBe('builtin');
    const unsigned = parsePackText(JSON.stringify({ ...builtin.pack, version: v + 3 }), 'u.json');
    const merged = mergePacks([builtin, signed(v), unsigned]);
    expect(merged.packs.map((p) => p.ref.origin)).toEqual(['signed:partner-1']);
    expect(merged.refused.map((r) => r.reason)).toEqual([expect.stringMatching(new RegExp(`^u\\.json: unsigned pack .* version ${v + 3} not used: the signed \\(partner-1\\) pack .* version ${v} stays in use`))]);
  });

  it('an unsigned copy at a lower version is refused too (it could never be used), and unrelated packs are untouched', async () => {
    const { builtin } = await attack();
    const older = parsePackText(JSON.stringify({ ...builtin.pack, version: 1 }), 'old.json');
    const other = parsePackText(JSON.stringify(testPack()), 'other.json');
    const merged = mergePacks([builtin, older, other]);
    expect(merged.packs).toEqual([builtin, other]);
    expect(merged.refused.map((r) => r.pack)).toEqual([older]);
  });
});
