/**
 * Tenants (the partner's customers), their enrolment tokens, and server settings.
 */
import type { Db } from './open-database.js';
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

function statements(db: Db) {
  return {
    tenantByName: db.prepare<[string], TenantRow>('SELECT id, name, created_at FROM tenants WHERE name = ?'),
    tenantById: db.prepare<[string], TenantRow>('SELECT id, name, created_at FROM tenants WHERE id = ?'),
    insertTenant: db.prepare('INSERT INTO tenants (id, name, created_at) VALUES (?, ?, ?)'),
    listTenants: db.prepare<[], TenantRow>('SELECT id, name, created_at FROM tenants ORDER BY name'),
    insertToken: db.prepare('INSERT INTO enroll_tokens (id, tenant_id, token_hash, created_at, expires_at, max_uses) VALUES (?, ?, ?, ?, ?, ?)'),
    tokenByHash: db.prepare<[Buffer], EnrollTokenRow>(
      'SELECT t.id, t.tenant_id, n.name AS tenant_name, t.created_at, t.expires_at, t.max_uses, t.uses, t.revoked_at FROM enroll_tokens t JOIN tenants n ON n.id = t.tenant_id WHERE t.token_hash = ?',
    ),
    useToken: db.prepare('UPDATE enroll_tokens SET uses = uses + 1 WHERE id = ?'),
    listTokens: db.prepare<[], EnrollTokenRow>(
      'SELECT t.id, t.tenant_id, n.name AS tenant_name, t.created_at, t.expires_at, t.max_uses, t.uses, t.revoked_at FROM enroll_tokens t JOIN tenants n ON n.id = t.tenant_id ORDER BY n.name, t.created_at',
    ),
    revokeToken: db.prepare('UPDATE enroll_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL'),
    getSetting: db.prepare<[string], { value: string }>('SELECT value FROM settings WHERE key = ?'),
    putSetting: db.prepare('INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value'),
  };
}

export class TenantStore {
  private readonly q: ReturnType<typeof statements>;

  constructor(private readonly db: Db) {
    this.q = statements(db);
  }

  tenantByName(name: string): TenantRow | undefined {
    return this.q.tenantByName.get(name);
  }

  tenantById(id: string): TenantRow | undefined {
    return this.q.tenantById.get(id);
  }

  listTenants(): TenantRow[] {
    return this.q.listTenants.all();
  }

  /** Creates the tenant if needed and a new enrolment token for it; the token is returned once. */
  createToken(tenantName: string, nowMs: number, opts: { expiresAt?: number; maxUses?: number } = {}): CreatedToken {
    return this.db.transaction(() => {
      let tenant = this.q.tenantByName.get(tenantName);
      let tenantCreated = false;
      if (!tenant) {
        tenant = { id: newId('ten_'), name: tenantName, created_at: nowMs };
        this.q.insertTenant.run(tenant.id, tenant.name, tenant.created_at);
        tenantCreated = true;
      }
      const token = newEnrollToken();
      const tokenId = newId('tok_', 9);
      this.q.insertToken.run(tokenId, tenant.id, hashToken(token), nowMs, opts.expiresAt ?? null, opts.maxUses ?? null);
      return { token, tokenId, tenant, tenantCreated, expiresAt: opts.expiresAt ?? null };
    })();
  }

  /** Whether an enrolment token may enrol a device now (does not count a use). */
  checkToken(token: string, nowMs: number): TokenCheck {
    const row = this.q.tokenByHash.get(hashToken(token));
    if (!row) return { ok: false, reason: 'unknown enrolment token' };
    if (row.revoked_at !== null) return { ok: false, reason: 'enrolment token revoked' };
    if (row.expires_at !== null && row.expires_at <= nowMs) return { ok: false, reason: 'enrolment token expired' };
    if (row.max_uses !== null && row.uses >= row.max_uses) return { ok: false, reason: 'enrolment token used up' };
    return { ok: true, tokenId: row.id, tenant: { id: row.tenant_id, name: row.tenant_name, created_at: 0 } };
  }

  countTokenUse(tokenId: string): void {
    this.q.useToken.run(tokenId);
  }

  listTokens(): EnrollTokenRow[] {
    return this.q.listTokens.all();
  }

  revokeToken(tokenId: string, nowMs: number): boolean {
    return this.q.revokeToken.run(nowMs, tokenId).changes > 0;
  }

  getSetting(key: string): string | undefined {
    return this.q.getSetting.get(key)?.value;
  }

  putSetting(key: string, value: string): void {
    this.q.putSetting.run(key, value);
  }
}
