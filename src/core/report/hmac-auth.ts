/**
 * Device request authentication: HMAC-SHA256 over the method, API path, timestamp, nonce,
 * device id, content encoding and the SHA-256 of the body bytes exactly as sent.
 *
 * The agent signs with `signRequest`; the server recomputes with `canonicalString` and
 * compares with `verifySignature` (constant time). Hashing the bytes on the wire lets the
 * server authenticate a request before it inflates or parses anything. The timestamp bounds
 * a replay to the window; the nonce, remembered by the server for that window, stops it.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { AUTH_HEADERS } from '../../shared/protocol.js';

export const SIGNATURE_SCHEME = 'VIGIL-HMAC-SHA256';

export interface SignedParts {
  method: string;
  /** The API path, e.g. /v1/heartbeats (no deployment prefix, no query). */
  path: string;
  /** Unix time in seconds, as a decimal string. */
  timestamp: string;
  nonce: string;
  deviceId: string;
  /** `gzip` or `identity`. */
  contentEncoding: string;
  /** Lowercase hex SHA-256 of the body bytes as transmitted. */
  bodySha256: string;
}

export function sha256Hex(body: Uint8Array | string): string {
  return createHash('sha256').update(body).digest('hex');
}

export function canonicalString(p: SignedParts): string {
  return [SIGNATURE_SCHEME, p.method.toUpperCase(), p.path, p.timestamp, p.nonce, p.deviceId, p.contentEncoding.toLowerCase(), p.bodySha256].join('\n');
}

/** The HMAC key is the 32 bytes the base64url device secret encodes. */
export function secretKey(deviceSecret: string): Buffer {
  return Buffer.from(deviceSecret, 'base64url');
}

export function computeSignature(key: Uint8Array, p: SignedParts): string {
  return createHmac('sha256', key).update(canonicalString(p)).digest('base64url');
}

export function verifySignature(key: Uint8Array, p: SignedParts, signature: string): boolean {
  const expected = Buffer.from(computeSignature(key, p), 'utf8');
  const given = Buffer.from(signature, 'utf8');
  return expected.length === given.length && timingSafeEqual(expected, given);
}

export type TimestampCheck = 'ok' | 'stale' | 'invalid';

/** Whether a request timestamp is within `windowSec` of the server's clock, either way. */
export function checkTimestamp(timestamp: string, nowMs: number, windowSec: number): TimestampCheck {
  if (!/^\d{1,12}$/.test(timestamp)) return 'invalid';
  const ts = Number(timestamp);
  return Math.abs(nowMs / 1000 - ts) <= windowSec ? 'ok' : 'stale';
}

export function newNonce(): string {
  return randomBytes(16).toString('base64url');
}

export interface DeviceCredential {
  deviceId: string;
  deviceSecret: string;
}

/** The authentication headers for one request. */
export function signRequest(
  cred: DeviceCredential,
  req: { method: string; path: string; body: Uint8Array; contentEncoding?: string },
  opts: { nowMs?: number; nonce?: string } = {},
): Record<string, string> {
  const timestamp = String(Math.floor((opts.nowMs ?? Date.now()) / 1000));
  const nonce = opts.nonce ?? newNonce();
  const signature = computeSignature(secretKey(cred.deviceSecret), {
    method: req.method,
    path: req.path,
    timestamp,
    nonce,
    deviceId: cred.deviceId,
    contentEncoding: req.contentEncoding ?? 'identity',
    bodySha256: sha256Hex(req.body),
  });
  return {
    [AUTH_HEADERS.device]: cred.deviceId,
    [AUTH_HEADERS.timestamp]: timestamp,
    [AUTH_HEADERS.nonce]: nonce,
    [AUTH_HEADERS.signature]: signature,
  };
}
