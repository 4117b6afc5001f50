/**
 * RandomAccessFile test doubles: a buffer, optionally padded to a large virtual size (the
 * real 3CXDesktopApp.exe is about 150 MB) with every read recorded, so tests can check that
 * the reader reads only what it needs.
 */
import type { RandomAccessFile } from '../../../../src/core/os/target-fs.js';

export interface RecordingFile extends RandomAccessFile {
  reads: { position: number; length: number }[];
  readonly bytesRead: number;
}

/** `virtualSize` > buf.length makes the file larger, reading zeros past the buffer. */
export function memoryFile(buf: Buffer, virtualSize = buf.length): RecordingFile {
  const reads: { position: number; length: number }[] = [];
  return {
    size: virtualSize,
    reads,
    get bytesRead() {
      return reads.reduce((n, r) => n + r.length, 0);
    },
    async read(position: number, length: number): Promise<Buffer> {
      const len = Math.max(0, Math.min(length, virtualSize - position));
      reads.push({ position, length: len });
      const out = Buffer.alloc(len);
      if (position < buf.length) buf.copy(out, 0, position, Math.min(buf.length, position + len));
      return out;
    },
    async close(): Promise<void> {},
  };
}

/** A file whose reads fail, as a disk error or a file locked by another process would. */
export function failingFile(size: number, message = 'EIO: i/o error, read'): RandomAccessFile {
  return {
    size,
    async read(): Promise<Buffer> {
      throw Object.assign(new Error(message), { code: 'EIO' });
    },
    async close(): Promise<void> {},
  };
}
