/**
 * The durable outbox: what the agent still has to tell the partner backend.
 *
 * - Alerts are kept until the server confirms them (stored or duplicate), across crashes,
 *   reboots and days offline. Each has an id the server de-duplicates on, so resending
 *   after a crash between "server stored" and "agent noted it" is harmless.
 * - Below the hard cap (`maxAlerts`, default 10,000) an alert is never dropped. At the cap
 *   the newest alert is not stored (the first evidence of a compromise is kept), and the
 *   number dropped is counted, persisted and reported in every heartbeat.
 * - Heartbeats are latest-wins: a pending heartbeat is replaced by a newer one, so a week
 *   offline leaves one heartbeat to send, not ten thousand. Each queued heartbeat gets the
 *   next sequence number (`seq`), persisted here, by which the server orders them instead of
 *   trusting the PC's clock (docs/PROTOCOL.md, "Ordering").
 * - Ids delivered recently are remembered, so an alert raised again for the same thing
 *   (the next hourly scan finding the same compromised file) is not queued again.
 *
 * Every change is a record appended to the journal (outbox-journal.ts) before the call
 * resolves. When the disk refuses a write (full, permission), the outbox keeps working in
 * memory, reports `durable: false` and the error, and repairs the journal with a full
 * rewrite on the next write that succeeds.
 */
import { mkdir } from 'node:fs/promises';
import * as path from 'node:path';
import { z } from 'zod';
import { AlertSchema, HeartbeatSchema, type Alert } from '../../shared/protocol.js';
import { OutboxJournal, type JournalDamage } from './outbox-journal.js';

/** A heartbeat as queued: the device id and outbox summary are filled in when it is sent. */
export const HeartbeatDraftSchema = HeartbeatSchema.omit({ deviceId: true, outbox: true });
export type HeartbeatDraft = z.infer<typeof HeartbeatDraftSchema>;

const Counters = z.object({
  dropped: z.number().int().nonnegative(),
  rejected: z.number().int().nonnegative(),
  /** The last heartbeat sequence number used (absent in journals written before it existed). */
  heartbeatSeq: z.number().int().nonnegative().optional(),
});

const OutboxRecordSchema = z.discriminatedUnion('t', [
  z.object({ t: z.literal('alert'), alert: AlertSchema }),
  z.object({ t: z.literal('delivered'), ids: z.array(z.string()) }),
  z.object({ t: z.literal('rejected'), ids: z.array(z.string()) }),
  z.object({ t: z.literal('hb'), heartbeat: HeartbeatDraftSchema }),
  z.object({ t: z.literal('hb-delivered'), sentAt: z.string() }),
  z.object({ t: z.literal('counters'), counters: Counters }),
]);
type OutboxRecord = z.infer<typeof OutboxRecordSchema>;

export const JOURNAL_FILE = 'outbox.journal';

export interface OutboxOptions {
  /** The agent's state directory; the journal is `<dir>/outbox.journal`. */
  dir: string;
  /** Hard cap on pending alerts. */
  maxAlerts?: number;
  /** How many delivered alert ids to remember, to avoid queueing them again. */
  rememberDelivered?: number;
  /** The journal is compacted once it is larger than this and mostly dead records. */
  compactMinBytes?: number;
}

export type EnqueueOutcome = 'queued' | 'duplicate' | 'overflow';

export interface OutboxStats {
  pendingAlerts: number;
  oldestPendingAt: string | null;
  droppedAlerts: number;
  rejectedAlerts: number;
  heartbeatPending: boolean;
  /** Heartbeats replaced by a newer one before they could be sent, since the outbox opened. */
  collapsedHeartbeats: number;
  journalBytes: number;
  /** False when the last write to disk failed: pending items are then only in memory. */
  durable: boolean;
  lastError?: string;
  /** Damage found and dropped when the journal was opened (a torn write after a crash). */
  recoveredDamage?: JournalDamage;
  /** Records that were whole but not understood (written by another version) and skipped. */
  skippedRecords: number;
}

interface QueuedWrite {
  payloads: Buffer[];
  resolve: (durable: boolean) => void;
}

function describeFsError(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  return e.code ? `${e.code}: ${e.syscall ?? 'write'} failed` : e instanceof Error ? e.message : String(err);
}

const encode = (r: OutboxRecord): Buffer => Buffer.from(JSON.stringify(r), 'utf8');

export class Outbox {
  private readonly pending = new Map<string, { alert: Alert; bytes: number }>();
  /** Pending alerts whose journal write has not finished: not yet counted as queued. */
  private readonly unwritten = new Set<string>();
  private readonly delivered = new Set<string>();
  private heartbeatDraft: HeartbeatDraft | undefined;
  private heartbeatBytes = 0;
  private counters = { dropped: 0, rejected: 0 };
  private heartbeatSeq = 0;
  private collapsed = 0;
  private skipped = 0;
  private lastError: string | undefined;
  private needsRewrite = false;
  private writeQueue: QueuedWrite[] = [];
  private writing: Promise<void> | undefined;
  private readonly maxAlerts: number;
  private readonly rememberDelivered: number;
  private readonly compactMinBytes: number;

  private constructor(
    private journal: OutboxJournal | undefined,
    opts: OutboxOptions,
    private readonly damage: JournalDamage | undefined,
  ) {
    this.maxAlerts = opts.maxAlerts ?? 10_000;
    this.rememberDelivered = opts.rememberDelivered ?? 10_000;
    this.compactMinBytes = opts.compactMinBytes ?? 1024 * 1024;
  }

  /**
   * Opens (or creates) the outbox in `dir`. Never throws for the file system: when the
   * journal cannot be opened the outbox runs in memory and says so in `stats()`.
   */
  static async open(opts: OutboxOptions): Promise<Outbox> {
    const file = path.join(opts.dir, JOURNAL_FILE);
    try {
      await mkdir(opts.dir, { recursive: true, mode: 0o700 });
      const opened = await OutboxJournal.open(file);
      const box = new Outbox(opened.journal, opts, opened.damage);
      for (const p of opened.payloads) box.replay(p);
      return box;
    } catch (err) {
      // Do not touch a journal we could not read: its records are not in memory, and a
      // rewrite would lose them. Run in memory until the next start.
      const box = new Outbox(undefined, opts, undefined);
      box.lastError = `cannot open the outbox journal (${describeFsError(err)}); alerts are kept in memory only`;
      return box;
    }
  }

  private replay(payload: Buffer): void {
    let parsed: unknown;
    try {
      parsed = JSON.parse(payload.toString('utf8'));
    } catch {
      this.skipped++;
      return;
    }
    const r = OutboxRecordSchema.safeParse(parsed);
    if (!r.success) {
      this.skipped++;
      return;
    }
    this.apply(r.data, payload.length);
  }

  /** Applies a record to memory. Replaying the same record twice leaves the same state. */
  private apply(rec: OutboxRecord, bytes: number): void {
    switch (rec.t) {
      case 'alert':
        if (!this.delivered.has(rec.alert.alertId)) this.pending.set(rec.alert.alertId, { alert: rec.alert, bytes });
        break;
      case 'delivered':
      case 'rejected':
        for (const id of rec.ids) {
          this.pending.delete(id);
          this.remember(id);
        }
        break;
      case 'hb':
        this.heartbeatSeq = Math.max(this.heartbeatSeq, rec.heartbeat.seq ?? 0);
        this.heartbeatDraft = rec.heartbeat;
        this.heartbeatBytes = bytes;
        break;
      case 'hb-delivered':
        if (this.heartbeatDraft?.sentAt === rec.sentAt) {
          this.heartbeatDraft = undefined;
          this.heartbeatBytes = 0;
        }
        break;
      case 'counters':
        this.counters = { dropped: Math.max(this.counters.dropped, rec.counters.dropped), rejected: Math.max(this.counters.rejected, rec.counters.rejected) };
        this.heartbeatSeq = Math.max(this.heartbeatSeq, rec.counters.heartbeatSeq ?? 0);
        break;
    }
  }

  private remember(id: string): void {
    this.delivered.delete(id);
    this.delivered.add(id);
    if (this.delivered.size > this.rememberDelivered) {
      const oldest = this.delivered.values().next().value;
      if (oldest !== undefined) this.delivered.delete(oldest);
    }
  }

  /** Queues an alert and resolves once it is on disk (or the disk refused: see stats()). */
  async enqueueAlert(alert: Alert): Promise<EnqueueOutcome> {
    if (this.pending.has(alert.alertId) || this.delivered.has(alert.alertId)) return 'duplicate';
    if (this.pending.size >= this.maxAlerts) {
      this.counters.dropped++;
      await this.persist([{ t: 'counters', counters: { ...this.counters } }]);
      return 'overflow';
    }
    const rec: OutboxRecord = { t: 'alert', alert };
    const payload = encode(rec);
    this.pending.set(alert.alertId, { alert, bytes: payload.length });
    // Counted in stats() only once its write has finished (durable, or kept in memory after
    // the disk refused it): the agent never reports an alert as queued that a kill could still lose.
    this.unwritten.add(alert.alertId);
    try {
      await this.persistPayloads([payload]);
    } finally {
      this.unwritten.delete(alert.alertId);
    }
    return 'queued';
  }

  /** Replaces any pending heartbeat with this newer one, numbered with the next `seq`. */
  async setHeartbeat(draft: HeartbeatDraft): Promise<void> {
    this.heartbeatSeq = Math.min(this.heartbeatSeq + 1, Number.MAX_SAFE_INTEGER);
    const numbered: HeartbeatDraft = { ...draft, seq: this.heartbeatSeq };
    const rec: OutboxRecord = { t: 'hb', heartbeat: numbered };
    const payload = encode(rec);
    if (this.heartbeatDraft) this.collapsed++;
    this.heartbeatDraft = numbered;
    this.heartbeatBytes = payload.length;
    await this.persistPayloads([payload]);
  }

  /** The oldest pending alerts, in the order they were raised. */
  nextAlerts(limit: number): Alert[] {
    const out: Alert[] = [];
    for (const { alert } of this.pending.values()) {
      if (out.length >= limit) break;
      out.push(alert);
    }
    return out;
  }

  pendingHeartbeat(): HeartbeatDraft | undefined {
    return this.heartbeatDraft;
  }

  /** The last heartbeat sequence number used. */
  lastHeartbeatSeq(): number {
    return this.heartbeatSeq;
  }

  /**
   * The server shows a heartbeat numbered `seq` (its answer to a heartbeat): continue above
   * it. This is how an agent whose journal was lost, while it kept its credential, gets
   * its heartbeats shown again after one round trip instead of being "older" for ever.
   */
  async adoptServerSeq(seq: number): Promise<void> {
    if (seq <= this.heartbeatSeq) return;
    this.heartbeatSeq = Math.min(seq, Number.MAX_SAFE_INTEGER);
    await this.persist([{ t: 'counters', counters: { ...this.counters, heartbeatSeq: this.heartbeatSeq } }]);
  }

  /** The server confirmed these alerts (stored now or before). */
  async markDelivered(ids: readonly string[]): Promise<void> {
    const known = ids.filter((id) => this.pending.has(id));
    if (known.length === 0) return;
    for (const id of known) {
      this.pending.delete(id);
      this.remember(id);
    }
    await this.persist([{ t: 'delivered', ids: known }]);
  }

  /** The server refused these alerts as invalid; they are counted and not retried. */
  async markRejected(ids: readonly string[]): Promise<void> {
    const known = ids.filter((id) => this.pending.has(id));
    if (known.length === 0) return;
    for (const id of known) {
      this.pending.delete(id);
      this.remember(id);
    }
    this.counters.rejected += known.length;
    await this.persist([
      { t: 'rejected', ids: known },
      { t: 'counters', counters: { ...this.counters } },
    ]);
  }

  /** The heartbeat built at `sentAt` was delivered; a newer one queued meanwhile stays. */
  async heartbeatDelivered(sentAt: string): Promise<void> {
    if (this.heartbeatDraft?.sentAt !== sentAt) return;
    this.heartbeatDraft = undefined;
    this.heartbeatBytes = 0;
    await this.persist([{ t: 'hb-delivered', sentAt }]);
  }

  stats(): OutboxStats {
    const first = this.pending.values().next().value;
    const s: OutboxStats = {
      pendingAlerts: this.pending.size - [...this.unwritten].filter((id) => this.pending.has(id)).length,
      oldestPendingAt: first ? first.alert.raisedAt : null,
      droppedAlerts: this.counters.dropped,
      rejectedAlerts: this.counters.rejected,
      heartbeatPending: this.heartbeatDraft !== undefined,
      collapsedHeartbeats: this.collapsed,
      journalBytes: this.journal?.sizeBytes ?? 0,
      durable: this.journal !== undefined && this.lastError === undefined,
      skippedRecords: this.skipped,
    };
    if (this.lastError !== undefined) s.lastError = this.lastError;
    if (this.damage) s.recoveredDamage = this.damage;
    return s;
  }

  /** Waits for queued writes, then closes the journal. */
  async close(): Promise<void> {
    while (this.writing) await this.writing;
    await this.journal?.close();
  }

  // --- persistence -------------------------------------------------------------------

  private persist(records: OutboxRecord[]): Promise<boolean> {
    return this.persistPayloads(records.map(encode));
  }

  /**
   * Group commit: writes queued while one is in flight go to disk together in one
   * write + fdatasync. Resolves true when the records are durable.
   */
  private persistPayloads(payloads: Buffer[]): Promise<boolean> {
    if (!this.journal) return Promise.resolve(false);
    return new Promise<boolean>((resolve) => {
      this.writeQueue.push({ payloads, resolve });
      if (!this.writing) this.writing = this.drain().finally(() => (this.writing = undefined));
    });
  }

  private async drain(): Promise<void> {
    const journal = this.journal;
    if (!journal) return;
    while (this.writeQueue.length > 0) {
      const batch = this.writeQueue.splice(0);
      let durable = true;
      try {
        if (this.needsRewrite || this.shouldCompact(journal)) {
          // The snapshot is taken from memory, which already includes every queued change.
          await journal.rewrite(this.snapshot());
          this.needsRewrite = false;
        } else {
          await journal.append(batch.flatMap((w) => w.payloads));
        }
        this.lastError = undefined;
      } catch (err) {
        durable = false;
        this.needsRewrite = true;
        this.lastError = `cannot write the outbox journal (${describeFsError(err)}); pending alerts are kept in memory and written when the disk accepts them`;
      }
      for (const w of batch) w.resolve(durable);
    }
  }

  private liveBytesEstimate(): number {
    let n = this.heartbeatBytes + 64 + this.delivered.size * 36;
    for (const p of this.pending.values()) n += p.bytes + 12;
    return n;
  }

  private shouldCompact(journal: OutboxJournal): boolean {
    return journal.sizeBytes > this.compactMinBytes && journal.sizeBytes > 3 * this.liveBytesEstimate();
  }

  private snapshot(): Buffer[] {
    const out: Buffer[] = [encode({ t: 'counters', counters: { ...this.counters, heartbeatSeq: this.heartbeatSeq } })];
    if (this.delivered.size) out.push(encode({ t: 'delivered', ids: [...this.delivered] }));
    for (const { alert } of this.pending.values()) out.push(encode({ t: 'alert', alert }));
    if (this.heartbeatDraft) out.push(encode({ t: 'hb', heartbeat: this.heartbeatDraft }));
    return out;
  }
}
