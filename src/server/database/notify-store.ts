/**
 * Notification channels and the durable delivery queue (issue 14). One queue row per event
 * per channel, inserted in the caller's transaction (the one that stores the cause), so an
 * event exists exactly when its cause does. Rows are delivered in `seq` order per
 * (channel, order key): only the oldest undelivered row of each line is ever due.
 */
import type { Db } from './open-database.js';

export interface ChannelRow {
  id: string;
  name: string;
  tenant_id: string | null;
  tenant_name: string | null;
  type: string;
  min_severity: string;
  events: string;
  config_json: string;
  created_at: number;
}

export interface OutboxRow {
  seq: number;
  delivery_id: string;
  channel_id: string;
  order_key: string;
  event_type: string;
  event_json: string;
  attempts: number;
  created_at: number;
}

export interface ChannelStatsRow {
  channel_id: string;
  pending: number;
  failed: number;
  delivered: number;
  last_delivered_at: number | null;
  last_attempt_at: number | null;
  last_error: string | null;
}

export interface SilentCandidateRow {
  id: string;
  hostname: string;
  tenant_id: string;
  tenant_name: string;
  last_seen_at: number;
  heartbeat_interval_sec: number;
}

const CHANNEL_COLUMNS = 'c.id, c.name, c.tenant_id, t.name AS tenant_name, c.type, c.min_severity, c.events, c.config_json, c.created_at';
const CHANNEL_FROM = 'notify_channels c LEFT JOIN tenants t ON t.id = c.tenant_id';

function statements(db: Db) {
  return {
    insertChannel: db.prepare('INSERT INTO notify_channels (id, name, tenant_id, type, min_severity, events, config_json, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)'),
    listChannels: db.prepare<[], ChannelRow>(`SELECT ${CHANNEL_COLUMNS} FROM ${CHANNEL_FROM} ORDER BY c.name`),
    channelByIdOrName: db.prepare<[string, string], ChannelRow>(`SELECT ${CHANNEL_COLUMNS} FROM ${CHANNEL_FROM} WHERE c.id = ? OR c.name = ?`),
    deleteChannel: db.prepare('DELETE FROM notify_channels WHERE id = ?'),
    enqueue: db.prepare('INSERT INTO notify_outbox (delivery_id, channel_id, order_key, event_type, event_json, created_at, due_at) VALUES (?, ?, ?, ?, ?, ?, ?)'),
    // The newest row of this line, if it is an alert event nobody tried to send yet.
    lastOfLine: db.prepare<[string, string], { seq: number; event_type: string; event_json: string; attempts: number; state: string; created_at: number }>(
      'SELECT seq, event_type, event_json, attempts, state, created_at FROM notify_outbox WHERE channel_id = ? AND order_key = ? ORDER BY seq DESC LIMIT 1',
    ),
    updateEvent: db.prepare('UPDATE notify_outbox SET event_json = ? WHERE seq = ? AND attempts = 0 AND state = \'pending\''),
    due: db.prepare<[number, number], OutboxRow>(
      `SELECT o.seq, o.delivery_id, o.channel_id, o.order_key, o.event_type, o.event_json, o.attempts, o.created_at
         FROM notify_outbox o
        WHERE o.state = 'pending' AND o.due_at <= ?
          AND NOT EXISTS (SELECT 1 FROM notify_outbox p WHERE p.channel_id = o.channel_id AND p.order_key = o.order_key AND p.state = 'pending' AND p.seq < o.seq)
        ORDER BY o.seq LIMIT ?`,
    ),
    nextDue: db.prepare<[], { due_at: number | null }>("SELECT MIN(due_at) AS due_at FROM notify_outbox WHERE state = 'pending'"),
    delivered: db.prepare("UPDATE notify_outbox SET state = 'delivered', attempts = attempts + 1, last_attempt_at = ?, done_at = ?, last_error = NULL WHERE seq = ?"),
    retry: db.prepare('UPDATE notify_outbox SET attempts = attempts + 1, last_attempt_at = ?, due_at = ?, last_error = ? WHERE seq = ?'),
    failed: db.prepare("UPDATE notify_outbox SET state = 'failed', attempts = attempts + 1, last_attempt_at = ?, done_at = ?, last_error = ? WHERE seq = ?"),
    stats: db.prepare<[], ChannelStatsRow>(
      `SELECT channel_id,
              SUM(state = 'pending') AS pending,
              SUM(state = 'failed') AS failed,
              SUM(state = 'delivered') AS delivered,
              MAX(CASE WHEN state = 'delivered' THEN done_at END) AS last_delivered_at,
              MAX(last_attempt_at) AS last_attempt_at,
              (SELECT last_error FROM notify_outbox e WHERE e.channel_id = o.channel_id AND e.last_error IS NOT NULL ORDER BY e.last_attempt_at DESC LIMIT 1) AS last_error
         FROM notify_outbox o GROUP BY channel_id`,
    ),
    purgeDone: db.prepare("DELETE FROM notify_outbox WHERE state IN ('delivered', 'failed') AND done_at < ?"),
    deviceForEvents: db.prepare<[string], { status: string; hostname: string; tenant_id: string; tenant_name: string; heartbeat_json: string | null }>(
      'SELECT d.status, d.hostname, d.tenant_id, t.name AS tenant_name, d.heartbeat_json FROM devices d JOIN tenants t ON t.id = d.tenant_id WHERE d.id = ?',
    ),
    silentCandidates: db.prepare<[number, number, number], SilentCandidateRow>(
      `SELECT d.id, d.hostname, d.tenant_id, t.name AS tenant_name, d.last_seen_at, d.heartbeat_interval_sec
         FROM devices d JOIN tenants t ON t.id = d.tenant_id LEFT JOIN notify_device_state s ON s.device_id = d.id
        WHERE d.revoked_at IS NULL AND d.last_seen_at IS NOT NULL AND s.silent_since IS NULL
          AND d.last_seen_at < ? - ? * d.heartbeat_interval_sec * 1000
        LIMIT ?`,
    ),
    markSilent: db.prepare('INSERT INTO notify_device_state (device_id, silent_since) VALUES (?, ?) ON CONFLICT(device_id) DO UPDATE SET silent_since = excluded.silent_since'),
    digestDay: db.prepare<[string, string], { day: string }>('SELECT day FROM notify_digest_sent WHERE channel_id = ? AND tenant_id = ?'),
    markDigest: db.prepare('INSERT INTO notify_digest_sent (channel_id, tenant_id, day) VALUES (?, ?, ?) ON CONFLICT(channel_id, tenant_id) DO UPDATE SET day = excluded.day'),
    statusCounts: db.prepare<[string], { status: string; n: number; offline: number }>(
      'SELECT status, COUNT(*) AS n, SUM(s.silent_since IS NOT NULL) AS offline FROM devices d LEFT JOIN notify_device_state s ON s.device_id = d.id WHERE d.tenant_id = ? AND d.revoked_at IS NULL GROUP BY status',
    ),
    alertsSince: db.prepare<[string, number], { n: number }>('SELECT COUNT(*) AS n FROM alerts WHERE tenant_id = ? AND received_at >= ?'),
    clearSilent: db.prepare('UPDATE notify_device_state SET silent_since = NULL WHERE device_id = ? AND silent_since IS NOT NULL'),
  };
}

export class NotifyStore {
  private readonly q: ReturnType<typeof statements>;

  constructor(private readonly db: Db) {
    this.q = statements(db);
  }

  insertChannel(row: Omit<ChannelRow, 'tenant_name'>): void {
    this.q.insertChannel.run(row.id, row.name, row.tenant_id, row.type, row.min_severity, row.events, row.config_json, row.created_at);
  }

  listChannels(): ChannelRow[] {
    return this.q.listChannels.all();
  }

  channel(idOrName: string): ChannelRow | undefined {
    return this.q.channelByIdOrName.get(idOrName, idOrName);
  }

  /** Removes the channel and its queue (undelivered events included). */
  deleteChannel(id: string): boolean {
    return this.q.deleteChannel.run(id).changes > 0;
  }

  enqueue(deliveryId: string, channelId: string, orderKey: string, eventType: string, eventJson: string, nowMs: number, dueAtMs: number): void {
    this.q.enqueue.run(deliveryId, channelId, orderKey, eventType, eventJson, nowMs, dueAtMs);
  }

  /** The newest row of a line when it is still an untried pending alert event created since `sinceMs`. */
  openAlertRow(channelId: string, orderKey: string, sinceMs: number): { seq: number; event_json: string } | undefined {
    const r = this.q.lastOfLine.get(channelId, orderKey);
    if (!r || r.event_type !== 'alert' || r.state !== 'pending' || r.attempts !== 0 || r.created_at < sinceMs) return undefined;
    return { seq: r.seq, event_json: r.event_json };
  }

  /** Replaces an untried row's event (burst merging); false when a send has started since. */
  updateUntried(seq: number, eventJson: string): boolean {
    return this.q.updateEvent.run(eventJson, seq).changes > 0;
  }

  /** The oldest undelivered row of each line, when due. */
  due(nowMs: number, limit: number): OutboxRow[] {
    return this.q.due.all(nowMs, limit);
  }

  nextDueAt(): number | null {
    return this.q.nextDue.get()?.due_at ?? null;
  }

  markDelivered(seq: number, nowMs: number): void {
    this.q.delivered.run(nowMs, nowMs, seq);
  }

  markRetry(seq: number, nowMs: number, dueAtMs: number, error: string): void {
    this.q.retry.run(nowMs, dueAtMs, error, seq);
  }

  markFailed(seq: number, nowMs: number, error: string): void {
    this.q.failed.run(nowMs, nowMs, error, seq);
  }

  stats(): ChannelStatsRow[] {
    return this.q.stats.all();
  }

  purgeDone(beforeMs: number): number {
    return this.q.purgeDone.run(beforeMs).changes;
  }

  deviceForEvents(deviceId: string) {
    return this.q.deviceForEvents.get(deviceId);
  }

  silentCandidates(nowMs: number, afterIntervals: number, limit: number): SilentCandidateRow[] {
    return this.q.silentCandidates.all(nowMs, afterIntervals, limit);
  }

  markSilent(deviceId: string, nowMs: number): void {
    this.q.markSilent.run(deviceId, nowMs);
  }

  clearSilent(deviceId: string): void {
    this.q.clearSilent.run(deviceId);
  }

  digestDay(channelId: string, tenantId: string): string | undefined {
    return this.q.digestDay.get(channelId, tenantId)?.day;
  }

  markDigest(channelId: string, tenantId: string, day: string): void {
    this.q.markDigest.run(channelId, tenantId, day);
  }

  /** Per tenant: devices by status, how many are silent, alerts received since `sinceMs`. */
  tenantSummary(tenantId: string, sinceMs: number): { byStatus: Record<string, number>; devices: number; silent: number; alerts: number } {
    const byStatus: Record<string, number> = {};
    let devices = 0;
    let silent = 0;
    for (const r of this.q.statusCounts.all(tenantId)) {
      byStatus[r.status] = r.n;
      devices += r.n;
      silent += r.offline ?? 0;
    }
    return { byStatus, devices, silent, alerts: this.q.alertsSince.get(tenantId, sinceMs)?.n ?? 0 };
  }

  /** Changes when another connection (the CLI) commits; cheap, no I/O. */
  dataVersion(): number {
    return this.db.pragma('data_version', { simple: true }) as number;
  }

  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn)();
  }
}
