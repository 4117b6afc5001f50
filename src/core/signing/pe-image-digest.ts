/**
 * The Authenticode image digest ("Windows Authenticode Portable Executable Signature
 * Format", "Calculating the PE Image Hash"): the whole file, in file order, except the
 * 4-byte CheckSum field, the 8-byte certificate-table directory entry and the certificate
 * table itself. Bytes after the table are hashed too, so data appended after a signature
 * changes the digest. (Hashing the file linearly equals the specification's section-by-
 * section description for the images linkers produce, and is what osslsigncode and
 * Windows do.)
 *
 * Streaming: ranges are read in CHUNK_BYTES reads with one read in flight while the
 * previous chunk is hashed, every requested algorithm updated from the same chunk, so a
 * 150 MB executable costs one pass and about two chunks of memory (exactly two buffers
 * when the file supports `readInto`).
 */
import { createHash, type Hash } from 'node:crypto';
import type { PeHeaders } from '../pe/pe-headers.js';
import type { RandomAccessFile } from '../os/target-fs.js';
import type { ByteRange } from './win-certificate.js';

export const CHUNK_BYTES = 1024 * 1024;

/** The file ranges the image digest covers, in order. Pure. */
export function authenticodeDigestRanges(headers: PeHeaders, table: { offset: number; size: number } | undefined): ByteRange[] {
  const excluded: ByteRange[] = [{ start: headers.checksumOffset, end: headers.checksumOffset + 4 }];
  if (headers.securityDirectoryOffset !== undefined) {
    excluded.push({ start: headers.securityDirectoryOffset, end: headers.securityDirectoryOffset + 8 });
  }
  if (table) excluded.push({ start: table.offset, end: table.offset + table.size });
  return complement(excluded, headers.fileSize);
}

/** [0, size) minus the given ranges (which may overlap or fall outside), in order. */
export function complement(excluded: readonly ByteRange[], size: number): ByteRange[] {
  const sorted = excluded
    .map((r) => ({ start: Math.max(0, Math.min(size, r.start)), end: Math.max(0, Math.min(size, r.end)) }))
    .filter((r) => r.end > r.start)
    .sort((a, b) => a.start - b.start);
  const out: ByteRange[] = [];
  let pos = 0;
  for (const r of sorted) {
    if (r.start > pos) out.push({ start: pos, end: r.start });
    pos = Math.max(pos, r.end);
  }
  if (pos < size) out.push({ start: pos, end: size });
  return out;
}

function* chunks(ranges: readonly ByteRange[], chunkBytes: number): Generator<ByteRange> {
  for (const r of ranges) {
    for (let p = r.start; p < r.end; p += chunkBytes) yield { start: p, end: Math.min(r.end, p + chunkBytes) };
  }
}

/**
 * A file that can also read into a buffer the caller owns. Hashing then cycles two
 * chunk buffers instead of allocating (and zero-filling) one per chunk, which is a tenth
 * of the cost of hashing a large file. Optional: any RandomAccessFile works.
 */
export interface ReadIntoFile extends RandomAccessFile {
  /** Fills `buf` from `position`; resolves to the bytes read (fewer at end of file). */
  readInto(buf: Buffer, position: number): Promise<number>;
}

function canReadInto(file: RandomAccessFile): file is ReadIntoFile {
  return typeof (file as Partial<ReadIntoFile>).readInto === 'function';
}

/**
 * Reads the ranges in order, in chunks, one read in flight while the caller handles the
 * previous chunk (which it must not keep: with `readInto` the buffer is reused).
 * Throws only what `file.read` throws, or an Error if the file is shorter than a range.
 */
async function streamRanges(file: RandomAccessFile, ranges: readonly ByteRange[], chunkBytes: number, onChunk: (c: ByteRange, buf: Buffer) => void): Promise<void> {
  const it = chunks(ranges, chunkBytes);
  // Two buffers suffice: a read is issued only after the chunk before it has been handled,
  // so the buffer it fills is never the one being hashed.
  const pool = canReadInto(file) ? [Buffer.allocUnsafe(chunkBytes), Buffer.allocUnsafe(chunkBytes)] : undefined;
  let turn = 0;
  const readChunk = (c: ByteRange) => {
    if (!pool) return file.read(c.start, c.end - c.start).then((buf) => ({ c, buf }));
    const target = pool[turn++ % 2]!.subarray(0, c.end - c.start);
    return (file as ReadIntoFile).readInto(target, c.start).then((n) => ({ c, buf: target.subarray(0, n) }));
  };
  let next = it.next();
  let pending = next.done ? undefined : readChunk(next.value);
  while (pending) {
    const { c, buf } = await pending;
    next = it.next();
    pending = next.done ? undefined : readChunk(next.value);
    if (buf.length !== c.end - c.start) {
      // Keep the in-flight read from rejecting unobserved.
      pending?.catch(() => {});
      throw new Error(`file ended at ${c.start + buf.length} while reading ${c.start}-${c.end}`);
    }
    onChunk(c, buf);
  }
}

/**
 * Hashes the ranges with every algorithm (node:crypto names) in one streaming pass.
 * Throws only what `file.read` throws, or an Error if the file is shorter than a range.
 */
export async function hashRanges(
  file: RandomAccessFile,
  ranges: readonly ByteRange[],
  algorithms: readonly string[],
  chunkBytes = CHUNK_BYTES,
): Promise<Map<string, Buffer>> {
  const hashes = new Map<string, Hash>(algorithms.map((a) => [a, createHash(a)]));
  await streamRanges(file, ranges, chunkBytes, (_c, buf) => {
    for (const h of hashes.values()) h.update(buf);
  });
  return new Map([...hashes].map(([a, h]) => [a, h.digest()]));
}

/**
 * One pass over the whole file giving its SHA-256 and, with every algorithm, the digest of
 * the given ranges (the Authenticode image digest): what a scan needs of a signed
 * executable, so a 150 MB file is read and hashed once, not once for inventory and again
 * for its signature.
 */
export async function hashFileAndRanges(
  file: RandomAccessFile,
  ranges: readonly ByteRange[],
  algorithms: readonly string[],
  chunkBytes = CHUNK_BYTES,
): Promise<{ sha256: Buffer; ranges: Map<string, Buffer> }> {
  const whole = createHash('sha256');
  const hashes = new Map<string, Hash>(algorithms.map((a) => [a, createHash(a)]));
  let r = 0;
  await streamRanges(file, file.size ? [{ start: 0, end: file.size }] : [], chunkBytes, (c, buf) => {
    whole.update(buf);
    if (hashes.size === 0) return;
    // The ranges are in file order: skip those that end before this chunk, feed the overlaps.
    while (r < ranges.length && ranges[r]!.end <= c.start) r++;
    for (let i = r; i < ranges.length && ranges[i]!.start < c.end; i++) {
      const part = buf.subarray(Math.max(0, ranges[i]!.start - c.start), Math.min(buf.length, ranges[i]!.end - c.start));
      for (const h of hashes.values()) h.update(part);
    }
  });
  return { sha256: whole.digest(), ranges: new Map([...hashes].map(([a, h]) => [a, h.digest()])) };
}
