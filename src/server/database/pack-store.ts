/**
 * Published packs and the pack-signing keys the server accepts publications from. The
 * envelope bytes are stored exactly as published: devices fetch those bytes, check their
 * SHA-256 against the heartbeat listing and verify the signature with their own trusted
 * keys. Nothing here is trusted by the agents; the accepted keys only stop a partner from
 * publishing a pack the fleet would refuse anyway.
 */
import type { SqlExecutor } from './sql-database.js';
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

const PUBLICATION_FROM = 'fleet_packs f LEFT JOIN tenants t ON t.id = f.tenant_id';

/** `tenant_id IS ?` is SQLite only: the scope (a tenant id, or NULL for every tenant) as portable SQL. */
function scopeIs(tenantId: string | null): { sql: string; params: string[] } {
  return tenantId === null ? { sql: 'tenant_id IS NULL', params: [] } : { sql: 'tenant_id = ?', params: [tenantId] };
}

export class PackStore {
  constructor(private readonly db: SqlExecutor) {}

  /**
   * The accepted keys. `lock`: inside a publishing transaction, lock them (FOR UPDATE on
   * PostgreSQL), so two publications, from any process, run one after the other and the
   * version check cannot pass twice for the same version.
   */
  keys(opts: { lock?: boolean } = {}): Promise<PackKeyRow[]> {
    return this.db.all<PackKeyRow>(`SELECT key_id, public_key, added_at FROM pack_keys ORDER BY key_id${opts.lock ? this.db.dialect.forUpdate : ''}`);
  }

  async addKey(keyId: string, publicKey: string, nowMs: number): Promise<void> {
    await this.db.run(
      'INSERT INTO pack_keys (key_id, public_key, added_at) VALUES (?, ?, ?) ON CONFLICT (key_id) DO UPDATE SET public_key = excluded.public_key, added_at = excluded.added_at',
      [keyId, publicKey, nowMs],
    );
  }

  async removeKey(keyId: string): Promise<boolean> {
    return (await this.db.run('DELETE FROM pack_keys WHERE key_id = ?', [keyId])).changes > 0;
  }

  /** The highest active version of a pack published to exactly this scope (null = every tenant). */
  async highestVersion(packId: string, tenantId: string | null): Promise<number | null> {
    const scope = scopeIs(tenantId);
    const r = await this.db.get<{ v: number | null }>(`SELECT MAX(version) AS v FROM fleet_packs WHERE pack_id = ? AND withdrawn_at IS NULL AND ${scope.sql}`, [packId, ...scope.params]);
    return r?.v ?? null;
  }

  async insert(p: NewPublication): Promise<string> {
    const id = newId('pub_', 9);
    await this.db.run(
      `INSERT INTO fleet_packs (id, pack_id, version, title, tenant_id, signer_key_id, sha256, size, envelope, published_by, published_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      [id, p.packId, p.version, p.title, p.tenantId, p.signerKeyId, p.sha256, p.envelope.length, p.envelope, p.publishedBy, p.publishedAt],
    );
    return id;
  }

  list(): Promise<PublicationRow[]> {
    return this.db.all<PublicationRow>(`SELECT ${PUBLICATION_COLUMNS} FROM ${PUBLICATION_FROM} ORDER BY f.pack_id, f.version DESC, f.published_at DESC`);
  }

  get(publicationId: string): Promise<PublicationRow | undefined> {
    return this.db.get<PublicationRow>(`SELECT ${PUBLICATION_COLUMNS} FROM ${PUBLICATION_FROM} WHERE f.id = ?`, [publicationId]);
  }

  /** Per pack id, the highest active version a device of this tenant should run. */
  async activeForTenant(tenantId: string): Promise<PublicationRow[]> {
    const rows = await this.db.all<PublicationRow>(
      `SELECT ${PUBLICATION_COLUMNS} FROM ${PUBLICATION_FROM}
       WHERE f.withdrawn_at IS NULL AND (f.tenant_id IS NULL OR f.tenant_id = ?)
       ORDER BY f.pack_id, f.version DESC, f.published_at ASC`,
      [tenantId],
    );
    const seen = new Set<string>();
    const out: PublicationRow[] = [];
    for (const r of rows) {
      if (seen.has(r.pack_id)) continue;
      seen.add(r.pack_id);
      out.push(r);
    }
    return out;
  }

  /** The envelope bytes of an active publication this tenant may fetch. */
  envelope(tenantId: string, packId: string, version: number): Promise<{ envelope: Buffer; sha256: string } | undefined> {
    return this.db.get<{ envelope: Buffer; sha256: string }>(
      `SELECT envelope, sha256 FROM fleet_packs WHERE pack_id = ? AND version = ? AND withdrawn_at IS NULL AND (tenant_id IS NULL OR tenant_id = ?)
       ORDER BY published_at ASC LIMIT 1`,
      [packId, version, tenantId],
    );
  }

  /** The first heartbeat that showed this device running the publication and scanned since. */
  async recordCoverage(publicationId: string, deviceId: string, nowMs: number): Promise<void> {
    await this.db.run('INSERT INTO pack_coverage (publication_id, device_id, covered_at) VALUES (?, ?, ?) ON CONFLICT (publication_id, device_id) DO NOTHING', [
      publicationId, deviceId, nowMs,
    ]);
  }

  /** When each device first ran the publication (device id -> ms). */
  async coverage(publicationId: string): Promise<Map<string, number>> {
    const rows = await this.db.all<{ device_id: string; covered_at: number }>('SELECT device_id, covered_at FROM pack_coverage WHERE publication_id = ?', [publicationId]);
    return new Map(rows.map((r) => [r.device_id, r.covered_at]));
  }

  /**
   * Withdraws every active publication of a pack (in one scope when `tenantId` is given:
   * a tenant id, or null for the every-tenant publications). Returns how many.
   */
  async withdraw(packId: string, by: string, nowMs: number, scope?: { tenantId: string | null }): Promise<number> {
    const sql = 'UPDATE fleet_packs SET withdrawn_at = ?, withdrawn_by = ? WHERE pack_id = ? AND withdrawn_at IS NULL';
    if (!scope) return (await this.db.run(sql, [nowMs, by, packId])).changes;
    const s = scopeIs(scope.tenantId);
    return (await this.db.run(`${sql} AND ${s.sql}`, [nowMs, by, packId, ...s.params])).changes;
  }
}
