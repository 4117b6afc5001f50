/**
 * Turning the raw bytes of an ingest request into a validated value: inflate (gzip, with a
 * hard limit on the inflated size, so a small compressed bomb cannot exhaust memory), check
 * the shape on the bytes (json-shape.ts: depth, string and array lengths), parse JSON,
 * validate with the protocol schema. Runs only after the request is authenticated.
 */
import { gunzipSync } from 'node:zlib';
import type { z } from 'zod';
import { PROTOCOL_LIMITS } from '../shared/protocol.js';
import { ApiError, invalidRequest } from './api-error.js';
import { checkJsonShape } from './json-shape.js';

const SHAPE_LIMITS = { maxDepth: PROTOCOL_LIMITS.maxJsonDepth, maxStringBytes: PROTOCOL_LIMITS.maxJsonStringBytes, maxArrayItems: PROTOCOL_LIMITS.maxJsonArrayItems };

export function decodeBody(raw: Buffer, contentEncoding: string | undefined, maxDecodedBytes: number): Buffer {
  const enc = (contentEncoding ?? 'identity').trim().toLowerCase();
  if (enc === 'identity' || enc === '') {
    if (raw.length > maxDecodedBytes) throw new ApiError(413, 'payload_too_large', `the body is larger than ${maxDecodedBytes} bytes`);
    return raw;
  }
  if (enc !== 'gzip') throw new ApiError(415, 'unsupported_encoding', `content-encoding "${enc.slice(0, 40)}" is not supported; use gzip or none`);
  try {
    return gunzipSync(raw, { maxOutputLength: maxDecodedBytes });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE' || err instanceof RangeError) {
      throw new ApiError(413, 'payload_too_large', `the body inflates to more than ${maxDecodedBytes} bytes`);
    }
    throw new ApiError(400, 'malformed_json', 'the body is not valid gzip');
  }
}

/** Parses a (decoded) body, refusing shapes no message has before JSON.parse pays for them. */
export function parseJson(bytes: Buffer): unknown {
  const shape = checkJsonShape(bytes, SHAPE_LIMITS);
  if (shape) throw new ApiError(400, 'malformed_json', shape);
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    throw new ApiError(400, 'malformed_json', `the body is not valid JSON: ${(err as Error).message.slice(0, 200)}`);
  }
}

export function validate<S extends z.ZodType>(schema: S, value: unknown): z.infer<S> {
  const r = schema.safeParse(value);
  if (!r.success) throw invalidRequest(r.error);
  return r.data;
}

export function readBody<S extends z.ZodType>(schema: S, raw: unknown, contentEncoding: string | undefined, maxDecodedBytes: number): z.infer<S> {
  if (!Buffer.isBuffer(raw) || raw.length === 0) throw new ApiError(400, 'malformed_json', 'the request has no body');
  return validate(schema, parseJson(decodeBody(raw, contentEncoding, maxDecodedBytes)));
}
