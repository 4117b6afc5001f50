/**
 * Notification channels and the durable delivery queue (issue 14). One queue row per event
 * per channel, inserted in the caller's transaction (the one that stores the cause), so an
 * event exists exactly when its cause does. Rows are delivered in `seq` order per
 * (channel, order key): only the oldest undelivered row of each line is ever due.
 *
 * Several server processes share the queue: a worker claims the rows it will send with a
 * lease (claimed_by, claimed_until; migration 8), in one transaction whose SELECT skips
 * rows another process has locked. A claimed row is not due to anyone else until its lease
 * ends, so a process killed mid-send has its rows sent again by another once it lapses.
 */
import type { SqlExecutor } from './sql-database.js';

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

const PENDING_HEAD = `o.state = 'pending'
          AND NOT EXISTS (SELECT 1 FROM notify_outbox p WHERE p.channel_id = o.channel_id AND p.order_key = o.order_key AND p.state = 'pending' AND p.seq < o.seq)`;

export class NotifyStore {
  constructor(private readonly db: SqlExecutor) {}

  async insertChannel(row: Omit<ChannelRow, 'tenant_name'>): Promise<void> {
    await this.db.run('INSERT INTO notify_channels (id, name, tenant_id, type, min_severity, events, config_json, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)', [
      row.id, row.name, row.tenant_id, row.type, row.min_severity, row.events, row.config_json, row.created_at,
    ]);
  }

  listChannels(): Promise<ChannelRow[]> {
    return this.db.all<ChannelRow>(`SELECT ${CHANNEL_COLUMNS} FROM ${CHANNEL_FROM} ORDER BY lower(c.name), c.name`);
  }

  /** By id, or by name in any case. */
  channel(idOrName: string): Promise<ChannelRow | undefined> {
    return this.db.get<ChannelRow>(`SELECT ${CHANNEL_COLUMNS} FROM ${CHANNEL_FROM} WHERE c.id = ? OR lower(c.name) = lower(?)`, [idOrName, idOrName]);
  }

  /** Removes the channel and its queue (undelivered events included). */
  async deleteChannel(id: string): Promise<boolean> {
    return (await this.db.run('DELETE FROM notify_channels WHERE id = ?', [id])).changes > 0;
  }

  async enqueue(deliveryId: string, channelId: string, orderKey: string, eventType: string, eventJson: string, nowMs: number, dueAtMs: number): Promise<void> {
    await this.db.run('INSERT INTO notify_outbox (delivery_id, channel_id, order_key, event_type, event_json, created_at, due_at) VALUES (?, ?, ?, ?, ?, ?, ?)', [
      deliveryId, channelId, orderKey, eventType, eventJson, nowMs, dueAtMs,
    ]);
  }

  /** The newest row of a line when it is still an untried, unclaimed pending alert event created since `sinceMs`. */
  async openAlertRow(channelId: string, orderKey: string, sinceMs: number): Promise<{ seq: number; event_json: string } | undefined> {
    const r = await this.db.get<{ seq: number; event_type: string; event_json: string; attempts: number; state: string; created_at: number; claimed_until: number | null }>(
      'SELECT seq, event_type, event_json, attempts, state, created_at, claimed_until FROM notify_outbox WHERE channel_id = ? AND order_key = ? ORDER BY seq DESC LIMIT 1',
      [channelId, orderKey],
    );
    if (!r || r.event_type !== 'alert' || r.state !== 'pending' || r.attempts !== 0 || r.claimed_until !== null || r.created_at < sinceMs) return undefined;
    return { seq: r.seq, event_json: r.event_json };
  }

  /** Replaces an untried row's event (burst merging); false when a send has started (or been claimed) since. */
  async updateUntried(seq: number, eventJson: string): Promise<boolean> {
    const r = await this.db.run("UPDATE notify_outbox SET event_json = ? WHERE seq = ? AND attempts = 0 AND state = 'pending' AND claimed_until IS NULL", [eventJson, seq]);
    return r.changes > 0;
  }

  /** The oldest undelivered row of each line, when due and not claimed (a read: the fleet page, tests). */
  due(nowMs: number, limit: number): Promise<OutboxRow[]> {
    return this.db.all<OutboxRow>(
      `SELECT o.seq, o.delivery_id, o.channel_id, o.order_key, o.event_type, o.event_json, o.attempts, o.created_at
         FROM notify_outbox o
        WHERE o.due_at <= ? AND (o.claimed_until IS NULL OR o.claimed_until <= ?) AND ${PENDING_HEAD}
        ORDER BY o.seq LIMIT ?`,
      [nowMs, nowMs, limit],
    );
  }

  /**
   * Candidates for this process to claim: like `due`, and on PostgreSQL skipping rows
   * another transaction has locked. Call inside the claiming transaction, then `claim`.
   */
  claimable(nowMs: number, limit: number): Promise<OutboxRow[]> {
    return this.db.all<OutboxRow>(
      `SELECT o.seq, o.delivery_id, o.channel_id, o.order_key, o.event_type, o.event_json, o.attempts, o.created_at
         FROM notify_outbox o
        WHERE o.due_at <= ? AND (o.claimed_until IS NULL OR o.claimed_until <= ?) AND ${PENDING_HEAD}
        ORDER BY o.seq LIMIT ?${this.db.dialect.skipLocked}`,
      [nowMs, nowMs, limit],
    );
  }

  /** Claims a row for `owner` until `untilMs`; false when someone else holds an unexpired claim. */
  async claim(seq: number, owner: string, nowMs: number, untilMs: number): Promise<boolean> {
    const r = await this.db.run(
      "UPDATE notify_outbox SET claimed_by = ?, claimed_until = ? WHERE seq = ? AND state = 'pending' AND (claimed_until IS NULL OR claimed_until <= ?)",
      [owner, untilMs, seq, nowMs],
    );
    return r.changes === 1;
  }

  /** When the head of a line next falls due (or a claim on one lapses): rows behind a head wait for it. */
  async nextDueAt(): Promise<number | null> {
    const r = await this.db.get<{ due_at: number | null }>(
      `SELECT MIN(CASE WHEN o.claimed_until IS NOT NULL AND o.claimed_until > o.due_at THEN o.claimed_until ELSE o.due_at END) AS due_at
         FROM notify_outbox o WHERE ${PENDING_HEAD}`,
    );
    return r?.due_at ?? null;
  }

  async markDelivered(seq: number, nowMs: number): Promise<void> {
    await this.db.run("UPDATE notify_outbox SET state = 'delivered', attempts = attempts + 1, last_attempt_at = ?, done_at = ?, last_error = NULL, claimed_by = NULL, claimed_until = NULL WHERE seq = ?", [nowMs, nowMs, seq]);
  }

  async markRetry(seq: number, nowMs: number, dueAtMs: number, error: string): Promise<void> {
    await this.db.run('UPDATE notify_outbox SET attempts = attempts + 1, last_attempt_at = ?, due_at = ?, last_error = ?, claimed_by = NULL, claimed_until = NULL WHERE seq = ?', [nowMs, dueAtMs, error, seq]);
  }

  async markFailed(seq: number, nowMs: number, error: string): Promise<void> {
    await this.db.run("UPDATE notify_outbox SET state = 'failed', attempts = attempts + 1, last_attempt_at = ?, done_at = ?, last_error = ?, claimed_by = NULL, claimed_until = NULL WHERE seq = ?", [nowMs, nowMs, error, seq]);
  }

  async stats(): Promise<ChannelStatsRow[]> {
    const rows = await this.db.all<ChannelStatsRow>(
      `SELECT channel_id,
              SUM(CASE WHEN state = 'pending' THEN 1 ELSE 0 END) AS pending,
              SUM(CASE WHEN state = 'failed' THEN 1 ELSE 0 END) AS failed,
              SUM(CASE WHEN state = 'delivered' THEN 1 ELSE 0 END) AS delivered,
              MAX(CASE WHEN state = 'delivered' THEN done_at END) AS last_delivered_at,
              MAX(last_attempt_at) AS last_attempt_at,
              (SELECT last_error FROM notify_outbox e WHERE e.channel_id = o.channel_id AND e.last_error IS NOT NULL ORDER BY e.last_attempt_at DESC LIMIT 1) AS last_error
         FROM notify_outbox o GROUP BY channel_id`,
    );
    return rows.map((r) => ({ ...r, pending: Number(r.pending), failed: Number(r.failed), delivered: Number(r.delivered) }));
  }

  async purgeDone(beforeMs: number): Promise<number> {
    return (await this.db.run("DELETE FROM notify_outbox WHERE state IN ('delivered', 'failed') AND done_at < ?", [beforeMs])).changes;
  }

  deviceForEvents(deviceId: string): Promise<{ status: string; hostname: string; tenant_id: string; tenant_name: string; heartbeat_json: string | null } | undefined> {
    return this.db.get(
      'SELECT d.status, d.hostname, d.tenant_id, t.name AS tenant_name, d.heartbeat_json FROM devices d JOIN tenants t ON t.id = d.tenant_id WHERE d.id = ?',
      [deviceId],
    );
  }

  /** Devices seen, then silent for more than `afterIntervals` heartbeat intervals, not yet told. */
  silentCandidates(nowMs: number, afterIntervals: number, limit: number): Promise<SilentCandidateRow[]> {
    return this.db.all<SilentCandidateRow>(
      `SELECT d.id, d.hostname, d.tenant_id, t.name AS tenant_name, d.last_seen_at, d.heartbeat_interval_sec
         FROM devices d JOIN tenants t ON t.id = d.tenant_id LEFT JOIN notify_device_state s ON s.device_id = d.id
        WHERE d.revoked_at IS NULL AND d.last_seen_at IS NOT NULL AND s.silent_since IS NULL
          AND d.last_seen_at + ? * d.heartbeat_interval_sec * 1000 < ?
        LIMIT ?`,
      [afterIntervals, nowMs, limit],
    );
  }

  /** Marks the device silent; false when it already was (another process told it first). */
  async markSilent(deviceId: string, nowMs: number): Promise<boolean> {
    const r = await this.db.run(
      `INSERT INTO notify_device_state (device_id, silent_since) VALUES (?, ?)
       ON CONFLICT (device_id) DO UPDATE SET silent_since = excluded.silent_since WHERE notify_device_state.silent_since IS NULL`,
      [deviceId, nowMs],
    );
    return r.changes > 0;
  }

  async clearSilent(deviceId: string): Promise<void> {
    await this.db.run('UPDATE notify_device_state SET silent_since = NULL WHERE device_id = ? AND silent_since IS NOT NULL', [deviceId]);
  }

  async digestDay(channelId: string, tenantId: string): Promise<string | undefined> {
    return (await this.db.get<{ day: string }>('SELECT day FROM notify_digest_sent WHERE channel_id = ? AND tenant_id = ?', [channelId, tenantId]))?.day;
  }

  /** Records the digest day; false when it was recorded already (another process sends it). */
  async markDigest(channelId: string, tenantId: string, day: string): Promise<boolean> {
    const r = await this.db.run(
      `INSERT INTO notify_digest_sent (channel_id, tenant_id, day) VALUES (?, ?, ?)
       ON CONFLICT (channel_id, tenant_id) DO UPDATE SET day = excluded.day WHERE notify_digest_sent.day <> excluded.day`,
      [channelId, tenantId, day],
    );
    return r.changes > 0;
  }

  /** Per tenant: devices by status, how many are silent, alerts received since `sinceMs`. */
  async tenantSummary(tenantId: string, sinceMs: number): Promise<{ byStatus: Record<string, number>; devices: number; silent: number; alerts: number }> {
    const byStatus: Record<string, number> = {};
    let devices = 0;
    let silent = 0;
    const rows = await this.db.all<{ status: string; n: number; offline: number | null }>(
      `SELECT d.status, COUNT(*) AS n, SUM(CASE WHEN s.silent_since IS NOT NULL THEN 1 ELSE 0 END) AS offline
         FROM devices d LEFT JOIN notify_device_state s ON s.device_id = d.id
        WHERE d.tenant_id = ? AND d.revoked_at IS NULL GROUP BY d.status`,
      [tenantId],
    );
    for (const r of rows) {
      byStatus[r.status] = Number(r.n);
      devices += Number(r.n);
      silent += Number(r.offline ?? 0);
    }
    const alerts = await this.db.get<{ n: number }>('SELECT COUNT(*) AS n FROM alerts WHERE tenant_id = ? AND received_at >= ?', [tenantId, sinceMs]);
    return { byStatus, devices, silent, alerts: Number(alerts?.n ?? 0) };
  }
}
