/**
 * Authenticates a device request before anything else looks at its body (scheme in
 * docs/PROTOCOL.md and src/core/report/hmac-auth.ts). Order: credentials present, device
 * known and not revoked, signature valid, timestamp within the window. The nonce is
 * claimed later, in the transaction of the write it authorises (nonce-store.ts).
 */
import type { IncomingHttpHeaders } from 'node:http';
import { AUTH_HEADERS, DeviceIdSchema, NonceSchema } from '../shared/protocol.js';
import { checkTimestamp, sha256Hex, verifySignature } from '../core/report/hmac-auth.js';
import { ApiError } from './api-error.js';
import type { DeviceAuthRow } from './database/device-store.js';

export interface AuthenticatedDevice {
  id: string;
  tenantId: string;
  nonce: string;
  /** When the nonce may be forgotten (its timestamp leaves the window). */
  nonceExpiresAtMs: number;
}

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

export interface AuthInput {
  method: string;
  /** The API path the route serves, e.g. /v1/heartbeats. */
  path: string;
  headers: IncomingHttpHeaders;
  rawBody: Buffer;
  nowMs: number;
  windowSec: number;
}

export async function authenticateDevice(input: AuthInput, lookup: (deviceId: string) => Promise<DeviceAuthRow | undefined>): Promise<AuthenticatedDevice> {
  const deviceId = header(input.headers, AUTH_HEADERS.device);
  const timestamp = header(input.headers, AUTH_HEADERS.timestamp);
  const nonce = header(input.headers, AUTH_HEADERS.nonce);
  const signature = header(input.headers, AUTH_HEADERS.signature);
  if (!deviceId || !timestamp || !nonce || !signature) {
    throw new ApiError(401, 'missing_credentials', `device requests need the ${Object.values(AUTH_HEADERS).join(', ')} headers`);
  }
  if (!DeviceIdSchema.safeParse(deviceId).success) throw new ApiError(401, 'unknown_device', 'unknown device credential');
  if (!NonceSchema.safeParse(nonce).success) throw new ApiError(401, 'bad_signature', 'the nonce must be 16 to 64 base64url characters');
  const device = await lookup(deviceId);
  if (!device) throw new ApiError(401, 'unknown_device', 'unknown device credential');
  if (device.revoked_at !== null) throw new ApiError(401, 'revoked_device', 'this device credential was revoked by the partner');
  const ok = verifySignature(
    device.secret,
    {
      method: input.method,
      path: input.path,
      timestamp,
      nonce,
      deviceId,
      contentEncoding: (header(input.headers, 'content-encoding') ?? 'identity').trim() || 'identity',
      bodySha256: sha256Hex(input.rawBody),
    },
    signature,
  );
  if (!ok) throw new ApiError(401, 'bad_signature', 'the request signature does not verify');
  const ts = checkTimestamp(timestamp, input.nowMs, input.windowSec);
  if (ts !== 'ok') {
    throw new ApiError(401, 'stale_timestamp', `the request timestamp is more than ${input.windowSec} s from the server's clock (see the Date header)`);
  }
  return { id: device.id, tenantId: device.tenant_id, nonce, nonceExpiresAtMs: (Number(timestamp) + input.windowSec) * 1000 + 1000 };
}
