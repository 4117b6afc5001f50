/**
 * Delivers the queue, apart from ingest: ingest only inserts rows; this worker, on its own
 * timer, sends the oldest undelivered event of each (channel, device) line with a deadline,
 * then marks it delivered, or schedules a retry with exponential backoff and jitter, or
 * after `maxAttempts` marks it failed (shown on the fleet page and `notify list`). A row
 * is marked only after its send settles, so a server killed mid-delivery sends it again on
 * restart with the same delivery id (at least once; receivers drop repeats by id).
 *
 * With several server processes on one database, each worker claims the rows it sends
 * (NotifyStore.claim: a lease of twice the send timeout plus a margin, taken in one
 * transaction that skips rows another process holds), so a row is sent by one process; a
 * process killed mid-send leaves a lease that lapses, and another process sends the row.
 *
 * A hanging receiver holds at most `perChannel` sends of its own channel until the timeout;
 * other channels and ingest go on.
 */
import { z } from 'zod';
import type { Logger } from '../../core/logging/logger.js';
import { randomBytes } from 'node:crypto';
import type { OutboxRow } from '../database/notify-store.js';
import type { Storage } from '../database/storage.js';
import type { Channel } from './channel-config.js';
import type { NotifyEvent } from './events.js';
import type { Notifier } from './notifier.js';
import type { Sender } from './senders/sender.js';

export const DeliveryPolicySchema = z.object({
  timeoutMs: z.number().int().min(100).max(120_000).default(10_000),
  baseDelayMs: z.number().int().min(10).max(3_600_000).default(5_000),
  maxDelayMs: z.number().int().min(10).max(86_400_000).default(3_600_000),
  /** 12 attempts at the defaults span about 5 hours. */
  maxAttempts: z.number().int().min(1).max(1000).default(12),
  concurrency: z.number().int().min(1).max(100).default(8),
  perChannel: z.number().int().min(1).max(100).default(2),
  pollMs: z.number().int().min(10).max(60_000).default(1_000),
  silentScanMs: z.number().int().min(100).max(3_600_000).default(30_000),
  /** Delivered and failed rows are kept this long for the fleet page and `notify list`. */
  keepDoneMs: z.number().int().min(0).default(30 * 86_400_000),
});
export type DeliveryPolicy = z.infer<typeof DeliveryPolicySchema>;

/** Exponential backoff with "full jitter" on the upper half: a herd of retries spreads out. */
export function retryDelayMs(attempts: number, p: Pick<DeliveryPolicy, 'baseDelayMs' | 'maxDelayMs'>, random: () => number = Math.random): number {
  const ceiling = Math.min(p.maxDelayMs, p.baseDelayMs * 2 ** Math.min(attempts - 1, 30));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

export interface DeliveryWorkerDeps {
  storage: Storage;
  notifier: Notifier;
  senderFor: (c: Channel) => Sender;
  log: Logger;
  now: () => number;
  policy: DeliveryPolicy;
}

export class DeliveryWorker {
  private readonly inflight = new Map<number, string>();
  private timer: NodeJS.Timeout | null = null;
  private stopped = true;
  private lastSilentScan = 0;
  private readonly settles = new Set<Promise<void>>();
  /** Names this worker's claims (random per process start). */
  private readonly owner = `w_${process.pid}_${randomBytes(6).toString('hex')}`;

  constructor(private readonly d: DeliveryWorkerDeps) {}

  start(): void {
    this.stopped = false;
    this.schedule(0);
  }

  /** Stops taking work; waits up to `graceMs` for sends in flight (an unsettled one stays pending and is sent again). */
  async stop(graceMs = 2_000): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    let t: NodeJS.Timeout | undefined;
    await Promise.race([Promise.allSettled([...this.settles]), new Promise<void>((r) => (t = setTimeout(r, graceMs)))]);
    clearTimeout(t);
  }

  /** Runs one pass now (tests and the "send test" action use it to avoid waiting for the poll). */
  kick(): void {
    if (!this.stopped) this.schedule(0);
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => this.pass(), ms);
    this.timer.unref();
  }

  private pass(): void {
    this.timer = null;
    if (this.stopped) return;
    const run = this.passAsync();
    this.settles.add(run);
    void run.finally(() => this.settles.delete(run));
  }

  /** How long a claim holds: longer than a send may take, so a live process never loses its row. */
  private leaseMs(): number {
    return 2 * this.d.policy.timeoutMs + 2_000;
  }

  private async passAsync(): Promise<void> {
    const now = this.d.now();
    const p = this.d.policy;
    try {
      await this.d.notifier.refreshIfChangedElsewhere();
      if (now - this.lastSilentScan >= p.silentScanMs) {
        this.lastSilentScan = now;
        const n = await this.d.notifier.silentScan(now);
        if (n) this.d.log.info('devices gone silent', { count: n });
        await this.d.notifier.digestScan(now);
        await this.d.storage.notify.purgeDone(now - p.keepDoneMs);
      }
      if (this.stopped) return;
      const free = p.concurrency - this.inflight.size;
      if (free > 0) {
        const channels = await this.d.notifier.list();
        const perChannel = new Map<string, number>();
        for (const ch of this.inflight.values()) perChannel.set(ch, (perChannel.get(ch) ?? 0) + 1);
        // Picked and claimed in one transaction; rows of a channel at its limit stay unclaimed for others.
        const claimed = await this.d.storage.transaction(async (tx) => {
          const taken: Array<{ row: OutboxRow; channel: Channel }> = [];
          for (const row of await tx.notify.claimable(now, free + 50)) {
            if (this.inflight.size + taken.length >= p.concurrency) break;
            if (this.inflight.has(row.seq)) continue;
            const channel = channels.find((c) => c.id === row.channel_id);
            if (!channel) continue; // removed meanwhile (its rows go with it)
            const used = perChannel.get(row.channel_id) ?? 0;
            if (used >= p.perChannel) continue;
            if (!(await tx.notify.claim(row.seq, this.owner, now, now + this.leaseMs()))) continue;
            perChannel.set(row.channel_id, used + 1);
            taken.push({ row, channel });
          }
          return taken;
        });
        for (const { row, channel } of claimed) this.deliver(row, channel);
      }
    } catch (err) {
      if (!this.stopped) this.d.log.error('notification pass failed', { error: err });
    }
    if (this.stopped) return;
    let next: number | null = null;
    try {
      next = await this.d.storage.notify.nextDueAt();
    } catch (err) {
      if (!this.stopped) this.d.log.error('notification pass failed', { error: err });
    }
    const wait = next === null ? p.pollMs : Math.max(0, Math.min(p.pollMs, next - this.d.now()));
    this.schedule(wait);
  }

  private deliver(row: OutboxRow, channel: Channel): void {
    this.inflight.set(row.seq, row.channel_id);
    const p = this.d.policy;
    const run = (async () => {
      let error: string | null = null;
      try {
        const ev = JSON.parse(row.event_json) as NotifyEvent;
        await this.d.senderFor(channel).send(ev, row.delivery_id, p.timeoutMs);
      } catch (err) {
        error = err instanceof Error ? err.message.slice(0, 300) : String(err).slice(0, 300);
      }
      const now = this.d.now();
      const store = this.d.storage.notify;
      try {
        if (error === null) {
          await store.markDelivered(row.seq, now);
          this.d.log.debug('notification delivered', { channel: channel.name, deliveryId: row.delivery_id, event: row.event_type });
        } else if (row.attempts + 1 >= p.maxAttempts) {
          await store.markFailed(row.seq, now, error);
          this.d.log.error('notification failed for good', { channel: channel.name, deliveryId: row.delivery_id, event: row.event_type, attempts: row.attempts + 1, error });
        } else {
          await store.markRetry(row.seq, now, now + retryDelayMs(row.attempts + 1, p), error);
          this.d.log.warn('notification will be retried', { channel: channel.name, deliveryId: row.delivery_id, attempts: row.attempts + 1, error });
        }
      } catch (err) {
        // The database closed under us (shutdown): the row stays pending and is sent again once its claim lapses.
        this.d.log.error('notification state not saved', { deliveryId: row.delivery_id, error: err });
      }
    })();
    this.settles.add(run);
    void run.finally(() => {
      this.settles.delete(run);
      this.inflight.delete(row.seq);
      this.kick();
    });
  }
}
