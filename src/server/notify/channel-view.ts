/** A channel as the admin API, the CLI and the fleet page show it: no secret, URL redacted, delivery state. */
import type { ChannelStatsRow } from '../database/notify-store.js';
import { channelTarget, type Channel } from './channel-config.js';

export interface ChannelView {
  id: string;
  name: string;
  type: Channel['config']['type'];
  tenant: string | null;
  target: string;
  minSeverity: Channel['minSeverity'];
  events: Channel['events'];
  createdAt: string;
  pending: number;
  delivered: number;
  failed: number;
  lastDeliveredAt: string | null;
  lastAttemptAt: string | null;
  lastError: string | null;
}

const iso = (ms: number | null | undefined) => (ms === null || ms === undefined ? null : new Date(ms).toISOString());

export function channelViews(channels: readonly Channel[], stats: readonly ChannelStatsRow[]): ChannelView[] {
  const byId = new Map(stats.map((s) => [s.channel_id, s]));
  return channels.map((c) => {
    const s = byId.get(c.id);
    return {
      id: c.id,
      name: c.name,
      type: c.config.type,
      tenant: c.tenantName,
      target: channelTarget(c.config),
      minSeverity: c.minSeverity,
      events: c.events,
      createdAt: new Date(c.createdAt).toISOString(),
      pending: s?.pending ?? 0,
      delivered: s?.delivered ?? 0,
      failed: s?.failed ?? 0,
      lastDeliveredAt: iso(s?.last_delivered_at),
      lastAttemptAt: iso(s?.last_attempt_at),
      lastError: s?.last_error ?? null,
    };
  });
}
