/**
 * Tenants (the partner's customers), their enrolment tokens, and server settings.
 */
import type { SqlExecutor } from './sql-database.js';
import { hashToken, newEnrollToken, newId } from '../secret-tokens.js';

export interface TenantRow {
  id: string;
  name: string;
  created_at: number;
}

export interface EnrollTokenRow {
  id: string;
  tenant_id: string;
  tenant_name: string;
  created_at: number;
  expires_at: number | null;
  max_uses: number | null;
  uses: number;
  revoked_at: number | null;
}

export interface CreatedToken {
  token: string;
  tokenId: string;
  tenant: TenantRow;
  tenantCreated: boolean;
  expiresAt: number | null;
}

export type TokenCheck = { ok: true; tokenId: string; tenant: TenantRow } | { ok: false; reason: string };

const TOKEN_SELECT = 'SELECT t.id, t.tenant_id, n.name AS tenant_name, t.created_at, t.expires_at, t.max_uses, t.uses, t.revoked_at FROM enroll_tokens t JOIN tenants n ON n.id = t.tenant_id';

/** Tenant names compare in any case (the SQLite column is NOCASE; lower() says the same to PostgreSQL). */
export class TenantStore {
  constructor(private readonly db: SqlExecutor) {}

  tenantByName(name: string): Promise<TenantRow | undefined> {
    return this.db.get<TenantRow>('SELECT id, name, created_at FROM tenants WHERE lower(name) = lower(?)', [name]);
  }

  tenantById(id: string): Promise<TenantRow | undefined> {
    return this.db.get<TenantRow>('SELECT id, name, created_at FROM tenants WHERE id = ?', [id]);
  }

  listTenants(): Promise<TenantRow[]> {
    return this.db.all<TenantRow>('SELECT id, name, created_at FROM tenants ORDER BY lower(name), name');
  }

  /**
   * Creates the tenant if needed and a new enrolment token for it; the token is returned
   * once. Call inside a transaction (two processes creating the same new tenant: the
   * second insert does nothing and the row is read back).
   */
  async createToken(tenantName: string, nowMs: number, opts: { expiresAt?: number; maxUses?: number } = {}): Promise<CreatedToken> {
    let tenant = await this.tenantByName(tenantName);
    let tenantCreated = false;
    if (!tenant) {
      const fresh = { id: newId('ten_'), name: tenantName, created_at: nowMs };
      const r = await this.db.run('INSERT INTO tenants (id, name, created_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING', [fresh.id, fresh.name, fresh.created_at]);
      tenantCreated = r.changes === 1;
      tenant = tenantCreated ? fresh : await this.tenantByName(tenantName);
      if (!tenant) throw new Error(`tenant "${tenantName}" could not be created`);
    }
    const token = newEnrollToken();
    const tokenId = newId('tok_', 9);
    await this.db.run('INSERT INTO enroll_tokens (id, tenant_id, token_hash, created_at, expires_at, max_uses) VALUES (?, ?, ?, ?, ?, ?)', [
      tokenId, tenant.id, hashToken(token), nowMs, opts.expiresAt ?? null, opts.maxUses ?? null,
    ]);
    return { token, tokenId, tenant, tenantCreated, expiresAt: opts.expiresAt ?? null };
  }

  /** Whether an enrolment token may enrol a device now (does not count a use). */
  async checkToken(token: string, nowMs: number): Promise<TokenCheck> {
    const row = await this.db.get<EnrollTokenRow>(`${TOKEN_SELECT} WHERE t.token_hash = ?`, [hashToken(token)]);
    if (!row) return { ok: false, reason: 'unknown enrolment token' };
    if (row.revoked_at !== null) return { ok: false, reason: 'enrolment token revoked' };
    if (row.expires_at !== null && row.expires_at <= nowMs) return { ok: false, reason: 'enrolment token expired' };
    if (row.max_uses !== null && row.uses >= row.max_uses) return { ok: false, reason: 'enrolment token used up' };
    return { ok: true, tokenId: row.id, tenant: { id: row.tenant_id, name: row.tenant_name, created_at: 0 } };
  }

  /**
   * Counts one use, in one conditional UPDATE so that two processes enrolling with the last
   * use of a token cannot both have it: false when the token is used up (or revoked or
   * expired) by now.
   */
  async countTokenUse(tokenId: string, nowMs: number): Promise<boolean> {
    const r = await this.db.run(
      `UPDATE enroll_tokens SET uses = uses + 1
        WHERE id = ? AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ?) AND (max_uses IS NULL OR uses < max_uses)`,
      [tokenId, nowMs],
    );
    return r.changes === 1;
  }

  listTokens(): Promise<EnrollTokenRow[]> {
    return this.db.all<EnrollTokenRow>(`${TOKEN_SELECT} ORDER BY lower(n.name), n.name, t.created_at`);
  }

  async revokeToken(tokenId: string, nowMs: number): Promise<boolean> {
    return (await this.db.run('UPDATE enroll_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL', [nowMs, tokenId])).changes > 0;
  }

  async getSetting(key: string): Promise<string | undefined> {
    return (await this.db.get<{ value: string }>('SELECT value FROM settings WHERE key = ?', [key]))?.value;
  }

  /** Stores the setting unless it exists; false when another process stored it first. */
  async putSettingIfAbsent(key: string, value: string): Promise<boolean> {
    return (await this.db.run('INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING', [key, value])).changes === 1;
  }

  async putSetting(key: string, value: string): Promise<void> {
    await this.db.run('INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value', [key, value]);
  }
}
