/**
 * Alerts with what the partner did about them (alert-triage-store.ts), filtered by state:
 * shared by the admin API and the fleet page.
 */
import type { AlertView } from '../shared/protocol.js';
import type { Triage } from '../shared/fleet-protocol.js';
import type { AlertStore } from './database/alert-store.js';
import type { AlertTriageStore } from './database/alert-triage-store.js';
import { alertView } from './fleet-view.js';

export type TriageFilter = 'open' | 'acknowledged' | 'resolved' | 'unresolved' | 'all';

export interface TriagedAlert {
  alert: AlertView;
  triage: Triage;
}

export async function triagedAlerts(
  s: { alerts: AlertStore; triage: AlertTriageStore },
  q: { state: TriageFilter; tenant?: string; deviceId?: string; limit: number },
): Promise<TriagedAlert[]> {
  const triage = await s.triage.all();
  const out: TriagedAlert[] = [];
  // Read more than the limit: resolved alerts are filtered out after the query.
  for (const row of await s.alerts.list({ ...(q.tenant !== undefined ? { tenant: q.tenant } : {}), ...(q.deviceId !== undefined ? { deviceId: q.deviceId } : {}), limit: Math.min(q.limit * 10, 100_000) })) {
    let alert: AlertView;
    try {
      alert = alertView(row);
    } catch {
      continue; // written by another version; the alert list skips it too
    }
    const t = triage.get(`${row.device_id}/${row.alert_id}`);
    const state = t?.state ?? 'open';
    const keep = q.state === 'all' || q.state === state || (q.state === 'unresolved' && state !== 'resolved');
    if (!keep) continue;
    out.push({ alert, triage: { state, by: t?.by ?? null, note: t?.note ?? null, at: t ? new Date(t.at).toISOString() : null } });
    if (out.length >= q.limit) break;
  }
  return out;
}
