/**
 * Which state change makes which notification event. Pure: ingest calls these inside its
 * transaction with what it already has in hand, and enqueues what they return.
 *
 * One event per state change, never one per heartbeat: a verdict event only when the
 * status changes rank, a silent event once per silence (cleared by the next request), and
 * alerts from one device within the burst window are merged into one event that lists them.
 */
import type { Alert } from '../../shared/protocol.js';
import type { Status } from '../../shared/scan.js';
import { NOTIFY_SEVERITIES, severityAtLeast, type Channel, type EventType, type NotifySeverity } from './channel-config.js';

export interface DeviceRef {
  id: string;
  hostname: string;
  /** Link to the device on the fleet page. */
  url: string;
}
export interface TenantRefLite {
  id: string;
  name: string;
}

export interface AlertItem {
  alertId: string;
  kind: Alert['kind'];
  severity: Alert['finding']['severity'];
  title: string;
  application: string | null;
  raisedAt: string;
  advice: { title: string; text: string } | null;
}

export type EventData =
  | { type: 'alert'; tenant: TenantRefLite; device: DeviceRef; severity: NotifySeverity; alerts: AlertItem[] }
  | { type: 'verdict.worse' | 'verdict.ok'; tenant: TenantRefLite; device: DeviceRef; severity: NotifySeverity; from: Status; to: Status; summary: string | null }
  | { type: 'device.silent'; tenant: TenantRefLite; device: DeviceRef; severity: NotifySeverity; lastSeenAt: string; heartbeatIntervalSec: number; missedIntervals: number }
  | { type: 'pack.withdrawn' | 'pack.failing'; tenant: TenantRefLite; severity: NotifySeverity; pack: { id: string; version: number | null }; devices: DeviceRef[]; reason: string }
  | { type: 'digest'; tenant: TenantRefLite; severity: NotifySeverity; day: string; devices: number; byStatus: Record<Status, number>; alerts: number; silent: number }
  | { type: 'test'; severity: NotifySeverity; channel: string };

/** What is delivered: the Standard Webhooks payload shape (`type`, `timestamp`, `data`). */
export interface NotifyEvent {
  type: EventType | 'test';
  timestamp: string;
  data: EventData;
}

/** Alerts merged into one notification at most this long after the first of a burst. */
export const DEFAULT_BURST_WINDOW_MS = 10_000;
/** A device is "silent" after this many missed heartbeat intervals (the fleet page's offline mark). */
export const DEFAULT_SILENT_AFTER_INTERVALS = 3;
/** Alerts listed in one notification; a longer burst continues in the next one. */
export const MAX_ALERTS_PER_EVENT = 50;

const STATUS_RANK: Record<Status, number> = { ok: 0, unknown: 1, attention: 2, compromised: 3 };

function statusSeverity(s: Status): NotifySeverity {
  return s === 'ok' ? 'info' : s;
}

function worst(a: NotifySeverity, b: NotifySeverity): NotifySeverity {
  return NOTIFY_SEVERITIES.indexOf(a) >= NOTIFY_SEVERITIES.indexOf(b) ? a : b;
}

export function alertItem(a: Alert): AlertItem {
  return {
    alertId: a.alertId,
    kind: a.kind,
    severity: a.finding.severity,
    title: a.finding.title,
    application: a.finding.application ?? null,
    raisedAt: a.raisedAt,
    advice: a.finding.advice ? { title: a.finding.advice.title, text: a.finding.advice.text } : null,
  };
}

/** The event for alerts just stored from one device (only the newly stored ones: a resend makes none). */
export function alertEvent(tenant: TenantRefLite, device: DeviceRef, stored: readonly Alert[], nowMs: number): NotifyEvent | null {
  if (stored.length === 0) return null;
  const alerts = stored.map(alertItem);
  const severity = alerts.reduce<NotifySeverity>((s, a) => worst(s, a.severity), 'info');
  return { type: 'alert', timestamp: new Date(nowMs).toISOString(), data: { type: 'alert', tenant, device, severity, alerts } };
}

/** Adds a later part of a burst to a pending alert event; null when it would grow past the cap. */
export function mergeAlertEvent(pending: NotifyEvent, more: NotifyEvent): NotifyEvent | null {
  if (pending.data.type !== 'alert' || more.data.type !== 'alert' || pending.data.device.id !== more.data.device.id) return null;
  const seen = new Set(pending.data.alerts.map((a) => a.alertId));
  const added = more.data.alerts.filter((a) => !seen.has(a.alertId));
  if (pending.data.alerts.length + added.length > MAX_ALERTS_PER_EVENT) return null;
  return { ...pending, data: { ...pending.data, severity: worst(pending.data.severity, more.data.severity), alerts: [...pending.data.alerts, ...added] } };
}

/**
 * A stored heartbeat's status against the previous one: worse (higher rank) or back to ok.
 * `unknown` as the previous status of a never-scanned device counts: a first heartbeat
 * that says compromised is news.
 */
export function verdictEvent(tenant: TenantRefLite, device: DeviceRef, from: Status, to: Status, summary: string | null, nowMs: number): NotifyEvent | null {
  if (from === to) return null;
  const timestamp = new Date(nowMs).toISOString();
  if (to === 'ok') {
    // A device that goes from "not scanned yet" to clean is not news.
    if (from === 'unknown') return null;
    return { type: 'verdict.ok', timestamp, data: { type: 'verdict.ok', tenant, device, severity: statusSeverity(from), from, to, summary } };
  }
  if (STATUS_RANK[to] <= STATUS_RANK[from]) return null;
  return { type: 'verdict.worse', timestamp, data: { type: 'verdict.worse', tenant, device, severity: statusSeverity(to), from, to, summary } };
}

/** True once a device that has been seen is silent for more than `afterIntervals` intervals. */
export function isSilent(lastSeenMs: number | null, heartbeatIntervalSec: number, nowMs: number, afterIntervals = DEFAULT_SILENT_AFTER_INTERVALS): boolean {
  return lastSeenMs !== null && nowMs - lastSeenMs > afterIntervals * heartbeatIntervalSec * 1000;
}

export function silentEvent(tenant: TenantRefLite, device: DeviceRef, lastSeenMs: number, heartbeatIntervalSec: number, nowMs: number): NotifyEvent {
  return {
    type: 'device.silent',
    timestamp: new Date(nowMs).toISOString(),
    data: {
      type: 'device.silent',
      tenant,
      device,
      severity: 'attention',
      lastSeenAt: new Date(lastSeenMs).toISOString(),
      heartbeatIntervalSec,
      missedIntervals: Math.floor((nowMs - lastSeenMs) / (heartbeatIntervalSec * 1000)),
    },
  };
}

/** The daily digest hour (UTC): a channel that wants digests gets one per tenant per day from then on. */
export const DIGEST_HOUR_UTC = 7;

/** Whether a digest for `tenant` is due on `channel` now, given the day of the last one sent. */
export function digestDue(lastDay: string | undefined, nowMs: number, hourUtc = DIGEST_HOUR_UTC): string | null {
  const now = new Date(nowMs);
  const day = now.toISOString().slice(0, 10);
  if (now.getUTCHours() < hourUtc || lastDay === day) return null;
  return day;
}

export function digestEvent(tenant: TenantRefLite, day: string, s: { byStatus: Record<string, number>; devices: number; silent: number; alerts: number }, nowMs: number): NotifyEvent {
  const byStatus = { ok: s.byStatus.ok ?? 0, attention: s.byStatus.attention ?? 0, compromised: s.byStatus.compromised ?? 0, unknown: s.byStatus.unknown ?? 0 };
  return { type: 'digest', timestamp: new Date(nowMs).toISOString(), data: { type: 'digest', tenant, severity: 'info', day, devices: s.devices, byStatus, alerts: s.alerts, silent: s.silent } };
}

export function testEvent(channelName: string, nowMs: number): NotifyEvent {
  return { type: 'test', timestamp: new Date(nowMs).toISOString(), data: { type: 'test', severity: 'info', channel: channelName } };
}

/** Whether a channel wants this event for this tenant. A test goes to the channel it was sent to only. */
export function channelWants(c: Pick<Channel, 'tenantId' | 'events' | 'minSeverity'>, ev: NotifyEvent): boolean {
  if (ev.type === 'test') return false;
  const tenantId = 'tenant' in ev.data ? ev.data.tenant.id : null;
  if (c.tenantId !== null && c.tenantId !== tenantId) return false;
  if (!c.events.includes(ev.type)) return false;
  // A digest is asked for by name; it has no severity to filter on.
  if (ev.type === 'digest') return true;
  return severityAtLeast(ev.data.severity, c.minSeverity);
}

/** Events of one device are delivered in order per channel; tenant-wide events in their own line. */
export function orderKey(ev: NotifyEvent): string {
  if ('device' in ev.data) return ev.data.device.id;
  if ('tenant' in ev.data) return `tenant:${ev.data.tenant.id}`;
  return 'test';
}
