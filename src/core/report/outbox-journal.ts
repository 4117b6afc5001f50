/**
 * The outbox's file: an append-only journal of framed records (outbox-frame.ts).
 *
 * - append(): one write of all the records given, then fdatasync, so a record the caller
 *   was told is stored survives a crash or power loss.
 * - open(): reads every valid record; a torn last record (crash mid-write) or a damaged one
 *   is dropped and reported, and the file is rewritten clean, never patched in place.
 * - rewrite(): compaction. The live records go to a temporary file that is synced and then
 *   renamed over the journal (atomic on one file system) and the directory is synced, so at
 *   every instant the journal on disk is either the old one or the new one, whole.
 *
 * No native modules: plain fs, so it runs unchanged inside Electron.
 */
import { open, rename, rm, type FileHandle } from 'node:fs/promises';
import * as path from 'node:path';
import { decodeFrames, encodeFrame } from './outbox-frame.js';

export interface JournalDamage {
  /** Bytes that were not valid records and were dropped. */
  droppedBytes: number;
  /** Separate damaged regions found. */
  regions: number;
  tornTail: boolean;
}

export interface OpenedJournal {
  journal: OutboxJournal;
  payloads: Buffer[];
  damage: JournalDamage | undefined;
}

async function syncDirectory(dir: string): Promise<void> {
  // Makes the rename durable on POSIX file systems; Windows cannot open a directory this
  // way (and NTFS journals renames itself), so failure here is not an error.
  let fh: FileHandle | undefined;
  try {
    fh = await open(dir, 'r');
    await fh.sync();
  } catch {
    // best effort
  } finally {
    await fh?.close().catch(() => {});
  }
}

async function readWhole(file: string): Promise<Buffer> {
  let fh: FileHandle;
  try {
    fh = await open(file, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return Buffer.alloc(0);
    throw err;
  }
  try {
    // Read what stat says is there (a device node reports 0 and is not read forever).
    const { size } = await fh.stat();
    const buf = Buffer.alloc(size);
    let off = 0;
    while (off < size) {
      const { bytesRead } = await fh.read(buf, off, size - off, off);
      if (bytesRead === 0) break;
      off += bytesRead;
    }
    return buf.subarray(0, off);
  } finally {
    await fh.close();
  }
}

export class OutboxJournal {
  private closed = false;

  private constructor(
    readonly file: string,
    private fh: FileHandle,
    private bytes: number,
  ) {}

  static async open(file: string): Promise<OpenedJournal> {
    const buf = await readWhole(file);
    const decoded = decodeFrames(buf);
    const droppedBytes = decoded.damaged.reduce((n, [a, b]) => n + (b - a), 0);
    const damage = decoded.damaged.length ? { droppedBytes, regions: decoded.damaged.length, tornTail: decoded.tornTail } : undefined;
    // Copy payloads out of the file buffer: it may be large and the records are kept.
    const payloads = decoded.payloads.map((p) => Buffer.from(p));
    if (damage) await OutboxJournal.writeAtomically(file, payloads.map((p) => encodeFrame(p)));
    const fh = await open(file, 'a', 0o600);
    const size = damage ? (await fh.stat()).size : buf.length;
    return { journal: new OutboxJournal(file, fh, size), payloads, damage };
  }

  get sizeBytes(): number {
    return this.bytes;
  }

  /** Appends the records in one write and syncs the data to disk before resolving. */
  async append(payloads: readonly Uint8Array[]): Promise<void> {
    this.assertOpen();
    if (payloads.length === 0) return;
    const data = Buffer.concat(payloads.map((p) => encodeFrame(p)));
    let written = 0;
    while (written < data.length) {
      const { bytesWritten } = await this.fh.write(data, written, data.length - written);
      written += bytesWritten;
    }
    await this.fh.datasync();
    this.bytes += data.length;
  }

  /** Replaces the whole journal with these records (compaction, or repair after an error). */
  async rewrite(payloads: readonly Uint8Array[]): Promise<void> {
    this.assertOpen();
    const frames = payloads.map((p) => encodeFrame(p));
    await OutboxJournal.writeAtomically(this.file, frames);
    const old = this.fh;
    this.fh = await open(this.file, 'a', 0o600);
    await old.close().catch(() => {});
    this.bytes = frames.reduce((n, f) => n + f.length, 0);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.fh.close().catch(() => {});
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('outbox journal is closed');
  }

  private static async writeAtomically(file: string, frames: readonly Buffer[]): Promise<void> {
    const tmp = `${file}.tmp-${process.pid}`;
    const fh = await open(tmp, 'w', 0o600);
    try {
      const data = Buffer.concat(frames);
      let written = 0;
      while (written < data.length) {
        const { bytesWritten } = await fh.write(data, written, data.length - written);
        written += bytesWritten;
      }
      await fh.sync();
    } catch (err) {
      await fh.close().catch(() => {});
      await rm(tmp, { force: true }).catch(() => {});
      throw err;
    }
    await fh.close();
    await rename(tmp, file);
    await syncDirectory(path.dirname(file));
  }
}

