/**
 * The outbox journal's record framing. Each record on disk is
 *
 *   magic "VGO1" (4 bytes) | payload length (u32 LE) | CRC-32 of payload (u32 LE) | payload
 *
 * A record torn by a crash or power loss (short length, short payload, wrong CRC) is found
 * here and dropped. Decoding never trusts a length it cannot verify: after a damaged record
 * it searches forward for the next magic whose length and CRC check out, so one damaged
 * record in the middle of the file (a bad sector) does not lose the records after it.
 */
import { crc32 } from 'node:zlib';

export const FRAME_MAGIC = Buffer.from('VGO1', 'ascii');
export const FRAME_HEADER_BYTES = 12;
/** No record is larger than this; a bigger length is damage, not a record. */
export const MAX_FRAME_PAYLOAD_BYTES = 4 * 1024 * 1024;

export function encodeFrame(payload: Uint8Array): Buffer {
  if (payload.length > MAX_FRAME_PAYLOAD_BYTES) throw new RangeError(`outbox record of ${payload.length} bytes exceeds ${MAX_FRAME_PAYLOAD_BYTES}`);
  const header = Buffer.alloc(FRAME_HEADER_BYTES);
  FRAME_MAGIC.copy(header, 0);
  header.writeUInt32LE(payload.length, 4);
  header.writeUInt32LE(crc32(payload), 8);
  return Buffer.concat([header, payload]);
}

export interface DecodedFrames {
  payloads: Buffer[];
  /** Byte ranges [start, end) that were not valid records. */
  damaged: Array<[number, number]>;
  /** True when the file ends in an incomplete or invalid record (a torn write). */
  tornTail: boolean;
}

/** Length of a valid frame starting at `at`, or 0 when there is none there. */
function frameAt(buf: Buffer, at: number): number {
  if (at + FRAME_HEADER_BYTES > buf.length) return 0;
  if (buf.compare(FRAME_MAGIC, 0, 4, at, at + 4) !== 0) return 0;
  const len = buf.readUInt32LE(at + 4);
  if (len > MAX_FRAME_PAYLOAD_BYTES || at + FRAME_HEADER_BYTES + len > buf.length) return 0;
  const payload = buf.subarray(at + FRAME_HEADER_BYTES, at + FRAME_HEADER_BYTES + len);
  return crc32(payload) === buf.readUInt32LE(at + 8) ? FRAME_HEADER_BYTES + len : 0;
}

export function decodeFrames(buf: Buffer): DecodedFrames {
  const payloads: Buffer[] = [];
  const damaged: Array<[number, number]> = [];
  let at = 0;
  while (at < buf.length) {
    const n = frameAt(buf, at);
    if (n > 0) {
      payloads.push(buf.subarray(at + FRAME_HEADER_BYTES, at + n));
      at += n;
      continue;
    }
    // Damage: look for the next position where a whole valid frame starts.
    let next = buf.indexOf(FRAME_MAGIC, at + 1);
    while (next !== -1 && frameAt(buf, next) === 0) next = buf.indexOf(FRAME_MAGIC, next + 1);
    const end = next === -1 ? buf.length : next;
    damaged.push([at, end]);
    at = end;
  }
  const last = damaged[damaged.length - 1];
  return { payloads, damaged, tornTail: last !== undefined && last[1] === buf.length };
}
