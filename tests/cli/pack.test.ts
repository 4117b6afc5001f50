import { mkdtemp, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/main.js';
import { parsePackText } from '../../src/core/pack/load.js';
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

  it('rejects bad usage', async () => {
    expect(await runCli(['pack', 'sign', 'p.json'], io('/').io)).toBe(64);
    expect(await runCli(['pack', 'frobnicate'], io('/').io)).toBe(64);
  });
});
