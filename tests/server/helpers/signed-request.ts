/** Device requests built by hand, so tests can break each part of them on purpose. */
import { gzipSync } from 'node:zlib';
import { signRequest, type DeviceCredential } from '../../../src/core/report/hmac-auth.js';
import { PROTOCOL_VERSION, type EnrollRequest, type EnrollResponse } from '../../../src/shared/protocol.js';

/** A success body, or a protocol error body (`error`). */
export type ResponseBody = Record<string, unknown> & { error?: { code: string; message: string; retryAfterSec?: number } };

export interface SignedPostOptions {
  gzip?: boolean;
  nowMs?: number;
  nonce?: string;
  /** Raw body bytes instead of JSON.stringify(body). */
  raw?: Buffer;
  /** Sign these bytes but send `raw`/the body (a tampered body). */
  signBody?: Buffer;
  /** Headers added after signing (override anything). */
  headers?: Record<string, string>;
  /** Path to sign, when different from the one requested. */
  signPath?: string;
  contentEncoding?: string;
}

export async function signedPost(baseUrl: string, apiPath: string, cred: DeviceCredential, body: unknown, o: SignedPostOptions = {}) {
  let bytes = o.raw ?? Buffer.from(JSON.stringify(body));
  let encoding = o.contentEncoding ?? 'identity';
  if (o.gzip) {
    bytes = gzipSync(bytes);
    encoding = 'gzip';
  }
  const auth = signRequest(
    cred,
    { method: 'POST', path: o.signPath ?? apiPath, body: o.signBody ?? bytes, contentEncoding: encoding },
    { ...(o.nowMs !== undefined ? { nowMs: o.nowMs } : {}), ...(o.nonce !== undefined ? { nonce: o.nonce } : {}) },
  );
  const headers: Record<string, string> = { 'content-type': 'application/json', ...auth, ...(encoding !== 'identity' ? { 'content-encoding': encoding } : {}), ...o.headers };
  const res = await fetch(baseUrl + apiPath, { method: 'POST', headers, body: bytes });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: res.status, headers: res.headers, body: json as ResponseBody };
}

export function enrollRequest(token: string, stableId: string, hostname = 'RECEPTION-PC'): EnrollRequest {
  return { protocol: PROTOCOL_VERSION, enrollToken: token, stableId, stableIdSource: 'hardware', host: { hostname, platform: 'windows', osRelease: '10.0.19045', arch: 'x64' }, agentVersion: '0.1.0' };
}

export async function enrol(baseUrl: string, token: string, stableId: string, hostname?: string): Promise<EnrollResponse & { status: number }> {
  const res = await fetch(baseUrl + '/v1/enroll', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(enrollRequest(token, stableId, hostname)) });
  return { status: res.status, ...((await res.json()) as EnrollResponse) };
}
