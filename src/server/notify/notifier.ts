/**
 * Turns what ingest stores into queued notification events, in ingest's own transaction,
 * and manages channels. Channels are cached in memory (reloaded on add/remove), so a
 * server with no channel configured pays nothing per request.
 *
 * Hooks for ingest: `onAlerts`, `watchHeartbeat` (before the heartbeat is written) and
 * `seen` (any accepted request ends a silence); they take the stores of the caller's open
 * transaction. `silentScan` runs from the delivery worker's
 * timer. `packEvent`: `pack.failing` when a heartbeat newly reports a backend pack it could
 * not load (its `packProblems`), `pack.withdrawn` from withdrawPack (pack-publishing.ts).
 */
import { randomBytes } from 'node:crypto';
import type { Alert, Heartbeat } from '../../shared/protocol.js';
import type { Status } from '../../shared/scan.js';
import type { Storage, Stores } from '../database/storage.js';
import { newId } from '../secret-tokens.js';
import {
  ChannelConfigSchema,
  ChannelInputSchema,
  EventTypeSchema,
  NotifySeveritySchema,
  type Channel,
  type ChannelInput,
} from './channel-config.js';
import {
  alertEvent,
  channelWants,
  digestDue,
  digestEvent,
  DEFAULT_BURST_WINDOW_MS,
  DEFAULT_SILENT_AFTER_INTERVALS,
  mergeAlertEvent,
  orderKey,
  silentEvent,
  testEvent,
  verdictEvent,
  type DeviceRef,
  type NotifyEvent,
  type TenantRefLite,
} from './events.js';

export interface NotifierOptions {
  /** The fleet page's address as people reach it, for links in messages. */
  publicUrl: () => string;
  burstWindowMs?: number;
  silentAfterIntervals?: number;
}

export class ChannelError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ChannelError';
  }
}

/** A new Standard Webhooks secret: "whsec_" + base64 of 32 random bytes. */
export function newWebhookSecret(): string {
  return 'whsec_' + randomBytes(32).toString('base64');
}

export class Notifier {
  private channels: Channel[] | null = null;
  readonly burstWindowMs: number;
  readonly silentAfterIntervals: number;

  constructor(
    private readonly storage: Storage,
    private readonly opts: NotifierOptions,
  ) {
    this.burstWindowMs = opts.burstWindowMs ?? DEFAULT_BURST_WINDOW_MS;
    this.silentAfterIntervals = opts.silentAfterIntervals ?? DEFAULT_SILENT_AFTER_INTERVALS;
  }

  // ---- channels ---------------------------------------------------------------------

  /** The channels (cached); inside a transaction pass its stores, so a reload reads through it. */
  async list(tx?: Stores): Promise<Channel[]> {
    if (this.channels) return this.channels;
    const rows = await (tx ?? this.storage).notify.listChannels();
    this.channels = rows.flatMap((r) => {
      const config = ChannelConfigSchema.safeParse(JSON.parse(r.config_json));
      if (!config.success) return [];
      return [{
        id: r.id,
        name: r.name,
        tenantId: r.tenant_id,
        tenantName: r.tenant_name,
        minSeverity: NotifySeveritySchema.parse(r.min_severity),
        events: EventTypeSchema.array().parse(JSON.parse(r.events)),
        config: config.data,
        createdAt: r.created_at,
      }];
    });
    return this.channels;
  }

  private seenVersion: number | undefined = -1;

  /**
   * Reloads channels when another process (`vigil server notify add|remove`, another server
   * process) may have changed them: on SQLite when data_version moved; on PostgreSQL, which
   * has no such counter, at every call (the worker calls it once a poll).
   */
  async refreshIfChangedElsewhere(): Promise<void> {
    const v = await this.storage.database.dataVersion();
    if (v === undefined || v !== this.seenVersion) {
      this.seenVersion = v;
      this.channels = null;
    }
  }

  async get(idOrName: string): Promise<Channel | undefined> {
    return (await this.list()).find((c) => c.id === idOrName || c.name.toLowerCase() === idOrName.toLowerCase());
  }

  /** Adds a channel; a webhook without a secret gets a new one. Returns the channel (secret included: show it once). */
  async add(input: unknown, nowMs: number): Promise<Channel> {
    const parsed = ChannelInputSchema.safeParse(input);
    if (!parsed.success) {
      const i = parsed.error.issues[0]!;
      throw new ChannelError(`invalid channel: ${i.path.join('.') || '(channel)'}: ${i.message}`);
    }
    const c: ChannelInput = parsed.data;
    if (c.config.type === 'webhook' && !c.config.secret) c.config = { ...c.config, secret: newWebhookSecret() };
    let tenantId: string | null = null;
    if (c.tenant !== undefined) {
      const t = await this.storage.tenants.tenantByName(c.tenant);
      if (!t) throw new ChannelError(`no tenant named "${c.tenant}"`);
      tenantId = t.id;
    }
    if (await this.storage.notify.channel(c.name)) throw new ChannelError(`a channel named "${c.name}" exists already`);
    const id = newId('chn_', 9);
    await this.storage.notify.insertChannel({ id, name: c.name, tenant_id: tenantId, type: c.config.type, min_severity: c.minSeverity, events: JSON.stringify(c.events), config_json: JSON.stringify(c.config), created_at: nowMs });
    this.channels = null;
    return (await this.get(id))!;
  }

  async remove(idOrName: string): Promise<boolean> {
    const c = await this.get(idOrName);
    if (!c) return false;
    await this.storage.notify.deleteChannel(c.id);
    this.channels = null;
    return true;
  }

  /** Queues a test event for one channel; the worker delivers it like any other. */
  async queueTest(idOrName: string, nowMs: number): Promise<string | undefined> {
    const c = await this.get(idOrName);
    if (!c) return undefined;
    const id = newId('msg_');
    const ev = testEvent(c.name, nowMs);
    await this.storage.notify.enqueue(id, c.id, `test:${id}`, ev.type, JSON.stringify(ev), nowMs, nowMs);
    return id;
  }

  // ---- ingest hooks (called inside ingest transactions, with its stores) ------------------

  /** Alerts just stored (not duplicates) from one device. */
  async onAlerts(tx: Stores, deviceId: string, stored: readonly Alert[], nowMs: number): Promise<void> {
    if (stored.length === 0 || (await this.list(tx)).length === 0) return;
    const d = await tx.notify.deviceForEvents(deviceId);
    if (!d) return;
    const ev = alertEvent({ id: d.tenant_id, name: d.tenant_name }, this.deviceRef(deviceId, d.hostname), stored, nowMs);
    if (ev) await this.enqueue(tx, ev, nowMs);
  }

  /**
   * Call before a heartbeat is written; call the returned function with the write's outcome.
   * Undefined (nothing to do) when no channel is configured.
   */
  async watchHeartbeat(tx: Stores, deviceId: string): Promise<((hb: Heartbeat, outcome: 'current' | 'older', nowMs: number) => Promise<void>) | undefined> {
    if ((await this.list(tx)).length === 0) return undefined;
    const before = await tx.notify.deviceForEvents(deviceId);
    if (!before) return undefined;
    return async (hb, outcome, nowMs) => {
      await tx.notify.clearSilent(deviceId);
      if (outcome !== 'current') return;
      const tenant = { id: before.tenant_id, name: before.tenant_name };
      const ev = verdictEvent(tenant, this.deviceRef(deviceId, hb.host.hostname), before.status as Status, hb.status, hb.verdict?.summary ?? null, nowMs);
      if (ev) await this.enqueue(tx, ev, nowMs);
      // A backend pack this device newly fails to load: one event per state change, not one
      // per heartbeat (the device reports the problem until the listing changes).
      for (const p of newPackProblems(before.heartbeat_json, hb)) {
        await this.packEvent(tx, 'pack.failing', tenant, { id: p.id, version: p.version }, [{ id: deviceId, hostname: hb.host.hostname }], p.problem, nowMs);
      }
    };
  }

  /** Any accepted request from the device ends its silence (a later silence notifies again). */
  async seen(tx: Stores, deviceId: string): Promise<void> {
    if ((await this.list(tx)).length === 0) return;
    await tx.notify.clearSilent(deviceId);
  }

  /**
   * Hook for pack distribution: a pack withdrawn, or failing to load on these devices. One
   * call per state change (the caller decides what changed), in the caller's transaction.
   */
  async packEvent(tx: Stores, type: 'pack.withdrawn' | 'pack.failing', tenant: TenantRefLite, pack: { id: string; version: number | null }, devices: Array<{ id: string; hostname: string }>, reason: string, nowMs: number): Promise<void> {
    if ((await this.list(tx)).length === 0) return;
    await this.enqueue(
      tx,
      { type, timestamp: new Date(nowMs).toISOString(), data: { type, tenant, severity: 'attention', pack, devices: devices.map((d) => this.deviceRef(d.id, d.hostname)), reason } },
      nowMs,
    );
  }

  /**
   * Devices silent for more than N intervals after having been seen: one event each, once
   * (also with several server processes: only the one whose mark changed the row queues it).
   * Returns how many.
   */
  async silentScan(nowMs: number, limit = 500): Promise<number> {
    if ((await this.list()).length === 0) return 0;
    return this.storage.transaction(async (tx) => {
      const rows = await tx.notify.silentCandidates(nowMs, this.silentAfterIntervals, limit);
      let n = 0;
      for (const r of rows) {
        if (!(await tx.notify.markSilent(r.id, nowMs))) continue;
        await this.enqueue(tx, silentEvent({ id: r.tenant_id, name: r.tenant_name }, this.deviceRef(r.id, r.hostname), r.last_seen_at, r.heartbeat_interval_sec, nowMs), nowMs);
        n++;
      }
      return n;
    });
  }

  /**
   * Daily digests: for each channel that asked for them, one per tenant in its scope per UTC
   * day, from the digest hour on (the last 24 hours of alerts, devices by status, silent ones).
   */
  async digestScan(nowMs: number): Promise<number> {
    const channels = (await this.list()).filter((c) => c.events.includes('digest'));
    if (channels.length === 0) return 0;
    const tenants = await this.storage.tenants.listTenants();
    return this.storage.transaction(async (tx) => {
      let n = 0;
      for (const c of channels) {
        for (const t of tenants) {
          if (c.tenantId !== null && c.tenantId !== t.id) continue;
          const day = digestDue(await tx.notify.digestDay(c.id, t.id), nowMs);
          if (!day) continue;
          // Marked first: a second process that reaches the same digest changes nothing and sends nothing.
          if (!(await tx.notify.markDigest(c.id, t.id, day))) continue;
          const ev = digestEvent({ id: t.id, name: t.name }, day, await tx.notify.tenantSummary(t.id, nowMs - 86_400_000), nowMs);
          await tx.notify.enqueue(newId('msg_'), c.id, orderKey(ev), ev.type, JSON.stringify(ev), nowMs, nowMs);
          n++;
        }
      }
      return n;
    });
  }

  private deviceRef(id: string, hostname: string): DeviceRef {
    return { id, hostname, url: `${this.opts.publicUrl().replace(/\/+$/, '')}/#${id}` };
  }

  /** One queue row per channel that wants the event; an alert joins the open burst of its device. */
  private async enqueue(tx: Stores, ev: NotifyEvent, nowMs: number): Promise<void> {
    const key = orderKey(ev);
    for (const c of await this.list(tx)) {
      if (!channelWants(c, ev)) continue;
      if (ev.type === 'alert') {
        const open = await tx.notify.openAlertRow(c.id, key, nowMs - this.burstWindowMs);
        if (open) {
          const merged = mergeAlertEvent(JSON.parse(open.event_json) as NotifyEvent, ev);
          if (merged && (await tx.notify.updateUntried(open.seq, JSON.stringify(merged)))) continue;
        }
      }
      const due = ev.type === 'alert' ? nowMs + this.burstWindowMs : nowMs;
      await tx.notify.enqueue(newId('msg_'), c.id, key, ev.type, JSON.stringify(ev), nowMs, due);
    }
  }
}

/** Pack problems in this heartbeat that the previous stored heartbeat did not report (same pack id and version). */
export function newPackProblems(previousHeartbeatJson: string | null, hb: Heartbeat): Array<{ id: string; version: number; problem: string }> {
  const now = hb.packProblems ?? [];
  if (now.length === 0) return [];
  let before: Array<{ id?: unknown; version?: unknown }> = [];
  try {
    const prev = previousHeartbeatJson === null ? null : (JSON.parse(previousHeartbeatJson) as { packProblems?: unknown });
    if (prev && Array.isArray(prev.packProblems)) before = prev.packProblems as typeof before;
  } catch {
    // A stored heartbeat that does not parse tells nothing: every problem is new.
  }
  const seen = new Set(before.map((p) => `${String(p.id)}@${String(p.version)}`));
  return now.filter((p) => !seen.has(`${p.id}@${p.version}`));
}
