import { mkdtemp, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CREDENTIAL_FILE, FileCredentialStore, type StoredCredential } from '../../../src/core/report/credential-store.js';

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
