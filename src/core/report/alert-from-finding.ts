/**
 * Which findings become alerts, and their ids.
 *
 * - A connection match from the watcher is an event: each observation is its own alert,
 *   identified by the finding and the moment it was observed.
 * - A compromised finding from a scan is a state: the hourly scan sees the same file again
 *   and again, so its alert id is the finding id alone and it is sent once.
 *
 * Ids are derived, not random, so that an agent killed after queueing an alert and
 * restarted raises it with the same id, and the server stores it once.
 */
import { createHash } from 'node:crypto';
import type { Finding } from '../../shared/scan.js';
import type { Alert, AlertKind } from '../../shared/protocol.js';

export function alertId(kind: AlertKind, finding: Finding): string {
  const parts = kind === 'connection' ? ['vigil-alert', kind, finding.id, finding.observedAt] : ['vigil-alert', kind, finding.id];
  return createHash('sha256').update(parts.join('\u0000')).digest('hex').slice(0, 32);
}

export function alertFromFinding(kind: AlertKind, finding: Finding, raisedAt: Date): Alert {
  return { alertId: alertId(kind, finding), kind, finding, raisedAt: raisedAt.toISOString() };
}

/** Scan findings that are alerted at once (the rest travel in heartbeats). */
export function isAlertWorthy(finding: Finding): boolean {
  return finding.severity === 'compromised';
}
