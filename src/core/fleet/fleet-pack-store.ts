/**
 * The packs the backend delivered, kept in the state directory so a restart (or a backend
 * that is down) does not lose them: `<stateDir>/fleet-packs/index.json` and one file per
 * pack with the envelope bytes exactly as fetched. Every load verifies each envelope
 * again against the trusted keys of the moment, so withdrawing a key also withdraws the
 * packs it signed. The index also remembers the highest version ever accepted per pack id,
 * which is what refuses a rollback, even after a withdrawal.
 *
 * Files are written to a temporary name and renamed; a damaged index or pack file is a
 * problem reported, never a crash, and the packs that still verify are kept.
 */
import { createHash } from 'node:crypto';
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import * as path from 'node:path';
import { z } from 'zod';
import { type LoadedPack } from '../pack/load.js';
import { parsePackText } from '../pack/parse-pack.js';
import type { TrustedPackKey } from '../pack/pack-signature.js';

export const FLEET_PACK_DIR = 'fleet-packs';

const IndexSchema = z.object({
  version: z.literal(1),
  packs: z.record(
    z.string(),
    z.object({ version: z.number().int().nonnegative(), sha256: z.string().regex(/^[0-9a-f]{64}$/), file: z.string().regex(/^[a-z0-9._@-]+\.json$/), receivedAt: z.string() }),
  ),
  highest: z.record(z.string(), z.number().int().nonnegative()),
});
type Index = z.infer<typeof IndexSchema>;

export interface StoredFleetPack {
  loaded: LoadedPack;
  sha256: string;
  receivedAt: string;
}

export class FleetPackStore {
  private index: Index = { version: 1, packs: {}, highest: {} };
  private readonly dir: string;

  constructor(stateDir: string) {
    this.dir = path.join(stateDir, FLEET_PACK_DIR);
  }

  /** Reads the kept packs; each must still verify. Returns them and the problems found. */
  async load(trustedKeys: readonly TrustedPackKey[]): Promise<{ packs: StoredFleetPack[]; problems: string[] }> {
    const problems: string[] = [];
    let text: string | undefined;
    try {
      text = await readFile(path.join(this.dir, 'index.json'), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') problems.push(`the delivered packs' index cannot be read (${(err as NodeJS.ErrnoException).code}); packs are fetched again`);
    }
    if (text !== undefined) {
      try {
        this.index = IndexSchema.parse(JSON.parse(text));
      } catch {
        problems.push('the delivered packs\' index is damaged; packs are fetched again');
      }
    }
    const packs: StoredFleetPack[] = [];
    for (const [id, entry] of Object.entries(this.index.packs)) {
      try {
        const bytes = await readFile(path.join(this.dir, entry.file));
        if (sha256(bytes) !== entry.sha256) throw new Error('its file changed since it was received');
        const loaded = verifyDelivered(bytes.toString('utf8'), id, entry.version, trustedKeys);
        packs.push({ loaded: withReceived(loaded, entry.receivedAt), sha256: entry.sha256, receivedAt: entry.receivedAt });
      } catch (err) {
        problems.push(`delivered pack ${id} v${entry.version} is no longer used: ${(err as Error).message}`);
        delete this.index.packs[id];
      }
    }
    return { packs, problems };
  }

  highestVersion(id: string): number | undefined {
    return this.index.highest[id];
  }

  /** Keeps a verified pack (replacing the older version of the same id). */
  async keep(bytes: Buffer, loaded: LoadedPack, nowIso: string): Promise<StoredFleetPack> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const id = loaded.pack.id;
    const file = `${id}@${loaded.pack.version}.json`;
    await writeAtomic(path.join(this.dir, file), bytes);
    const old = this.index.packs[id];
    const digest = sha256(bytes);
    this.index.packs[id] = { version: loaded.pack.version, sha256: digest, file, receivedAt: nowIso };
    this.index.highest[id] = Math.max(this.index.highest[id] ?? 0, loaded.pack.version);
    await this.saveIndex();
    if (old && old.file !== file) await rm(path.join(this.dir, old.file), { force: true });
    return { loaded: withReceived(loaded, nowIso), sha256: digest, receivedAt: nowIso };
  }

  /** Forgets a pack the backend withdrew; its highest version stays remembered. */
  async drop(id: string): Promise<void> {
    const old = this.index.packs[id];
    if (!old) return;
    delete this.index.packs[id];
    await this.saveIndex();
    await rm(path.join(this.dir, old.file), { force: true });
  }

  private async saveIndex(): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    await writeAtomic(path.join(this.dir, 'index.json'), Buffer.from(JSON.stringify(this.index, null, 2) + '\n'));
  }
}

export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * A delivered envelope: signed by a trusted key (never plain), valid, and the pack the
 * listing named. Throws a PackError or an Error whose message says what is wrong.
 */
export function verifyDelivered(text: string, id: string, version: number, trustedKeys: readonly TrustedPackKey[]): LoadedPack {
  const loaded = parsePackText(text, `${id} v${version}`, { trustedKeys, requireSignature: true });
  if (loaded.pack.id !== id || loaded.pack.version !== version) {
    throw new Error(`the file holds ${loaded.pack.id} v${loaded.pack.version}, not ${id} v${version}`);
  }
  return loaded;
}

function withReceived(l: LoadedPack, receivedAt: string): LoadedPack {
  return { ...l, ref: { ...l.ref, receivedAt } };
}

async function writeAtomic(file: string, bytes: Uint8Array): Promise<void> {
  const tmp = `${file}.tmp-${process.pid}`;
  const fh = await open(tmp, 'w', 0o600);
  try {
    await fh.writeFile(bytes);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, file);
}
