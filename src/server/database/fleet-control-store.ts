/**
 * What the partner asks of devices through heartbeat responses: check-now requests (one
 * device, a tenant, or every device) with the answers devices report, and temporary
 * heartbeat intervals per tenant that end by themselves.
 */
import type { Db } from './open-database.js';
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

function statements(db: Db) {
  return {
    insert: db.prepare('INSERT INTO scan_requests (id, scope, tenant_id, device_id, requested_by, requested_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)'),
    pendingFor: db.prepare<{ device: string; tenant: string; now: number }, ScanRequestRow>(
      `SELECT ${REQUEST_COLUMNS} FROM scan_requests r LEFT JOIN tenants t ON t.id = r.tenant_id
       WHERE r.expires_at > @now
         AND (r.scope = 'all' OR (r.scope = 'tenant' AND r.tenant_id = @tenant) OR (r.scope = 'device' AND r.device_id = @device))
         AND NOT EXISTS (SELECT 1 FROM scan_request_answers a WHERE a.request_id = r.id AND a.device_id = @device)
       ORDER BY r.requested_at ASC LIMIT 1`,
    ),
    // A device that answers a request has scanned after every older one in its scope too.
    answerOlder: db.prepare<{ device: string; tenant: string; now: number; at: number }>(
      `INSERT OR IGNORE INTO scan_request_answers (request_id, device_id, answered_at)
       SELECT r.id, @device, @now FROM scan_requests r
       WHERE r.requested_at <= @at AND (r.scope = 'all' OR (r.scope = 'tenant' AND r.tenant_id = @tenant) OR (r.scope = 'device' AND r.device_id = @device))`,
    ),
    requestedAt: db.prepare<[string], { requested_at: number }>('SELECT requested_at FROM scan_requests WHERE id = ?'),
    list: db.prepare<[number], ScanRequestRow>(`SELECT ${REQUEST_COLUMNS} FROM scan_requests r LEFT JOIN tenants t ON t.id = r.tenant_id ORDER BY r.requested_at DESC LIMIT ?`),
    answers: db.prepare<[string], { n: number }>('SELECT COUNT(*) AS n FROM scan_request_answers WHERE request_id = ?'),
    setOverride: db.prepare(
      `INSERT INTO heartbeat_overrides (tenant_id, interval_sec, until_at, set_by, set_at) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT(tenant_id) DO UPDATE SET interval_sec = excluded.interval_sec, until_at = excluded.until_at, set_by = excluded.set_by, set_at = excluded.set_at`,
    ),
    override: db.prepare<[string, number], { interval_sec: number; until_at: number }>('SELECT interval_sec, until_at FROM heartbeat_overrides WHERE tenant_id = ? AND until_at > ?'),
    overrides: db.prepare<[number], HeartbeatOverrideRow>(
      'SELECT o.tenant_id, t.name AS tenant_name, o.interval_sec, o.until_at, o.set_by, o.set_at FROM heartbeat_overrides o JOIN tenants t ON t.id = o.tenant_id WHERE o.until_at > ? ORDER BY t.name',
    ),
  };
}

export class FleetControlStore {
  private readonly q: ReturnType<typeof statements>;

  constructor(db: Db) {
    this.q = statements(db);
  }

  createScanRequest(r: { scope: ScanScope; tenantId: string | null; deviceId: string | null; by: string; nowMs: number; ttlMs: number }): string {
    const id = newId('scan_', 12);
    this.q.insert.run(id, r.scope, r.tenantId, r.deviceId, r.by, r.nowMs, r.nowMs + r.ttlMs);
    return id;
  }

  /** The oldest unexpired request in this device's scope it has not answered. */
  pendingScanRequest(deviceId: string, tenantId: string, nowMs: number): ScanRequestRow | undefined {
    return this.q.pendingFor.get({ device: deviceId, tenant: tenantId, now: nowMs });
  }

  /** Records that the device scanned for `requestId` (and so for every older request in its scope). */
  recordAnswer(deviceId: string, tenantId: string, requestId: string, nowMs: number): void {
    const at = this.q.requestedAt.get(requestId);
    if (!at) return;
    this.q.answerOlder.run({ device: deviceId, tenant: tenantId, now: nowMs, at: at.requested_at });
  }

  listScanRequests(limit: number): Array<ScanRequestRow & { answered: number }> {
    return this.q.list.all(limit).map((r) => ({ ...r, answered: this.q.answers.get(r.id)?.n ?? 0 }));
  }

  setHeartbeatOverride(tenantId: string, intervalSec: number, untilMs: number, by: string, nowMs: number): void {
    this.q.setOverride.run(tenantId, intervalSec, untilMs, by, nowMs);
  }

  /** The lowered interval for this tenant, while it lasts. */
  heartbeatOverride(tenantId: string, nowMs: number): number | undefined {
    return this.q.override.get(tenantId, nowMs)?.interval_sec;
  }

  activeOverrides(nowMs: number): HeartbeatOverrideRow[] {
    return this.q.overrides.all(nowMs);
  }
}
