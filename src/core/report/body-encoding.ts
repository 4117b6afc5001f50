/**
 * Request bodies: JSON, gzip-compressed above a size. Heartbeats with a few findings stay
 * under the threshold and are sent plain; a batch of alerts after days offline is
 * compressed (JSON of findings compresses about five to one).
 */
import { gzipSync } from 'node:zlib';
import { PROTOCOL_LIMITS } from '../../shared/protocol.js';

export interface EncodedBody {
  bytes: Buffer;
  /** `gzip` or `identity`. */
  contentEncoding: 'gzip' | 'identity';
}

export function encodeJsonBody(value: unknown, gzipAboveBytes: number = PROTOCOL_LIMITS.gzipAboveBytes): EncodedBody {
  const json = Buffer.from(JSON.stringify(value), 'utf8');
  if (json.length <= gzipAboveBytes) return { bytes: json, contentEncoding: 'identity' };
  return { bytes: gzipSync(json, { level: 6 }), contentEncoding: 'gzip' };
}
