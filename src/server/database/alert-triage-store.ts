/**
 * What the partner did about each alert: acknowledged (someone is on it) or resolved, by
 * whom, when, with a note. Alerts themselves stay as the device sent them (alert-store.ts);
 * an alert with no row here is open.
 */
import type { Db } from './open-database.js';

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
  private readonly setStmt;
  private readonly allStmt;
  private readonly existsStmt;

  constructor(db: Db) {
    this.setStmt = db.prepare(
      `INSERT INTO alert_triage (device_id, alert_id, state, by, note, at) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT(device_id, alert_id) DO UPDATE SET state = excluded.state, by = excluded.by, note = excluded.note, at = excluded.at`,
    );
    this.allStmt = db.prepare<[], TriageRow>('SELECT device_id, alert_id, state, by, note, at FROM alert_triage');
    this.existsStmt = db.prepare<[string, string], { n: number }>('SELECT COUNT(*) AS n FROM alerts WHERE device_id = ? AND alert_id = ?');
  }

  /** False when there is no such alert. */
  set(deviceId: string, alertId: string, state: TriageState, by: string, note: string, nowMs: number): boolean {
    if ((this.existsStmt.get(deviceId, alertId)?.n ?? 0) === 0) return false;
    this.setStmt.run(deviceId, alertId, state, by, note, nowMs);
    return true;
  }

  /** Every triage row, keyed "deviceId/alertId". */
  all(): Map<string, TriageRow> {
    return new Map(this.allStmt.all().map((r) => [`${r.device_id}/${r.alert_id}`, r]));
  }
}
