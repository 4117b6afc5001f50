/**
 * Published packs and the pack-signing keys the server accepts publications from. The
 * envelope bytes are stored exactly as published: devices fetch those bytes, check their
 * SHA-256 against the heartbeat listing and verify the signature with their own trusted
 * keys. Nothing here is trusted by the agents; the accepted keys only stop a partner from
 * publishing a pack the fleet would refuse anyway.
 */
import type { Db } from './open-database.js';
import { newId } from '../secret-tokens.js';

export interface PackKeyRow {
  key_id: string;
  public_key: string;
  added_at: number;
}

export interface PublicationRow {
  id: string;
  pack_id: string;
  version: number;
  title: string;
  tenant_id: string | null;
  tenant_name: string | null;
  signer_key_id: string;
  sha256: string;
  size: number;
  published_by: string;
  published_at: number;
  withdrawn_at: number | null;
  withdrawn_by: string | null;
}

export interface NewPublication {
  packId: string;
  version: number;
  title: string;
  tenantId: string | null;
  signerKeyId: string;
  sha256: string;
  envelope: Buffer;
  publishedBy: string;
  publishedAt: number;
}

const PUBLICATION_COLUMNS = `f.id, f.pack_id, f.version, f.title, f.tenant_id, t.name AS tenant_name, f.signer_key_id, f.sha256, f.size,
  f.published_by, f.published_at, f.withdrawn_at, f.withdrawn_by`;

function statements(db: Db) {
  return {
    keys: db.prepare<[], PackKeyRow>('SELECT key_id, public_key, added_at FROM pack_keys ORDER BY key_id'),
    addKey: db.prepare('INSERT INTO pack_keys (key_id, public_key, added_at) VALUES (?, ?, ?) ON CONFLICT(key_id) DO UPDATE SET public_key = excluded.public_key, added_at = excluded.added_at'),
    removeKey: db.prepare('DELETE FROM pack_keys WHERE key_id = ?'),
    insert: db.prepare(
      `INSERT INTO fleet_packs (id, pack_id, version, title, tenant_id, signer_key_id, sha256, size, envelope, published_by, published_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    list: db.prepare<[], PublicationRow>(
      `SELECT ${PUBLICATION_COLUMNS} FROM fleet_packs f LEFT JOIN tenants t ON t.id = f.tenant_id ORDER BY f.pack_id, f.version DESC, f.published_at DESC`,
    ),
    byId: db.prepare<[string], PublicationRow>(`SELECT ${PUBLICATION_COLUMNS} FROM fleet_packs f LEFT JOIN tenants t ON t.id = f.tenant_id WHERE f.id = ?`),
    activeForTenant: db.prepare<[string], PublicationRow>(
      `SELECT ${PUBLICATION_COLUMNS} FROM fleet_packs f LEFT JOIN tenants t ON t.id = f.tenant_id
       WHERE f.withdrawn_at IS NULL AND (f.tenant_id IS NULL OR f.tenant_id = ?)
       ORDER BY f.pack_id, f.version DESC, f.published_at ASC`,
    ),
    envelope: db.prepare<[string, number, string], { envelope: Buffer; sha256: string }>(
      `SELECT envelope, sha256 FROM fleet_packs WHERE pack_id = ? AND version = ? AND withdrawn_at IS NULL AND (tenant_id IS NULL OR tenant_id = ?)
       ORDER BY published_at ASC LIMIT 1`,
    ),
    highestInScope: db.prepare<[string, string | null], { v: number | null }>(
      'SELECT MAX(version) AS v FROM fleet_packs WHERE pack_id = ? AND withdrawn_at IS NULL AND tenant_id IS ?',
    ),
    cover: db.prepare('INSERT OR IGNORE INTO pack_coverage (publication_id, device_id, covered_at) VALUES (?, ?, ?)'),
    coverage: db.prepare<[string], { device_id: string; covered_at: number }>('SELECT device_id, covered_at FROM pack_coverage WHERE publication_id = ?'),
    withdrawAll: db.prepare('UPDATE fleet_packs SET withdrawn_at = ?, withdrawn_by = ? WHERE pack_id = ? AND withdrawn_at IS NULL'),
    withdrawScope: db.prepare('UPDATE fleet_packs SET withdrawn_at = ?, withdrawn_by = ? WHERE pack_id = ? AND withdrawn_at IS NULL AND tenant_id IS ?'),
  };
}

export class PackStore {
  private readonly q: ReturnType<typeof statements>;

  constructor(private readonly db: Db) {
    this.q = statements(db);
  }

  keys(): PackKeyRow[] {
    return this.q.keys.all();
  }

  addKey(keyId: string, publicKey: string, nowMs: number): void {
    this.q.addKey.run(keyId, publicKey, nowMs);
  }

  removeKey(keyId: string): boolean {
    return this.q.removeKey.run(keyId).changes > 0;
  }

  /** The highest active version of a pack published to exactly this scope (null = every tenant). */
  highestVersion(packId: string, tenantId: string | null): number | null {
    return this.q.highestInScope.get(packId, tenantId)?.v ?? null;
  }

  insert(p: NewPublication): string {
    const id = newId('pub_', 9);
    this.q.insert.run(id, p.packId, p.version, p.title, p.tenantId, p.signerKeyId, p.sha256, p.envelope.length, p.envelope, p.publishedBy, p.publishedAt);
    return id;
  }

  list(): PublicationRow[] {
    return this.q.list.all();
  }

  get(publicationId: string): PublicationRow | undefined {
    return this.q.byId.get(publicationId);
  }

  /** Per pack id, the highest active version a device of this tenant should run. */
  activeForTenant(tenantId: string): PublicationRow[] {
    const seen = new Set<string>();
    const out: PublicationRow[] = [];
    for (const r of this.q.activeForTenant.all(tenantId)) {
      if (seen.has(r.pack_id)) continue;
      seen.add(r.pack_id);
      out.push(r);
    }
    return out;
  }

  /** The envelope bytes of an active publication this tenant may fetch. */
  envelope(tenantId: string, packId: string, version: number): { envelope: Buffer; sha256: string } | undefined {
    return this.q.envelope.get(packId, version, tenantId);
  }

  /** The first heartbeat that showed this device running the publication and scanned since. */
  recordCoverage(publicationId: string, deviceId: string, nowMs: number): void {
    this.q.cover.run(publicationId, deviceId, nowMs);
  }

  /** When each device first ran the publication (device id -> ms). */
  coverage(publicationId: string): Map<string, number> {
    return new Map(this.q.coverage.all(publicationId).map((r) => [r.device_id, r.covered_at]));
  }

  /**
   * Withdraws every active publication of a pack (in one scope when `tenantId` is given:
   * a tenant id, or null for the every-tenant publications). Returns how many.
   */
  withdraw(packId: string, by: string, nowMs: number, scope?: { tenantId: string | null }): number {
    return this.db.transaction(() =>
      scope ? this.q.withdrawScope.run(nowMs, by, packId, scope.tenantId).changes : this.q.withdrawAll.run(nowMs, by, packId).changes,
    )();
  }
}
