/**
 * Turns what ingest stores into queued notification events, in ingest's own transaction,
 * and manages channels. Channels are cached in memory (reloaded on add/remove), so a
 * server with no channel configured pays nothing per request.
 *
 * Hooks for ingest: `onAlerts`, `watchHeartbeat` (before the heartbeat is written) and
 * `seen` (any accepted request ends a silence). `silentScan` runs from the delivery worker's
 * timer. `packEvent`: `pack.failing` when a heartbeat newly reports a backend pack it could
 * not load (its `packProblems`), `pack.withdrawn` from withdrawPack (pack-publishing.ts).
 */
import { randomBytes } from 'node:crypto';
import type { Alert, Heartbeat } from '../../shared/protocol.js';
import type { Status } from '../../shared/scan.js';
import type { NotifyStore } from '../database/notify-store.js';
import type { TenantStore } from '../database/tenant-store.js';
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
    private readonly store: NotifyStore,
    private readonly tenants: TenantStore,
    private readonly opts: NotifierOptions,
  ) {
    this.burstWindowMs = opts.burstWindowMs ?? DEFAULT_BURST_WINDOW_MS;
    this.silentAfterIntervals = opts.silentAfterIntervals ?? DEFAULT_SILENT_AFTER_INTERVALS;
  }

  // ---- channels ---------------------------------------------------------------------

  list(): Channel[] {
    if (!this.channels) this.channels = this.store.listChannels().flatMap((r) => {
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

  private seenVersion = -1;

  /** Reloads channels when another process (`vigil server notify add|remove`) changed the database. */
  refreshIfChangedElsewhere(): void {
    const v = this.store.dataVersion();
    if (v !== this.seenVersion) {
      this.seenVersion = v;
      this.channels = null;
    }
  }

  get(idOrName: string): Channel | undefined {
    return this.list().find((c) => c.id === idOrName || c.name.toLowerCase() === idOrName.toLowerCase());
  }

  /** Adds a channel; a webhook without a secret gets a new one. Returns the channel (secret included: show it once). */
  add(input: unknown, nowMs: number): Channel {
    const parsed = ChannelInputSchema.safeParse(input);
    if (!parsed.success) {
      const i = parsed.error.issues[0]!;
      throw new ChannelError(`invalid channel: ${i.path.join('.') || '(channel)'}: ${i.message}`);
    }
    const c: ChannelInput = parsed.data;
    if (c.config.type === 'webhook' && !c.config.secret) c.config = { ...c.config, secret: newWebhookSecret() };
    let tenantId: string | null = null;
    if (c.tenant !== undefined) {
      const t = this.tenants.tenantByName(c.tenant);
      if (!t) throw new ChannelError(`no tenant named "${c.tenant}"`);
      tenantId = t.id;
    }
    if (this.store.channel(c.name)) throw new ChannelError(`a channel named "${c.name}" exists already`);
    const id = newId('chn_', 9);
    this.store.insertChannel({ id, name: c.name, tenant_id: tenantId, type: c.config.type, min_severity: c.minSeverity, events: JSON.stringify(c.events), config_json: JSON.stringify(c.config), created_at: nowMs });
    this.channels = null;
    return this.get(id)!;
  }

  remove(idOrName: string): boolean {
    const c = this.get(idOrName);
    if (!c) return false;
    this.store.deleteChannel(c.id);
    this.channels = null;
    return true;
  }

  /** Queues a test event for one channel; the worker delivers it like any other. */
  queueTest(idOrName: string, nowMs: number): string | undefined {
    const c = this.get(idOrName);
    if (!c) return undefined;
    const id = newId('msg_');
    const ev = testEvent(c.name, nowMs);
    this.store.enqueue(id, c.id, `test:${id}`, ev.type, JSON.stringify(ev), nowMs, nowMs);
    return id;
  }

  // ---- ingest hooks (called inside ingest transactions) -------------------------------

  /** Alerts just stored (not duplicates) from one device. */
  onAlerts(deviceId: string, stored: readonly Alert[], nowMs: number): void {
    if (stored.length === 0 || this.list().length === 0) return;
    const d = this.store.deviceForEvents(deviceId);
    if (!d) return;
    const ev = alertEvent({ id: d.tenant_id, name: d.tenant_name }, this.deviceRef(deviceId, d.hostname), stored, nowMs);
    if (ev) this.enqueue(ev, nowMs);
  }

  /**
   * Call before a heartbeat is written; call the returned function with the write's outcome.
   * Undefined (nothing to do) when no channel is configured.
   */
  watchHeartbeat(deviceId: string): ((hb: Heartbeat, outcome: 'current' | 'older', nowMs: number) => void) | undefined {
    if (this.list().length === 0) return undefined;
    const before = this.store.deviceForEvents(deviceId);
    if (!before) return undefined;
    return (hb, outcome, nowMs) => {
      this.store.clearSilent(deviceId);
      if (outcome !== 'current') return;
      const tenant = { id: before.tenant_id, name: before.tenant_name };
      const ev = verdictEvent(tenant, this.deviceRef(deviceId, hb.host.hostname), before.status as Status, hb.status, hb.verdict?.summary ?? null, nowMs);
      if (ev) this.enqueue(ev, nowMs);
      // A backend pack this device newly fails to load: one event per state change, not one
      // per heartbeat (the device reports the problem until the listing changes).
      for (const p of newPackProblems(before.heartbeat_json, hb)) {
        this.packEvent('pack.failing', tenant, { id: p.id, version: p.version }, [{ id: deviceId, hostname: hb.host.hostname }], p.problem, nowMs);
      }
    };
  }

  /** Any accepted request from the device ends its silence (a later silence notifies again). */
  seen(deviceId: string): void {
    if (this.list().length === 0) return;
    this.store.clearSilent(deviceId);
  }

  /**
   * Hook for pack distribution: a pack withdrawn, or failing to load on these devices. One
   * call per state change (the caller decides what changed), in the caller's transaction.
   */
  packEvent(type: 'pack.withdrawn' | 'pack.failing', tenant: TenantRefLite, pack: { id: string; version: number | null }, devices: Array<{ id: string; hostname: string }>, reason: string, nowMs: number): void {
    if (this.list().length === 0) return;
    this.enqueue(
      { type, timestamp: new Date(nowMs).toISOString(), data: { type, tenant, severity: 'attention', pack, devices: devices.map((d) => this.deviceRef(d.id, d.hostname)), reason } },
      nowMs,
    );
  }

  /** Devices silent for more than N intervals after having been seen: one event each, once. Returns how many. */
  silentScan(nowMs: number, limit = 500): number {
    if (this.list().length === 0) return 0;
    return this.store.transaction(() => {
      const rows = this.store.silentCandidates(nowMs, this.silentAfterIntervals, limit);
      for (const r of rows) {
        this.store.markSilent(r.id, nowMs);
        this.enqueue(silentEvent({ id: r.tenant_id, name: r.tenant_name }, this.deviceRef(r.id, r.hostname), r.last_seen_at, r.heartbeat_interval_sec, nowMs), nowMs);
      }
      return rows.length;
    });
  }

  /**
   * Daily digests: for each channel that asked for them, one per tenant in its scope per UTC
   * day, from the digest hour on (the last 24 hours of alerts, devices by status, silent ones).
   */
  digestScan(nowMs: number): number {
    const channels = this.list().filter((c) => c.events.includes('digest'));
    if (channels.length === 0) return 0;
    const tenants = this.tenants.listTenants();
    return this.store.transaction(() => {
      let n = 0;
      for (const c of channels) {
        for (const t of tenants) {
          if (c.tenantId !== null && c.tenantId !== t.id) continue;
          const day = digestDue(this.store.digestDay(c.id, t.id), nowMs);
          if (!day) continue;
          const ev = digestEvent({ id: t.id, name: t.name }, day, this.store.tenantSummary(t.id, nowMs - 86_400_000), nowMs);
          this.store.enqueue(newId('msg_'), c.id, orderKey(ev), ev.type, JSON.stringify(ev), nowMs, nowMs);
          this.store.markDigest(c.id, t.id, day);
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
  private enqueue(ev: NotifyEvent, nowMs: number): void {
    const key = orderKey(ev);
    for (const c of this.list()) {
      if (!channelWants(c, ev)) continue;
      if (ev.type === 'alert') {
        const open = this.store.openAlertRow(c.id, key, nowMs - this.burstWindowMs);
        if (open) {
          const merged = mergeAlertEvent(JSON.parse(open.event_json) as NotifyEvent, ev);
          if (merged && this.store.updateUntried(open.seq, JSON.stringify(merged))) continue;
        }
      }
      const due = ev.type === 'alert' ? nowMs + this.burstWindowMs : nowMs;
      this.store.enqueue(newId('msg_'), c.id, key, ev.type, JSON.stringify(ev), nowMs, due);
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
