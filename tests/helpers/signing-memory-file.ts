/**
 * RandomAccessFiles for verifier tests without disk I/O: one over a Buffer (the fuzz test
 * runs thousands of mutated files through it), and a virtual one of any size whose bytes
 * are generated on read (to show memory stays bounded on files far larger than memory
 * would allow loading). Both record every read, so tests can assert how the file was read.
 */
import type { RandomAccessFile } from '../../src/core/os/target-fs.js';

export interface ReadLog {
  reads: number;
  bytes: number;
  largestRead: number;
}

export class MemoryFile implements RandomAccessFile {
  readonly log: ReadLog = { reads: 0, bytes: 0, largestRead: 0 };
  constructor(private readonly data: Buffer) {}
  get size(): number {
    return this.data.length;
  }
  async read(position: number, length: number): Promise<Buffer> {
    this.log.reads++;
    this.log.largestRead = Math.max(this.log.largestRead, length);
    const start = Math.max(0, Math.min(position, this.data.length));
    const out = Buffer.from(this.data.subarray(start, Math.min(this.data.length, start + Math.max(0, length))));
    this.log.bytes += out.length;
    return out;
  }
  async close(): Promise<void> {}
}

/**
 * `size` bytes: `head` at 0, `tail` at the end, and a cheap repeating pattern between,
 * generated per read (nothing of that size is ever allocated).
 */
export class VirtualFile implements RandomAccessFile {
  readonly log: ReadLog = { reads: 0, bytes: 0, largestRead: 0 };
  constructor(
    readonly size: number,
    private readonly head: Buffer,
    private readonly tail: Buffer,
  ) {}
  async read(position: number, length: number): Promise<Buffer> {
    this.log.reads++;
    this.log.largestRead = Math.max(this.log.largestRead, length);
    const end = Math.min(this.size, position + length);
    const out = Buffer.alloc(Math.max(0, end - position), 0x5a);
    // Copy whatever part of head and tail overlaps [position, end).
    if (position < this.head.length) this.head.copy(out, 0, position, Math.min(this.head.length, end));
    const tailStart = this.size - this.tail.length;
    if (end > tailStart) {
      const from = Math.max(position, tailStart);
      this.tail.copy(out, from - position, from - tailStart, end - tailStart);
    }
    this.log.bytes += out.length;
    return out;
  }
  async close(): Promise<void> {}
}
