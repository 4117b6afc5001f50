/**
 * Alerts, stored exactly once per (device, alert id): the primary key makes a resent alert
 * a no-op that is reported back as a duplicate.
 */
import type { Alert } from '../../shared/protocol.js';
import type { Db } from './open-database.js';

export interface AlertRow {
  device_id: string;
  alert_id: string;
  tenant_id: string;
  tenant_name: string;
  hostname: string;
  received_at: number;
  alert_json: string;
}

const ALERT_COLUMNS = 'a.device_id, a.alert_id, a.tenant_id, t.name AS tenant_name, d.hostname, a.received_at, a.alert_json';
const ALERT_FROM = 'alerts a JOIN tenants t ON t.id = a.tenant_id JOIN devices d ON d.id = a.device_id';

function statements(db: Db) {
  return {
    insert: db.prepare(
      'INSERT OR IGNORE INTO alerts (device_id, alert_id, tenant_id, kind, severity, raised_at, received_at, alert_json) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
    ),
    list: db.prepare<[number, number], AlertRow>(`SELECT ${ALERT_COLUMNS} FROM ${ALERT_FROM} ORDER BY a.received_at DESC, a.alert_id LIMIT ? OFFSET ?`),
    listTenant: db.prepare<[string, number, number], AlertRow>(`SELECT ${ALERT_COLUMNS} FROM ${ALERT_FROM} WHERE t.name = ? ORDER BY a.received_at DESC, a.alert_id LIMIT ? OFFSET ?`),
    listTenantId: db.prepare<[string, number, number], AlertRow>(
      `SELECT ${ALERT_COLUMNS} FROM ${ALERT_FROM} WHERE a.tenant_id = ? ORDER BY a.received_at DESC, a.alert_id LIMIT ? OFFSET ?`,
    ),
    listDevice: db.prepare<[string, number, number], AlertRow>(`SELECT ${ALERT_COLUMNS} FROM ${ALERT_FROM} WHERE a.device_id = ? ORDER BY a.received_at DESC, a.alert_id LIMIT ? OFFSET ?`),
    exists: db.prepare<[string, string], { n: number }>('SELECT 1 AS n FROM alerts WHERE device_id = ? AND alert_id = ?'),
    purgeBefore: db.prepare('DELETE FROM alerts WHERE received_at < ?'),
  };
}

export class AlertStore {
  private readonly q: ReturnType<typeof statements>;

  constructor(db: Db) {
    this.q = statements(db);
  }

  /** Inserts each alert unless this device already sent it; call inside a transaction. */
  insert(deviceId: string, tenantId: string, alerts: readonly Alert[], nowMs: number): { stored: string[]; duplicates: string[] } {
    const stored: string[] = [];
    const duplicates: string[] = [];
    for (const a of alerts) {
      const r = this.q.insert.run(deviceId, a.alertId, tenantId, a.kind, a.finding.severity, a.raisedAt, nowMs, JSON.stringify(a));
      (r.changes > 0 ? stored : duplicates).push(a.alertId);
    }
    return { stored, duplicates };
  }

  /** Which of these alert ids this device has already stored. */
  known(deviceId: string, alertIds: readonly string[]): Set<string> {
    return new Set(alertIds.filter((id) => this.q.exists.get(deviceId, id) !== undefined));
  }

  /** Newest first. `tenantId` is the fleet page's per-tenant list; `tenant` (a name) the admin API's filter. */
  list(opts: { tenant?: string; tenantId?: string; deviceId?: string; limit: number; offset?: number }): AlertRow[] {
    const offset = opts.offset ?? 0;
    if (opts.deviceId !== undefined) return this.q.listDevice.all(opts.deviceId, opts.limit, offset);
    if (opts.tenantId !== undefined) return this.q.listTenantId.all(opts.tenantId, opts.limit, offset);
    if (opts.tenant !== undefined) return this.q.listTenant.all(opts.tenant, opts.limit, offset);
    return this.q.list.all(opts.limit, offset);
  }

  /** Retention: deletes alerts received before `cutoffMs`; the devices' alert counts are kept. */
  purgeReceivedBefore(cutoffMs: number): number {
    return this.q.purgeBefore.run(cutoffMs).changes;
  }
}
