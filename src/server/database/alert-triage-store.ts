/**
 * What the partner did about each alert: acknowledged (someone is on it) or resolved, by
 * whom, when, with a note. Alerts themselves stay as the device sent them (alert-store.ts);
 * an alert with no row here is open.
 */
import type { SqlExecutor } from './sql-database.js';

export type TriageState = 'acknowledged' | 'resolved';

export interface TriageRow {
  device_id: string;
  alert_id: string;
  state: TriageState;
  by: string;
  note: string;
  at: number;
}

export class AlertTriageStore {
  constructor(private readonly db: SqlExecutor) {}

  /** False when there is no such alert. */
  async set(deviceId: string, alertId: string, state: TriageState, by: string, note: string, nowMs: number): Promise<boolean> {
    // `by` is reserved in PostgreSQL: quoted everywhere.
    const r = await this.db.run(
      `INSERT INTO alert_triage (device_id, alert_id, state, "by", note, at)
       SELECT a.device_id, a.alert_id, ?, ?, ?, ? FROM alerts a WHERE a.device_id = ? AND a.alert_id = ?
       ON CONFLICT (device_id, alert_id) DO UPDATE SET state = excluded.state, "by" = excluded."by", note = excluded.note, at = excluded.at`,
      [state, by, note, nowMs, deviceId, alertId],
    );
    return r.changes > 0;
  }

  /** Every triage row, keyed "deviceId/alertId". */
  async all(): Promise<Map<string, TriageRow>> {
    const rows = await this.db.all<TriageRow>('SELECT device_id, alert_id, state, "by", note, at FROM alert_triage');
    return new Map(rows.map((r) => [`${r.device_id}/${r.alert_id}`, r]));
  }
}
