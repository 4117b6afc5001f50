/**
 * From database rows to what the admin API and the fleet page show. A device is online when
 * it was seen within three of its heartbeat intervals, offline after three missed ones.
 */
import {
  HeartbeatSchema,
  type AlertView,
  type DeviceDetail,
  type DeviceView,
  type Heartbeat,
  type StableIdSource,
} from '../shared/protocol.js';
import { AlertSchema } from '../shared/protocol.js';
import type { Status } from '../shared/scan.js';
import type { DeviceRow } from './database/device-store.js';
import type { AlertRow } from './database/alert-store.js';

export const MISSED_INTERVALS_OFFLINE = 3;

export function isOnline(lastSeenMs: number | null, heartbeatIntervalSec: number, nowMs: number): boolean {
  return lastSeenMs !== null && nowMs - lastSeenMs <= MISSED_INTERVALS_OFFLINE * heartbeatIntervalSec * 1000;
}

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

function storedHeartbeat(row: DeviceRow): Heartbeat | undefined {
  if (!row.heartbeat_json) return undefined;
  const r = HeartbeatSchema.safeParse(JSON.parse(row.heartbeat_json));
  return r.success ? r.data : undefined;
}

export function deviceDetail(row: DeviceRow, nowMs: number): DeviceDetail {
  const hb = storedHeartbeat(row);
  return {
    deviceId: row.id,
    tenant: { id: row.tenant_id, name: row.tenant_name },
    hostname: row.hostname,
    platform: row.platform,
    osRelease: row.os_release,
    agentVersion: row.agent_version,
    stableIdSource: row.stable_id_source as StableIdSource,
    enrolledAt: new Date(row.enrolled_at).toISOString(),
    enrolCount: row.enrol_count,
    revokedAt: iso(row.revoked_at),
    lastSeenAt: iso(row.last_seen_at),
    online: row.revoked_at === null && isOnline(row.last_seen_at, row.heartbeat_interval_sec, nowMs),
    heartbeatIntervalSec: row.heartbeat_interval_sec,
    status: row.status as Status,
    verdict: hb?.verdict ?? null,
    lastScanAt: hb?.lastScanAt ?? null,
    installs: hb?.installs ?? [],
    packs: hb?.packs ?? [],
    outbox: hb?.outbox ?? null,
    alertCount: row.alert_count,
    refusedAlerts: row.alerts_refused,
    possibleDuplicateOf: row.duplicate_of,
    heartbeatSeq: row.heartbeat_seq,
    findings: hb?.findings ?? [],
    problems: hb?.problems ?? [],
    connectionWatch: hb?.connectionWatch ?? null,
  };
}

export function deviceView(row: DeviceRow, nowMs: number): DeviceView {
  const { findings: _f, problems: _p, connectionWatch: _c, ...view } = deviceDetail(row, nowMs);
  return view;
}

export function alertView(row: AlertRow): AlertView {
  const alert = AlertSchema.parse(JSON.parse(row.alert_json));
  return {
    ...alert,
    deviceId: row.device_id,
    tenant: { id: row.tenant_id, name: row.tenant_name },
    hostname: row.hostname,
    receivedAt: new Date(row.received_at).toISOString(),
  };
}
