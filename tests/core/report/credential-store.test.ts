import { mkdtemp, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CREDENTIAL_FILE, FileCredentialStore, type SecretSealer, type StoredCredential } from '../../../src/core/report/credential-store.js';
import { enrolmentState } from '../../../src/core/config/effective.js';
import { aesSealer, type AesSealer } from '../../helpers/aes-sealer.js';

const CRED: StoredCredential = {
  version: 1,
  serverUrl: 'https://vigil.partner.example/',
  deviceId: 'dev_AAAAAAAAAAAAAAAAAAAAAA',
  deviceSecret: 'BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc',
  tenant: { id: 'ten_1', name: 'Acme Dental' },
  enrolledAt: '2026-11-20T09:00:00.000Z',
};

describe('FileCredentialStore', () => {
  it('saves the credential readable only by its owner and loads it back', async () => {
    const dir = path.join(await mkdtemp(path.join(tmpdir(), 'vigil-cred-')), 'state');
    const store = new FileCredentialStore(dir);
    expect(await store.load()).toEqual({ state: 'absent' });
    await store.save(CRED);
    expect((await stat(path.join(dir, CREDENTIAL_FILE))).mode & 0o777).toBe(0o600);
    expect((await stat(dir)).mode & 0o777).toBe(0o700);
    expect(await store.load()).toEqual({ state: 'present', credential: CRED });
    await store.clear();
    expect(await store.load()).toEqual({ state: 'absent' });
  });

  it('reports a damaged or foreign file as invalid, without echoing its content', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'vigil-cred-'));
    const store = new FileCredentialStore(dir);
    const file = path.join(dir, CREDENTIAL_FILE);
    const cases: Array<[string, RegExp]> = [
      ['{"version":1,"deviceId":', /not valid JSON/],
      [JSON.stringify({ ...CRED, deviceSecret: 'short-secret-value' }), /deviceSecret/],
      [JSON.stringify({ ...CRED, version: 2 }), /version/],
      ['[]', /not a device credential/],
    ];
    for (const [text, why] of cases) {
      await writeFile(file, text);
      const r = await store.load();
      expect(r.state).toBe('invalid');
      if (r.state === 'invalid') {
        expect(r.problem).toMatch(why);
        expect(r.problem).not.toContain('short-secret-value');
      }
    }
    // Loading never deletes or rewrites what it cannot use (the agent enrols and saves anew).
    expect(await readFile(file, 'utf8')).toBe('[]');
  });
});

describe('FileCredentialStore with a sealer (the tray app: safeStorage)', () => {
  const asSealer = (a: AesSealer, name = 'electron-safeStorage', reseal = false): SecretSealer => ({
    name,
    seal: async (p) => a.seal(p),
    open: async (b) => ({ plain: a.open(b), reseal }),
  });
  const fresh = async () => path.join(await mkdtemp(path.join(tmpdir(), 'vigil-cred-sealed-')), 'state');

  it('stores the secret sealed (never in the file), the rest readable, and opens it again', async () => {
    const dir = await fresh();
    const store = new FileCredentialStore(dir, { sealer: asSealer(aesSealer()) });
    await store.save(CRED);
    const text = await readFile(path.join(dir, CREDENTIAL_FILE), 'utf8');
    expect(text).not.toContain(CRED.deviceSecret);
    const json = JSON.parse(text);
    expect(json).toMatchObject({ version: 1, serverUrl: CRED.serverUrl, deviceId: CRED.deviceId, sealedSecret: { by: 'electron-safeStorage' } });
    expect(json.deviceSecret).toBeUndefined();
    expect((await stat(path.join(dir, CREDENTIAL_FILE))).mode & 0o777).toBe(0o600);
    expect(await store.load()).toEqual({ state: 'present', credential: CRED });
  });

  it('a sealed file from another user or machine, or read without the sealer, is never used', async () => {
    const dir = await fresh();
    await new FileCredentialStore(dir, { sealer: asSealer(aesSealer()) }).save(CRED);
    const elsewhere = await new FileCredentialStore(dir, { sealer: asSealer(aesSealer()) }).load();
    expect(elsewhere).toMatchObject({ state: 'sealed', serverUrl: CRED.serverUrl, deviceId: CRED.deviceId, by: 'electron-safeStorage' });
    if (elsewhere.state === 'sealed') expect(elsewhere.problem).toMatch(/cannot be unsealed here/);
    const cli = await new FileCredentialStore(dir).load();
    expect(cli).toMatchObject({ state: 'sealed', problem: expect.stringMatching(/sealed by electron-safeStorage, which this process cannot open/) });
    const other = await new FileCredentialStore(dir, { sealer: asSealer(aesSealer(), 'another-vault') }).load();
    expect(other).toMatchObject({ state: 'sealed', problem: expect.stringMatching(/sealed by electron-safeStorage, not another-vault/) });
    // The config view still sees an enrolled PC.
    expect(enrolmentState({ serverUrl: CRED.serverUrl }, cli)).toBe('enrolled');
    expect(enrolmentState({ serverUrl: 'https://other.example' }, cli)).toBe('missing-token');
  });

  it('seals a plain credential from before (an upgrade) the first time it is loaded', async () => {
    const dir = await fresh();
    await new FileCredentialStore(dir).save(CRED);
    const sealer = aesSealer();
    expect(await new FileCredentialStore(dir, { sealer: asSealer(sealer) }).load()).toEqual({ state: 'present', credential: CRED });
    const text = await readFile(path.join(dir, CREDENTIAL_FILE), 'utf8');
    expect(text).not.toContain(CRED.deviceSecret);
    expect(await new FileCredentialStore(dir, { sealer: asSealer(sealer) }).load()).toEqual({ state: 'present', credential: CRED });
  });

  it('a sealer that refuses: the secret is kept as an owner-only file and the refusal is told', async () => {
    const dir = await fresh();
    const told: string[] = [];
    const refusing: SecretSealer = {
      name: 'electron-safeStorage',
      seal: async () => {
        throw new Error('Keychain locked');
      },
      open: async () => ({ plain: '', reseal: false }),
    };
    await new FileCredentialStore(dir, { sealer: refusing, onSealFailure: (p) => told.push(p) }).save(CRED);
    expect(told).toEqual([expect.stringMatching(/could not be sealed by electron-safeStorage \(Keychain locked\); stored readable by this account only/)]);
    expect(await new FileCredentialStore(dir).load()).toEqual({ state: 'present', credential: CRED });
    expect((await stat(path.join(dir, CREDENTIAL_FILE))).mode & 0o777).toBe(0o600);
  });

  it('reseals when the facility says its key was rotated', async () => {
    const dir = await fresh();
    const a = aesSealer();
    await new FileCredentialStore(dir, { sealer: asSealer(a) }).save(CRED);
    const before = await readFile(path.join(dir, CREDENTIAL_FILE), 'utf8');
    expect(await new FileCredentialStore(dir, { sealer: asSealer(a, 'electron-safeStorage', true) }).load()).toEqual({ state: 'present', credential: CRED });
    const after = await readFile(path.join(dir, CREDENTIAL_FILE), 'utf8');
    expect(JSON.parse(after).sealedSecret.data).not.toBe(JSON.parse(before).sealedSecret.data);
  });

  it('a damaged sealed file is invalid, naming what is wrong', async () => {
    const dir = await fresh();
    const store = new FileCredentialStore(dir, { sealer: asSealer(aesSealer()) });
    await store.save(CRED);
    const file = path.join(dir, CREDENTIAL_FILE);
    const json = JSON.parse(await readFile(file, 'utf8'));
    await writeFile(file, JSON.stringify({ ...json, sealedSecret: { by: 'electron-safeStorage', data: 'not base64!' } }));
    expect(await store.load()).toMatchObject({ state: 'invalid', problem: expect.stringMatching(/sealedSecret\.data/) });
    await writeFile(file, JSON.stringify({ ...json, sealedSecret: { by: 'electron-safeStorage', data: Buffer.from('tampered bytes that are long enough').toString('base64') } }));
    expect(await store.load()).toMatchObject({ state: 'sealed', problem: expect.stringMatching(/cannot be unsealed here/) });
  });
});
