/**
 * Keeps the delivered packs in step with what the backend lists in its heartbeat response.
 *
 * `planPackUpdate` decides (pure): which listed packs to fetch, which kept packs the backend
 * withdrew, and which listings to refuse. The updater carries the plan out: fetch, check
 * the SHA-256 the listing gave, verify the signature against the agent's own trusted keys
 * (the backend is never trusted by itself), keep the pack, and hand the new set to the
 * PackSet. A bad or refused pack never replaces the last good one; it becomes a problem the
 * next heartbeat reports (packProblems) until the listing changes.
 *
 * Rules:
 * - Never a rollback: a version not higher than the highest this device ever accepted for
 *   that pack id is refused, also after a withdrawal (publish a higher version instead).
 * - The same version with other bytes is refused (a listing is a promise about bytes).
 * - Bytes that failed verification are not fetched again while the listing names them, so
 *   a bad publication costs each device one download, not one per heartbeat.
 * - A listing that is absent (an older server) changes nothing; an empty one withdraws
 *   every delivered pack.
 */
import type { FleetPackRef, PackProblem } from '../../shared/fleet-protocol.js';
import type { DeviceCredential } from '../report/hmac-auth.js';
import type { Logger } from '../logging/logger.js';
import { PackError, type LoadedPack } from '../pack/load.js';
import type { TrustedPackKey } from '../pack/pack-signature.js';
import type { FleetPackStore, StoredFleetPack } from './fleet-pack-store.js';
import { sha256, verifyDelivered } from './fleet-pack-store.js';
import type { PackFetcher } from './pack-fetcher.js';
import type { PackSet } from './pack-set.js';

export interface InstalledFleetPack {
  version: number;
  sha256: string;
}

export interface PackPlan {
  fetch: FleetPackRef[];
  drop: string[];
  problems: PackProblem[];
}

export function planPackUpdate(
  listing: readonly FleetPackRef[],
  installed: ReadonlyMap<string, InstalledFleetPack>,
  highest: (id: string) => number | undefined,
  refused: ReadonlyMap<string, string>,
): PackPlan {
  const plan: PackPlan = { fetch: [], drop: [], problems: [] };
  const listed = new Set<string>();
  for (const ref of listing) {
    if (listed.has(ref.id)) {
      plan.problems.push({ id: ref.id, version: ref.version, problem: 'listed twice by the server; only the first listing is used' });
      continue;
    }
    listed.add(ref.id);
    const have = installed.get(ref.id);
    if (have && have.version === ref.version) {
      if (have.sha256 !== ref.sha256) plan.problems.push({ id: ref.id, version: ref.version, problem: `the server lists other bytes for v${ref.version} than this device verified; keeping the verified ones` });
      continue;
    }
    const top = Math.max(highest(ref.id) ?? -1, have?.version ?? -1);
    if (ref.version <= top) {
      plan.problems.push({ id: ref.id, version: ref.version, problem: `refused: v${ref.version} is not newer than v${top}, which this device already had (no rollback)` });
      continue;
    }
    const why = refused.get(ref.sha256);
    if (why !== undefined) {
      plan.problems.push({ id: ref.id, version: ref.version, problem: why });
      continue;
    }
    plan.fetch.push(ref);
  }
  for (const id of installed.keys()) if (!listed.has(id)) plan.drop.push(id);
  return plan;
}

export interface PackUpdaterOptions {
  store: FleetPackStore;
  fetcher: PackFetcher;
  packSet: PackSet;
  trustedKeys: readonly TrustedPackKey[];
  logger: Logger;
  now?: () => Date;
}

export class PackUpdater {
  private installed = new Map<string, StoredFleetPack>();
  /** sha256 -> why those bytes were refused (kept while a listing names them). */
  private readonly refused = new Map<string, string>();
  private problems: PackProblem[] = [];
  private running: Promise<boolean> = Promise.resolve(false);
  private readonly now: () => Date;

  constructor(private readonly o: PackUpdaterOptions) {
    this.now = o.now ?? (() => new Date());
  }

  /** Loads the kept packs into the pack set; returns problems with them, in words. */
  async open(): Promise<string[]> {
    const { packs, problems } = await this.o.store.load(this.o.trustedKeys);
    for (const p of packs) this.installed.set(p.loaded.pack.id, p);
    this.publish();
    for (const p of problems) this.o.logger.warn('a delivered pack was not loaded', { problem: p });
    return problems;
  }

  currentProblems(): readonly PackProblem[] {
    return this.problems;
  }

  /** Applies one heartbeat response's listing; resolves true when the running packs changed. One at a time. */
  reconcile(listing: readonly FleetPackRef[] | undefined, cred: DeviceCredential): Promise<boolean> {
    const next = this.running.then(() => this.apply(listing, cred));
    this.running = next.catch(() => false);
    return next;
  }

  private async apply(listing: readonly FleetPackRef[] | undefined, cred: DeviceCredential): Promise<boolean> {
    if (listing === undefined) return false;
    const installed = new Map([...this.installed].map(([id, p]) => [id, { version: p.loaded.pack.version, sha256: p.sha256 }]));
    const plan = planPackUpdate(listing, installed, (id) => this.o.store.highestVersion(id), this.refused);
    const problems = [...plan.problems];
    let changed = false;
    for (const id of plan.drop) {
      const old = this.installed.get(id)!;
      this.installed.delete(id);
      changed = true;
      this.o.logger.warn('the backend withdrew a pack; it is no longer used', { packId: id, version: old.loaded.pack.version });
      await this.o.store.drop(id).catch((err: unknown) => this.o.logger.warn('could not forget a withdrawn pack on disk', { packId: id, error: err }));
    }
    for (const ref of plan.fetch) {
      const got = await this.o.fetcher.fetch(cred, ref.id, ref.version);
      if (!got.ok) {
        problems.push({ id: ref.id, version: ref.version, problem: got.message.slice(0, 500) });
        continue;
      }
      const bytes = Buffer.from(got.text, 'utf8');
      let loaded: LoadedPack;
      try {
        if (sha256(bytes) !== ref.sha256) throw new Error('the bytes received do not have the SHA-256 the server listed');
        loaded = verifyDelivered(got.text, ref.id, ref.version, this.o.trustedKeys);
      } catch (err) {
        const why = `refused: ${err instanceof PackError ? err.problems.join('; ') : (err as Error).message}; keeping the last good pack`.slice(0, 500);
        this.refused.set(ref.sha256, why);
        problems.push({ id: ref.id, version: ref.version, problem: why });
        this.o.logger.error('a pack from the backend was refused', { packId: ref.id, version: ref.version, problem: why });
        continue;
      }
      try {
        const kept = await this.o.store.keep(bytes, loaded, this.now().toISOString());
        this.installed.set(ref.id, kept);
        changed = true;
        this.o.logger.info('new pack from the backend', { packId: ref.id, version: ref.version, signer: loaded.ref.origin });
      } catch (err) {
        problems.push({ id: ref.id, version: ref.version, problem: `cannot keep it in the state folder: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` });
      }
    }
    // Forget refusals the listing no longer names.
    const listedShas = new Set(listing.map((r) => r.sha256));
    for (const sha of [...this.refused.keys()]) if (!listedShas.has(sha)) this.refused.delete(sha);
    this.problems = problems;
    if (changed) this.publish();
    return changed;
  }

  private publish(): void {
    this.o.packSet.setFleetPacks([...this.installed.values()].map((p) => p.loaded));
  }
}
