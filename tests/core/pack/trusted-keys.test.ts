/**
 * Trusted pack keys: the packKeys setting from every place it can come from (the MSI's
 * VIGIL_PACK_KEYS text in a REG_SZ, a Group Policy REG_MULTI_SZ, a JSON settings file),
 * what it lets load (policy packs must be signed by one of them; settings-file packs may be
 * plain), rotation (two keys) and withdrawal, and `vigil check --pack` with a signed pack.
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../../src/cli/main.js';
import type { CliIo } from '../../../src/cli/io.js';
import { loadConfiguredPacks } from '../../../src/core/agent-assembly.js';
import { loadEffectiveConfig, packsNamedByPolicy } from '../../../src/core/config/effective.js';
import { defaultAgentConfig, type AgentConfig } from '../../../src/core/config/schema.js';
import { convertSetting, WINDOWS_POLICY_KEY } from '../../../src/core/config/sources.js';
import { silentLogger } from '../../../src/core/logging/logger.js';
import { RecordedCommandRunner } from '../../../src/core/os/command-runner.js';
import { generatePackKey, signPack } from '../../../src/core/pack/pack-signature.js';
import { convertPackKeys, formatPackKeys, TrustedPackKeyListSchema } from '../../../src/core/pack/trusted-keys.js';
import { testPack } from '../../helpers/test-pack.js';

const tmp = () => mkdtemp(path.join(tmpdir(), 'vigil-packkeys-'));
const acme = generatePackKey('acme-2026');
const acmeNext = generatePackKey('acme-2027');
const pub = (k: { keyId: string; publicKey: string }) => ({ keyId: k.keyId, publicKey: k.publicKey });

describe('packKeys values', () => {
  it('takes the MSI text form, a REG_MULTI_SZ list and JSON, and formats back to the MSI form', () => {
    const text = `${acme.keyId}:${acme.publicKey}; ${acmeNext.keyId}:${acmeNext.publicKey};`;
    expect(convertPackKeys(text)).toEqual([pub(acme), pub(acmeNext)]);
    expect(convertSetting('packKeys', [`${acme.keyId}:${acme.publicKey}`])).toEqual([pub(acme)]);
    expect(convertSetting('packKeys', JSON.stringify([pub(acme)]))).toEqual([pub(acme)]);
    expect(convertSetting('packKeys', [pub(acme)])).toEqual([pub(acme)]);
    expect(convertSetting('packKeys', '')).toBeUndefined();
    expect(formatPackKeys([pub(acme), pub(acmeNext)])).toBe(`${acme.keyId}:${acme.publicKey};${acmeNext.keyId}:${acmeNext.publicKey}`);
  });

  it('refuses malformed keys with a message naming what is wrong', () => {
    expect(convertPackKeys('no-colon-here')).toBe('no-colon-here');
    expect(convertPackKeys('[not json')).toBe('[not json');
    const bad = (v: unknown) => TrustedPackKeyListSchema.safeParse(convertPackKeys(v));
    expect(bad('acme:short').error!.issues[0]!.message).toMatch(/32-byte Ed25519 key in base64/);
    expect(bad(`bad id!:${acme.publicKey}`).error!.issues[0]!.message).toMatch(/key id is 1-64/);
    expect(bad(`${acme.keyId}:${acme.publicKey};${acme.keyId}:${acmeNext.publicKey}`).error!.issues[0]!.message).toMatch(/only once/);
    expect(bad(42).success).toBe(false);
    expect(bad([{ keyId: 'a', publicKey: acme.publicKey, extra: 1 }]).success).toBe(false);
  });

  it('reaches the effective settings from the MSI policy value; a bad value is reported and ignored', async () => {
    const dir = await tmp();
    const reg = (value: string) =>
      new RecordedCommandRunner({
        [RecordedCommandRunner.key('reg', ['query', WINDOWS_POLICY_KEY, '/reg:64'])]: ['', 'HKEY_LOCAL_MACHINE\\SOFTWARE\\Policies\\Vigil', '    ServerUrl    REG_SZ    https://vigil.partner.example', `    PackKeys    REG_SZ    ${value}`, ''].join('\r\n'),
      });
    const file = path.join(dir, 'config.json');
    await writeFile(file, JSON.stringify({ packKeys: [pub(acmeNext)] }));
    const good = await loadEffectiveConfig({ platform: 'win32', runner: reg(`${acme.keyId}:${acme.publicKey}`), settingsFile: file, stateDir: dir, persistLastGood: false });
    expect(good.config.packKeys).toEqual([pub(acme)]);
    expect(good.origins.packKeys.kind).toBe('policy');
    const broken = await loadEffectiveConfig({ platform: 'win32', runner: reg('acme-2026:not-a-key'), settingsFile: file, stateDir: dir, persistLastGood: false });
    expect(broken.problems.map((p) => `${p.key}: ${p.message}`).join('\n')).toMatch(/packKeys: bad value for packKeys: .*Ed25519/);
    // The next source's good value applies.
    expect(broken.config.packKeys).toEqual([pub(acmeNext)]);
  });
});

async function packFiles(dir: string): Promise<{ plain: string; byAcme: string; byNext: string; byStranger: string }> {
  const files = {
    plain: path.join(dir, 'plain.json'),
    byAcme: path.join(dir, 'acme.json'),
    byNext: path.join(dir, 'next.json'),
    byStranger: path.join(dir, 'stranger.json'),
  };
  await writeFile(files.plain, JSON.stringify(testPack()));
  await writeFile(files.byAcme, JSON.stringify(signPack(testPack({ version: 2 }), acme.keyId, acme.privateKeyPem)));
  await writeFile(files.byNext, JSON.stringify(signPack(testPack({ version: 3 }), acmeNext.keyId, acmeNext.privateKeyPem)));
  const stranger = generatePackKey('acme-2026'); // same id, another key: a forgery
  await writeFile(files.byStranger, JSON.stringify(signPack(testPack({ version: 9 }), stranger.keyId, stranger.privateKeyPem)));
  return files;
}

describe('configured packs and trusted keys', () => {
  const cfg = (o: Partial<AgentConfig>): AgentConfig => ({ ...defaultAgentConfig(), ...o });

  it('policy packs load only when signed by a trusted key; settings-file packs may be plain', async () => {
    const f = await packFiles(await tmp());
    const policy = await loadConfiguredPacks(cfg({ packs: [f.plain, f.byAcme, f.byStranger], packKeys: [pub(acme)] }), silentLogger, { packsFromPolicy: true });
    expect(policy.packs.find((p) => p.pack.id === 'test-softphone-2023')?.ref).toMatchObject({ version: 2, origin: 'signed:acme-2026' });
    expect(policy.problems.join('\n')).toMatch(/plain\.json: signatures: this pack is not signed/);
    expect(policy.problems.join('\n')).toMatch(/stranger\.json: signatures: signature by "acme-2026" does not match the pack/);
    const file = await loadConfiguredPacks(cfg({ packs: [f.plain], packKeys: [] }), silentLogger);
    expect(file.problems).toEqual([]);
    expect(file.packs.find((p) => p.pack.id === 'test-softphone-2023')?.ref.origin).toBe('unsigned');
  });

  it('packs named by machine policy (or its last good value) are the ones that must be signed', () => {
    expect(packsNamedByPolicy({ kind: 'policy', source: 'machine policy (HKLM\\SOFTWARE\\Policies\\Vigil)' })).toBe(true);
    expect(packsNamedByPolicy({ kind: 'last-good', source: 'last good configuration (x)', from: 'machine policy (/etc/vigil/policy.json)' })).toBe(true);
    expect(packsNamedByPolicy({ kind: 'last-good', source: 'last good configuration (x)', from: 'settings file (/etc/vigil/config.json)' })).toBe(false);
    expect(packsNamedByPolicy({ kind: 'file', source: 'settings file (/etc/vigil/config.json)' })).toBe(false);
    expect(packsNamedByPolicy({ kind: 'default', source: 'default' })).toBe(false);
  });

  it('rotation: both keys trusted at once load both packs; withdrawing the old key refuses its packs', async () => {
    const f = await packFiles(await tmp());
    const both = await loadConfiguredPacks(cfg({ packs: [f.byAcme, f.byNext], packKeys: [pub(acme), pub(acmeNext)] }), silentLogger, { packsFromPolicy: true });
    expect(both.problems).toEqual([]);
    const withdrawn = await loadConfiguredPacks(cfg({ packs: [f.byAcme, f.byNext], packKeys: [pub(acmeNext)] }), silentLogger, { packsFromPolicy: true });
    expect(withdrawn.problems).toEqual([expect.stringMatching(/acme\.json: signatures: key "acme-2026" is not trusted/)]);
    expect(withdrawn.packs.find((p) => p.pack.id === 'test-softphone-2023')?.ref).toMatchObject({ version: 3, origin: 'signed:acme-2027' });
  });
});

describe('vigil check --pack with a signed pack', () => {
  async function check(args: string[]): Promise<{ code: number; out: string; err: string }> {
    let out = '';
    let err = '';
    const io: CliIo = { stdout: (t) => void (out += t), stderr: (t) => void (err += t), env: {}, cwd: process.cwd(), interrupted: new Promise(() => {}) };
    const code = await runCli(args, io);
    return { code, out, err };
  }

  it('works when the settings trust its key, and says which key is not trusted otherwise', async () => {
    const dir = await tmp();
    const f = await packFiles(dir);
    const root = path.join(dir, 'root');
    await writeFile(path.join(dir, 'untrusting.json'), JSON.stringify({ packKeys: [pub(acmeNext)] }));
    await writeFile(path.join(dir, 'trusting.json'), JSON.stringify({ packKeys: [pub(acme)] }));
    const { mkdir } = await import('node:fs/promises');
    await mkdir(path.join(root, 'Users', 'alice'), { recursive: true });
    await mkdir(path.join(root, 'Windows', 'System32'), { recursive: true });
    const base = ['check', '--json', '--root', root, '--platform', 'windows', '--no-builtin', '--pack', f.byAcme];
    const refused = await check([...base, '--config', path.join(dir, 'untrusting.json')]);
    expect(refused.code).toBe(64);
    expect(refused.err).toMatch(/key "acme-2026" is not trusted/);
    const ok = await check([...base, '--config', path.join(dir, 'trusting.json')]);
    expect(ok.err).toBe('');
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.out).packs).toEqual([expect.objectContaining({ id: 'test-softphone-2023', version: 2, origin: 'signed:acme-2026' })]);
  });

  it('vigil config show lists the trusted keys and where they come from', async () => {
    const dir = await tmp();
    await writeFile(path.join(dir, 'c.json'), JSON.stringify({ packKeys: `${acme.keyId}:${acme.publicKey};${acmeNext.keyId}:${acmeNext.publicKey}` }));
    const shown = await check(['config', 'show', '--json', '--config', path.join(dir, 'c.json'), '--state-dir', dir]);
    expect(JSON.parse(shown.out).settings.packKeys).toMatchObject({ value: [pub(acme), pub(acmeNext)], source: 'file' });
    const human = await check(['config', 'show', '--config', path.join(dir, 'c.json'), '--state-dir', dir]);
    expect(human.out).toMatch(/packKeys .*acme-2026.*acme-2027/);
  });
});
