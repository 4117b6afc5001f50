import { mkdtemp, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/main.js';
import { parsePackText } from '../../src/core/pack/parse-pack.js';
import { testPack } from '../helpers/test-pack.js';
import { readFile } from 'node:fs/promises';

function io(cwd: string) {
  const out = { stdout: '', stderr: '' };
  return { out, io: { stdout: (t: string) => (out.stdout += t), stderr: (t: string) => (out.stderr += t), env: {}, cwd, interrupted: new Promise<void>(() => {}) } };
}

describe('vigil pack', () => {
  it('validates, makes a key, signs, and the signed pack loads only with that key', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'vigil-packcli-'));
    await writeFile(path.join(dir, 'p.json'), JSON.stringify(testPack()));
    await writeFile(path.join(dir, 'bad.json'), JSON.stringify(testPack({ published: 'yesterday' })));
    let r = io(dir);
    expect(await runCli(['pack', 'validate', 'p.json', 'bad.json'], r.io)).toBe(64);
    expect(r.out.stdout).toMatch(/p\.json: valid: test-softphone-2023 v1 \(1 applications, 4 version rules, 1 hashes/);
    expect(r.out.stderr).toMatch(/bad\.json: published: /);

    r = io(dir);
    expect(await runCli(['pack', 'keygen', '--key-id', 'msp-1', '--out', 'k'], r.io)).toBe(0);
    expect((await stat(path.join(dir, 'k.key.pem'))).mode & 0o777).toBe(0o600);
    expect(await runCli(['pack', 'keygen', '--key-id', 'msp-1', '--out', 'k'], io(dir).io)).toBe(64); // never overwrites a key

    r = io(dir);
    expect(await runCli(['pack', 'sign', '--key', 'k.key.pem', '--key-id', 'msp-1', '--out', 's.json', 'p.json'], r.io)).toBe(0);
    expect(await runCli(['pack', 'sign', '--key', 'k.key.pem', '--key-id', 'msp-1', '--out', 's2.json', 'bad.json'], io(dir).io)).toBe(64);
    const pub = JSON.parse(await readFile(path.join(dir, 'k.pub.json'), 'utf8'));
    const signed = await readFile(path.join(dir, 's.json'), 'utf8');
    expect(parsePackText(signed, 's.json', { trustedKeys: [pub] }).ref.origin).toBe('signed:msp-1');
    expect(() => parsePackText(signed, 's.json', { trustedKeys: [] })).toThrow(/not trusted/);
  });

  it('imports a STIX 2.1 bundle and a Sophos-layout CSV into a draft that validates and signs once applications and advice are added', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'vigil-packimport-'));
    const fixtures = path.join(import.meta.dirname, '../fixtures/pack-import');
    let r = io(dir);
    expect(await runCli(['pack', 'import', path.join(fixtures, '3cx-stix21-bundle.json'), path.join(fixtures, '3cx-sophos-layout.csv'), '--out', '3cx.draft.json', '--id', '3cx-from-feeds'], r.io)).toBe(0);
    expect(r.out.stdout).toMatch(/wrote 3cx\.draft\.json: draft pack "3cx-from-feeds" with 4 hashes, 5 domains, 2 URLs, 0 IP addresses, 3 sources \(6 duplicates merged\)/);
    expect(r.out.stdout).toMatch(/wrote 3cx\.draft\.unmapped\.json: 6 entries not mapped/);
    expect(r.out.stdout).toMatch(/3cx-sophos-layout\.csv line 14: filename: ffmpeg\.dll\n\s+a file name alone is not matched/);
    expect(r.out.stdout).toMatch(/the draft does not validate until you add:\n {2}- applications:/);
    const report = JSON.parse(await readFile(path.join(dir, '3cx.draft.unmapped.json'), 'utf8'));
    expect(report.unmapped).toHaveLength(6);

    r = io(dir);
    expect(await runCli(['pack', 'validate', '3cx.draft.json'], r.io)).toBe(64);
    expect(r.out.stderr).toMatch(/applications: Too small/);
    expect(r.out.stderr).toMatch(/advice: Too small/);
    expect(r.out.stderr).toMatch(/hashes\[0\]\.advice: unknown advice id "known-bad-file"/);

    const draft = JSON.parse(await readFile(path.join(dir, '3cx.draft.json'), 'utf8'));
    const done = { ...draft, applications: testPack().applications, advice: [
      { id: 'known-bad-file', title: 'Known-bad file', text: 'Disconnect this PC from the network and call IT.' },
      { id: 'known-bad-host', title: 'Attacker server contacted', text: 'Call IT now.' },
    ] };
    await writeFile(path.join(dir, '3cx.json'), JSON.stringify(done));
    r = io(dir);
    expect(await runCli(['pack', 'validate', '3cx.json'], r.io)).toBe(0);
    expect(r.out.stdout).toMatch(/3cx\.json: valid: 3cx-from-feeds v1 \(1 applications, 0 version rules, 4 hashes, 0 signers, 5 domains/);
    expect(await runCli(['pack', 'keygen', '--key-id', 'msp-1', '--out', 'k'], io(dir).io)).toBe(0);
    expect(await runCli(['pack', 'sign', '--key', 'k.key.pem', '--key-id', 'msp-1', '--out', 's.json', '3cx.json'], io(dir).io)).toBe(0);

    // A draft is never overwritten; a malformed feed writes nothing and names the object.
    r = io(dir);
    expect(await runCli(['pack', 'import', path.join(fixtures, '3cx-sophos-layout.csv'), '--out', '3cx.draft.json'], r.io)).toBe(64);
    expect(r.out.stderr).toMatch(/already exists/);
    await writeFile(path.join(dir, 'bad.json'), JSON.stringify({ type: 'bundle', id: 'bundle--00000000-0000-4000-8000-000000000000', objects: [{ type: 'indicator', spec_version: '2.1', id: 'indicator--00000000-0000-4000-8000-000000000001', pattern: "[file:hashes.MD5 = '123']", pattern_type: 'stix' }] }));
    r = io(dir);
    expect(await runCli(['pack', 'import', 'bad.json', '--out', 'bad.draft.json'], r.io)).toBe(64);
    expect(r.out.stderr).toMatch(/bad\.json: indicator--00000000-0000-4000-8000-000000000001: pattern: file:hashes\.MD5: MD5 must be 32 hex digits, got 3\nnothing written/);
    await expect(stat(path.join(dir, 'bad.draft.json'))).rejects.toThrow(/ENOENT/);
  });

  it('rejects bad usage', async () => {
    expect(await runCli(['pack', 'sign', 'p.json'], io('/').io)).toBe(64);
    expect(await runCli(['pack', 'frobnicate'], io('/').io)).toBe(64);
    expect(await runCli(['pack', 'import', 'feed.json'], io('/').io)).toBe(64);
  });
});
