/**
 * The device credential on disk: `<stateDir>/device-credential.json`, mode 0600 in a 0700
 * folder, written to a temporary file and renamed so a crash never leaves half a credential.
 *
 * With a `SecretSealer` (the tray app passes Electron's safeStorage: DPAPI on Windows, the
 * Keychain on macOS, the desktop keyring on Linux) the device secret is stored sealed; the
 * rest (server, device id, tenant) stays readable so `vigil config show` can still say
 * whether the PC is enrolled. A sealed file that cannot be opened here (another user,
 * another machine, no sealer in this process) is never used: the agent enrols again.
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

/** The file form with the secret sealed: `sealedSecret.by` names the sealer, `data` is base64. */
const SealedCredentialSchema = StoredCredentialSchema.omit({ deviceSecret: true }).extend({
  sealedSecret: z.object({ by: z.string().min(1).max(100), data: z.base64().min(4).max(4096) }),
});
type SealedCredential = z.infer<typeof SealedCredentialSchema>;

export const CREDENTIAL_FILE = 'device-credential.json';

/**
 * Seals a secret with something only this user on this machine can open. Both calls may
 * throw (the OS facility refused); `name` is written beside the sealed bytes.
 */
export interface SecretSealer {
  readonly name: string;
  seal(plain: string): Promise<Buffer>;
  /** `reseal`: the facility's key was rotated; seal the secret again. */
  open(sealed: Buffer): Promise<{ plain: string; reseal: boolean }>;
}

export type CredentialLoad =
  | { state: 'present'; credential: StoredCredential }
  | { state: 'absent' }
  /**
   * Enrolled, but the secret is sealed and this process cannot open it (no sealer, or
   * another one). What it says is for display; the agent enrols again.
   */
  | { state: 'sealed'; serverUrl: string; deviceId: string; by: string; problem: string }
  /** The file exists but is unreadable or not a credential; the agent enrols again. */
  | { state: 'invalid'; problem: string };

export interface FileCredentialStoreOptions {
  sealer?: SecretSealer;
  /** Told when sealing fails and the secret is kept as a 0600 file instead. */
  onSealFailure?: (problem: string) => void;
}

export interface CredentialStore {
  load(): Promise<CredentialLoad>;
  save(credential: StoredCredential): Promise<void>;
  clear(): Promise<void>;
}

export class FileCredentialStore implements CredentialStore {
  readonly file: string;

  constructor(
    readonly dir: string,
    private readonly opts: FileCredentialStoreOptions = {},
  ) {
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
    if (json !== null && typeof json === 'object' && 'sealedSecret' in json) return await this.openSealed(json);
    const parsed = StoredCredentialSchema.safeParse(json);
    if (!parsed.success) return this.notACredential(parsed.error);
    // A secret stored before a sealer was available is sealed now (best effort: it stays
    // usable as it is if that fails).
    if (this.opts.sealer) await this.save(parsed.data).catch(() => undefined);
    return { state: 'present', credential: parsed.data };
  }

  private notACredential(error: z.ZodError): CredentialLoad {
    return { state: 'invalid', problem: `${this.file} is not a device credential (${error.issues[0]?.path.join('.') || 'top level'})` };
  }

  private async openSealed(json: object): Promise<CredentialLoad> {
    const parsed = SealedCredentialSchema.safeParse(json);
    if (!parsed.success) return this.notACredential(parsed.error);
    const { sealedSecret, ...rest } = parsed.data;
    const sealer = this.opts.sealer;
    const cannot = (why: string): CredentialLoad => ({ state: 'sealed', serverUrl: rest.serverUrl, deviceId: rest.deviceId, by: sealedSecret.by, problem: `${this.file}: ${why}` });
    if (!sealer) return cannot(`the device secret is sealed by ${sealedSecret.by}, which this process cannot open`);
    if (sealer.name !== sealedSecret.by) return cannot(`the device secret is sealed by ${sealedSecret.by}, not ${sealer.name}`);
    let opened: { plain: string; reseal: boolean };
    try {
      opened = await sealer.open(Buffer.from(sealedSecret.data, 'base64'));
    } catch (err) {
      // Another user's or another machine's seal (a copied profile): never usable here.
      return cannot(`the device secret cannot be unsealed here (${(err as Error).message.slice(0, 200)})`);
    }
    const credential = StoredCredentialSchema.safeParse({ ...rest, deviceSecret: opened.plain });
    if (!credential.success) return { state: 'invalid', problem: `${this.file}: the unsealed device secret is not valid` };
    if (opened.reseal) await this.save(credential.data).catch(() => undefined);
    return { state: 'present', credential: credential.data };
  }

  async save(credential: StoredCredential): Promise<void> {
    const valid = StoredCredentialSchema.parse(credential);
    let form: StoredCredential | SealedCredential = valid;
    if (this.opts.sealer) {
      try {
        const { deviceSecret, ...rest } = valid;
        form = { ...rest, sealedSecret: { by: this.opts.sealer.name, data: (await this.opts.sealer.seal(deviceSecret)).toString('base64') } };
      } catch (err) {
        this.opts.onSealFailure?.(`the device secret could not be sealed by ${this.opts.sealer.name} (${(err as Error).message.slice(0, 200)}); stored readable by this account only`);
      }
    }
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const tmp = `${this.file}.tmp-${process.pid}`;
    const fh = await open(tmp, 'w', 0o600);
    try {
      await fh.writeFile(JSON.stringify(form, null, 2) + '\n');
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
