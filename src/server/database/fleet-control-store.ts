/**
 * What the partner asks of devices through heartbeat responses: check-now requests (one
 * device, a tenant, or every device) with the answers devices report, and temporary
 * heartbeat intervals per tenant that end by themselves.
 */
import type { SqlExecutor } from './sql-database.js';
import { newId } from '../secret-tokens.js';

export type ScanScope = 'device' | 'tenant' | 'all';

export interface ScanRequestRow {
  id: string;
  scope: ScanScope;
  tenant_id: string | null;
  tenant_name: string | null;
  device_id: string | null;
  requested_by: string;
  requested_at: number;
  expires_at: number;
}

export interface HeartbeatOverrideRow {
  tenant_id: string;
  tenant_name: string;
  interval_sec: number;
  until_at: number;
  set_by: string;
  set_at: number;
}

const REQUEST_COLUMNS = 'r.id, r.scope, r.tenant_id, t.name AS tenant_name, r.device_id, r.requested_by, r.requested_at, r.expires_at';

const REQUEST_FROM = 'scan_requests r LEFT JOIN tenants t ON t.id = r.tenant_id';
/** The requests in a device's scope; binds (tenant, device). */
const IN_SCOPE = "(r.scope = 'all' OR (r.scope = 'tenant' AND r.tenant_id = ?) OR (r.scope = 'device' AND r.device_id = ?))";

export class FleetControlStore {
  constructor(private readonly db: SqlExecutor) {}

  async createScanRequest(r: { scope: ScanScope; tenantId: string | null; deviceId: string | null; by: string; nowMs: number; ttlMs: number }): Promise<string> {
    const id = newId('scan_', 12);
    await this.db.run('INSERT INTO scan_requests (id, scope, tenant_id, device_id, requested_by, requested_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)', [
      id, r.scope, r.tenantId, r.deviceId, r.by, r.nowMs, r.nowMs + r.ttlMs,
    ]);
    return id;
  }

  /** The oldest unexpired request in this device's scope it has not answered. */
  pendingScanRequest(deviceId: string, tenantId: string, nowMs: number): Promise<ScanRequestRow | undefined> {
    return this.db.get<ScanRequestRow>(
      `SELECT ${REQUEST_COLUMNS} FROM ${REQUEST_FROM}
       WHERE r.expires_at > ? AND ${IN_SCOPE}
         AND NOT EXISTS (SELECT 1 FROM scan_request_answers a WHERE a.request_id = r.id AND a.device_id = ?)
       ORDER BY r.requested_at ASC LIMIT 1`,
      [nowMs, tenantId, deviceId, deviceId],
    );
  }

  /** Records that the device scanned for `requestId` (and so for every older request in its scope). */
  async recordAnswer(deviceId: string, tenantId: string, requestId: string, nowMs: number): Promise<void> {
    const at = await this.db.get<{ requested_at: number }>('SELECT requested_at FROM scan_requests WHERE id = ?', [requestId]);
    if (!at) return;
    // A device that answers a request has scanned after every older one in its scope too.
    await this.db.run(
      `INSERT INTO scan_request_answers (request_id, device_id, answered_at)
       SELECT r.id, ?, ? FROM scan_requests r WHERE r.requested_at <= ? AND ${IN_SCOPE}
       ON CONFLICT (request_id, device_id) DO NOTHING`,
      [deviceId, nowMs, at.requested_at, tenantId, deviceId],
    );
  }

  async listScanRequests(limit: number): Promise<Array<ScanRequestRow & { answered: number }>> {
    const rows = await this.db.all<ScanRequestRow>(`SELECT ${REQUEST_COLUMNS} FROM ${REQUEST_FROM} ORDER BY r.requested_at DESC LIMIT ?`, [limit]);
    const out: Array<ScanRequestRow & { answered: number }> = [];
    for (const r of rows) {
      const n = await this.db.get<{ n: number }>('SELECT COUNT(*) AS n FROM scan_request_answers WHERE request_id = ?', [r.id]);
      out.push({ ...r, answered: Number(n?.n ?? 0) });
    }
    return out;
  }

  async setHeartbeatOverride(tenantId: string, intervalSec: number, untilMs: number, by: string, nowMs: number): Promise<void> {
    await this.db.run(
      `INSERT INTO heartbeat_overrides (tenant_id, interval_sec, until_at, set_by, set_at) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (tenant_id) DO UPDATE SET interval_sec = excluded.interval_sec, until_at = excluded.until_at, set_by = excluded.set_by, set_at = excluded.set_at`,
      [tenantId, intervalSec, untilMs, by, nowMs],
    );
  }

  /** The lowered interval for this tenant, while it lasts. */
  async heartbeatOverride(tenantId: string, nowMs: number): Promise<number | undefined> {
    return (await this.db.get<{ interval_sec: number }>('SELECT interval_sec FROM heartbeat_overrides WHERE tenant_id = ? AND until_at > ?', [tenantId, nowMs]))?.interval_sec;
  }

  activeOverrides(nowMs: number): Promise<HeartbeatOverrideRow[]> {
    return this.db.all<HeartbeatOverrideRow>(
      'SELECT o.tenant_id, t.name AS tenant_name, o.interval_sec, o.until_at, o.set_by, o.set_at FROM heartbeat_overrides o JOIN tenants t ON t.id = o.tenant_id WHERE o.until_at > ? ORDER BY lower(t.name), t.name',
      [nowMs],
    );
  }
}
