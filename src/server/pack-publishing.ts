/**
 * Publishing a pack to the fleet: the one place that decides whether an envelope may be
 * published, used by `vigil server pack publish` and POST /v1/packs alike.
 *
 * Accepted: a signed envelope (never a plain pack) whose pack loads whole and valid, with a
 * signature by a key the server accepts (`vigil server pack key add`), at a version no
 * lower than what is already published to that scope. The bytes are stored as given and
 * served as given; devices verify them against their own trusted keys, so this check is
 * for the partner's benefit (a mistake is refused here, not by every PC), not the fleet's
 * defence.
 */
import { createHash } from 'node:crypto';
import { MAX_PACK_BYTES, PackError } from '../core/pack/load.js';
import { parsePackText } from '../core/pack/parse-pack.js';
import type { PublicationView } from '../shared/fleet-protocol.js';
import { ApiError } from './api-error.js';
import type { PackStore, PublicationRow } from './database/pack-store.js';
import type { TenantStore } from './database/tenant-store.js';
import type { Storage } from './database/storage.js';
import type { Notifier } from './notify/notifier.js';

export interface PublishInput {
  bytes: Buffer;
  /** A tenant name, or null for every tenant. */
  tenant: string | null;
  by: string;
  nowMs: number;
}

/** A refusal, with the reason in words the partner can act on. */
export class PublishRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PublishRefused';
  }
}

/** Call inside a transaction (its stores): the accepted keys are locked while it runs. */
export async function publishPack(stores: { packs: PackStore; tenants: TenantStore }, input: PublishInput): Promise<PublicationView> {
  if (input.bytes.length > MAX_PACK_BYTES) throw new PublishRefused(`the pack is ${input.bytes.length} bytes; packs are limited to ${MAX_PACK_BYTES}`);
  const text = input.bytes.toString('utf8');
  if (!Buffer.from(text, 'utf8').equals(input.bytes)) throw new PublishRefused('the file is not UTF-8 text');
  let isEnvelope = false;
  try {
    const doc = JSON.parse(text) as unknown;
    isEnvelope = doc !== null && typeof doc === 'object' && 'signatures' in doc;
  } catch (err) {
    throw new PublishRefused(`not valid JSON: ${(err as Error).message}`);
  }
  if (!isEnvelope) throw new PublishRefused('the pack is not signed: sign it with `vigil pack sign` (agents accept packs from the backend only when signed by a key they trust)');
  const keys = (await stores.packs.keys({ lock: true })).map((k) => ({ keyId: k.key_id, publicKey: k.public_key }));
  if (keys.length === 0) throw new PublishRefused('the server accepts no pack keys yet: add the public key with `vigil server pack key add KEY.pub.json`');
  let loaded;
  try {
    loaded = parsePackText(text, 'pack', { trustedKeys: keys, requireSignature: true });
  } catch (err) {
    if (err instanceof PackError) throw new PublishRefused(err.message.replace(/^pack: /, ''));
    throw err;
  }
  let tenantId: string | null = null;
  if (input.tenant !== null) {
    const t = await stores.tenants.tenantByName(input.tenant);
    if (!t) throw new PublishRefused(`no tenant named "${input.tenant}"`);
    tenantId = t.id;
  }
  const { pack } = loaded;
  const highest = await stores.packs.highestVersion(pack.id, tenantId);
  if (highest !== null && pack.version <= highest) {
    throw new PublishRefused(
      `${pack.id} v${highest} is already published to ${input.tenant ?? 'every tenant'}; publish a higher version (agents never go back to a lower one)`,
    );
  }
  const id = await stores.packs.insert({
    packId: pack.id,
    version: pack.version,
    title: pack.title,
    tenantId,
    signerKeyId: loaded.ref.origin.replace(/^signed:/, ''),
    sha256: createHash('sha256').update(input.bytes).digest('hex'),
    envelope: input.bytes,
    publishedBy: input.by,
    publishedAt: input.nowMs,
  });
  return publicationView((await stores.packs.get(id))!);
}

export function publicationView(r: PublicationRow): PublicationView {
  const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
  return {
    publicationId: r.id,
    packId: r.pack_id,
    version: r.version,
    title: r.title,
    tenant: r.tenant_name,
    signerKeyId: r.signer_key_id,
    sha256: r.sha256,
    size: r.size,
    publishedBy: r.published_by,
    publishedAt: new Date(r.published_at).toISOString(),
    withdrawnAt: iso(r.withdrawn_at),
    withdrawnBy: r.withdrawn_by,
  };
}

/** Turns a refusal into the admin API's 400 (or 404 for an unknown tenant). */
export function refusalAsApiError(err: unknown): never {
  if (err instanceof PublishRefused) throw new ApiError(/^no tenant named/.test(err.message) ? 404 : 400, /^no tenant named/.test(err.message) ? 'not_found' : 'invalid_request', err.message);
  throw err;
}

/**
 * Withdraws a pack's active publications (every one, or one scope: a tenant, or the
 * every-tenant publication) and, in the same transaction, queues one `pack.withdrawn`
 * notification per tenant that had it (issue 14), so a withdrawal is never lost or told
 * twice. Returns how many publications it withdrew.
 */
export function withdrawPack(
  s: { storage: Storage; notifier?: Notifier },
  input: { packId: string; by: string; nowMs: number; scope?: { tenantId: string | null } },
): Promise<number> {
  return s.storage.transaction(async (tx) => {
    const { scope } = input;
    const active = (await tx.packs.list()).filter((r) => r.pack_id === input.packId && r.withdrawn_at === null && (!scope || r.tenant_id === scope.tenantId));
    const n = await tx.packs.withdraw(input.packId, input.by, input.nowMs, scope);
    if (n === 0 || !s.notifier) return n;
    // The newest withdrawn version per tenant; an every-tenant publication reaches them all.
    const versions = new Map<string, number>();
    const allTenants = await tx.tenants.listTenants();
    for (const r of active) {
      for (const t of r.tenant_id === null ? allTenants : allTenants.filter((x) => x.id === r.tenant_id)) versions.set(t.id, Math.max(versions.get(t.id) ?? 0, r.version));
    }
    for (const t of allTenants) {
      const version = versions.get(t.id);
      if (version !== undefined) await s.notifier.packEvent(tx, 'pack.withdrawn', { id: t.id, name: t.name }, { id: input.packId, version }, [], `withdrawn by ${input.by}`, input.nowMs);
    }
    return n;
  });
}
