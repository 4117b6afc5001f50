/**
 * Alerts, stored exactly once per (device, alert id): the primary key makes a resent alert
 * a no-op that is reported back as a duplicate, also when two server processes receive the
 * same alert at once (ON CONFLICT DO NOTHING: the second insert changes nothing).
 */
import type { Alert } from '../../shared/protocol.js';
import type { SqlExecutor } from './sql-database.js';

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
const ALERT_ORDER = 'ORDER BY a.received_at DESC, a.alert_id LIMIT ? OFFSET ?';

export class AlertStore {
  constructor(private readonly db: SqlExecutor) {}

  /** Inserts each alert unless this device already sent it; call inside a transaction. */
  async insert(deviceId: string, tenantId: string, alerts: readonly Alert[], nowMs: number): Promise<{ stored: string[]; duplicates: string[] }> {
    const stored: string[] = [];
    const duplicates: string[] = [];
    for (const a of alerts) {
      const r = await this.db.run(
        `INSERT INTO alerts (device_id, alert_id, tenant_id, kind, severity, raised_at, received_at, alert_json) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (device_id, alert_id) DO NOTHING`,
        [deviceId, a.alertId, tenantId, a.kind, a.finding.severity, a.raisedAt, nowMs, JSON.stringify(a)],
      );
      (r.changes > 0 ? stored : duplicates).push(a.alertId);
    }
    return { stored, duplicates };
  }

  /** Which of these alert ids this device has already stored. */
  async known(deviceId: string, alertIds: readonly string[]): Promise<Set<string>> {
    const out = new Set<string>();
    for (const id of alertIds) {
      if (await this.db.get('SELECT 1 AS n FROM alerts WHERE device_id = ? AND alert_id = ?', [deviceId, id])) out.add(id);
    }
    return out;
  }

  /** Newest first. `tenantId` is the fleet page's per-tenant list; `tenant` (a name, any case) the admin API's filter. */
  async list(opts: { tenant?: string; tenantId?: string; deviceId?: string; limit: number; offset?: number }): Promise<AlertRow[]> {
    const offset = opts.offset ?? 0;
    if (opts.deviceId !== undefined) return this.db.all<AlertRow>(`SELECT ${ALERT_COLUMNS} FROM ${ALERT_FROM} WHERE a.device_id = ? ${ALERT_ORDER}`, [opts.deviceId, opts.limit, offset]);
    if (opts.tenantId !== undefined) return this.db.all<AlertRow>(`SELECT ${ALERT_COLUMNS} FROM ${ALERT_FROM} WHERE a.tenant_id = ? ${ALERT_ORDER}`, [opts.tenantId, opts.limit, offset]);
    if (opts.tenant !== undefined) return this.db.all<AlertRow>(`SELECT ${ALERT_COLUMNS} FROM ${ALERT_FROM} WHERE lower(t.name) = lower(?) ${ALERT_ORDER}`, [opts.tenant, opts.limit, offset]);
    return this.db.all<AlertRow>(`SELECT ${ALERT_COLUMNS} FROM ${ALERT_FROM} ${ALERT_ORDER}`, [opts.limit, offset]);
  }

  /** Retention: deletes alerts received before `cutoffMs`; the devices' alert counts are kept. */
  async purgeReceivedBefore(cutoffMs: number): Promise<number> {
    return (await this.db.run('DELETE FROM alerts WHERE received_at < ?', [cutoffMs])).changes;
  }
}
