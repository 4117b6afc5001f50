/**
 * The device credential on disk: `<stateDir>/device-credential.json`, mode 0600, written to
 * a temporary file and renamed so a crash never leaves half a credential. The lead's issue
 * #7 moves the secret into DPAPI / the Keychain behind this same interface.
 *
 * The credential records which server issued it: pointing the agent at another server
 * makes it enrol there instead of signing with a key that server never issued.
 */
import { chmod, mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import * as path from 'node:path';
import { z } from 'zod';
import { DeviceIdSchema, DeviceSecretSchema, TenantRefSchema } from '../../shared/protocol.js';

export const StoredCredentialSchema = z.object({
  version: z.literal(1),
  serverUrl: z.string(),
  deviceId: DeviceIdSchema,
  deviceSecret: DeviceSecretSchema,
  tenant: TenantRefSchema,
  enrolledAt: z.iso.datetime(),
});
export type StoredCredential = z.infer<typeof StoredCredentialSchema>;

export const CREDENTIAL_FILE = 'device-credential.json';

export type CredentialLoad =
  | { state: 'present'; credential: StoredCredential }
  | { state: 'absent' }
  /** The file exists but is unreadable or not a credential; the agent enrols again. */
  | { state: 'invalid'; problem: string };

export interface CredentialStore {
  load(): Promise<CredentialLoad>;
  save(credential: StoredCredential): Promise<void>;
  clear(): Promise<void>;
}

export class FileCredentialStore implements CredentialStore {
  readonly file: string;

  constructor(readonly dir: string) {
    this.file = path.join(dir, CREDENTIAL_FILE);
  }

  async load(): Promise<CredentialLoad> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return { state: 'absent' };
      return { state: 'invalid', problem: `cannot read ${this.file}: ${code ?? (err as Error).message}` };
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      return { state: 'invalid', problem: `${this.file} is not valid JSON` };
    }
    const parsed = StoredCredentialSchema.safeParse(json);
    if (!parsed.success) return { state: 'invalid', problem: `${this.file} is not a device credential (${parsed.error.issues[0]?.path.join('.') || 'top level'})` };
    return { state: 'present', credential: parsed.data };
  }

  async save(credential: StoredCredential): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const tmp = `${this.file}.tmp-${process.pid}`;
    const fh = await open(tmp, 'w', 0o600);
    try {
      await fh.writeFile(JSON.stringify(StoredCredentialSchema.parse(credential), null, 2) + '\n');
      await fh.sync();
    } finally {
      await fh.close();
    }
    // open()'s mode is filtered by the umask; make sure of 0600 before the name appears.
    await chmod(tmp, 0o600);
    await rename(tmp, this.file);
  }

  async clear(): Promise<void> {
    await rm(this.file, { force: true });
  }
}
