/**
 * The agent's side of the wire protocol (src/shared/protocol.ts): builds, signs and sends
 * requests over the injected transport and turns every outcome into a value. A refused
 * connection, a timeout, an HTML error page from a proxy or a body that does not match the
 * schema all become a `ReportFailure`; nothing here throws for what the network does.
 *
 * Clock skew: endpoints with a wrong clock are common. When the server answers
 * `stale_timestamp`, the client learns the offset from the response's Date header and
 * retries the request once with a corrected timestamp.
 */
import type { z } from 'zod';
import {
  AlertsResponseSchema,
  API_PATHS,
  EnrollResponseSchema,
  ErrorBodySchema,
  HeartbeatResponseSchema,
  type AlertsRequest,
  type AlertsResponse,
  type EnrollRequest,
  type EnrollResponse,
  type ErrorCode,
  type Heartbeat,
  type HeartbeatResponse,
} from '../../shared/protocol.js';
import { encodeJsonBody } from './body-encoding.js';
import { signRequest, type DeviceCredential } from './hmac-auth.js';
import { endpointUrl } from './server-url.js';
import { parseRetryAfter } from './backoff.js';
import type { FetchLike, FetchResponseLike } from './transport.js';
import { requestDeadline } from './request-deadline.js';

export type ReportFailureKind = 'network' | 'timeout' | 'http' | 'bad-response';

export interface ReportFailure {
  ok: false;
  kind: ReportFailureKind;
  /** HTTP status, for `http` and `bad-response`. */
  status?: number;
  /** The server's error code, when it sent a protocol error body. */
  code?: ErrorCode;
  message: string;
  retryAfterMs?: number;
}

export type ReportResult<T> = { ok: true; value: T } | ReportFailure;

export interface ProtocolClientOptions {
  /** Already checked with checkServerUrl(). */
  serverUrl: URL;
  fetch: FetchLike;
  timeoutMs?: number;
  now?: () => number;
  userAgent?: string;
  gzipAboveBytes?: number;
  /** Aborts requests in flight when the agent stops. */
  signal?: AbortSignal;
}

type AttemptFailure = ReportFailure & { skewMs?: number };
type Attempt<T> = { ok: true; value: T } | AttemptFailure;

/** Responses larger than this are not read (a misconfigured proxy serving a big page). */
const MAX_RESPONSE_BYTES = 1024 * 1024;

export class ProtocolClient {
  private clockOffsetMs = 0;
  private readonly now: () => number;
  private readonly timeoutMs: number;

  constructor(private readonly opts: ProtocolClientOptions) {
    this.now = opts.now ?? Date.now;
    this.timeoutMs = opts.timeoutMs ?? 30_000;
  }

  get serverUrl(): URL {
    return this.opts.serverUrl;
  }

  /** Server clock minus ours, learned from a stale_timestamp answer (0 until then). */
  get clockOffset(): number {
    return this.clockOffsetMs;
  }

  enroll(req: EnrollRequest): Promise<ReportResult<EnrollResponse>> {
    return this.send(API_PATHS.enroll, req, undefined, EnrollResponseSchema);
  }

  heartbeat(cred: DeviceCredential, hb: Heartbeat): Promise<ReportResult<HeartbeatResponse>> {
    return this.send(API_PATHS.heartbeats, hb, cred, HeartbeatResponseSchema);
  }

  alerts(cred: DeviceCredential, req: AlertsRequest): Promise<ReportResult<AlertsResponse>> {
    return this.send(API_PATHS.alerts, req, cred, AlertsResponseSchema);
  }

  private async send<T>(apiPath: string, body: unknown, cred: DeviceCredential | undefined, schema: z.ZodType<T>): Promise<ReportResult<T>> {
    const first = await this.attempt(apiPath, body, cred, schema);
    if (!first.ok && first.code === 'stale_timestamp' && cred && first.skewMs !== undefined) {
      this.clockOffsetMs = first.skewMs;
      const second = await this.attempt(apiPath, body, cred, schema);
      return strip(second);
    }
    return strip(first);
  }

  private async attempt<T>(
    apiPath: string,
    body: unknown,
    cred: DeviceCredential | undefined,
    schema: z.ZodType<T>,
  ): Promise<Attempt<T>> {
    const encoded = encodeJsonBody(body, this.opts.gzipAboveBytes);
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      accept: 'application/json',
      'user-agent': this.opts.userAgent ?? 'vigil-agent',
    };
    if (encoded.contentEncoding === 'gzip') headers['content-encoding'] = 'gzip';
    if (cred) {
      Object.assign(
        headers,
        signRequest(cred, { method: 'POST', path: apiPath, body: encoded.bytes, contentEncoding: encoded.contentEncoding }, { nowMs: this.now() + this.clockOffsetMs }),
      );
    }
    const url = endpointUrl(this.opts.serverUrl, apiPath).href;
    // Disposed once the body is read: the signal also bounds the reading (request-deadline.ts).
    const deadline = requestDeadline(this.timeoutMs, this.opts.signal);
    try {
      let res: FetchResponseLike;
      try {
        res = await this.opts.fetch(url, { method: 'POST', headers, body: encoded.bytes, signal: deadline.signal });
      } catch (err) {
        const e = err as Error & { cause?: { code?: string } };
        if (this.opts.signal?.aborted) return { ok: false, kind: 'network', message: 'stopped before the server answered' };
        if (e.name === 'TimeoutError' || e.name === 'AbortError') {
          return { ok: false, kind: 'timeout', message: `no answer from ${this.opts.serverUrl.host} within ${this.timeoutMs} ms` };
        }
        return { ok: false, kind: 'network', message: `cannot reach ${this.opts.serverUrl.host}: ${networkErrorDetail(err)}` };
      }
      return await this.readResponse(res, schema);
    } finally {
      deadline.dispose();
    }
  }

  private async readResponse<T>(res: FetchResponseLike, schema: z.ZodType<T>): Promise<Attempt<T>> {
    const declared = Number(res.headers.get('content-length') ?? '0');
    if (declared > MAX_RESPONSE_BYTES) {
      return { ok: false, kind: 'bad-response', status: res.status, message: `response of ${declared} bytes is too large` };
    }
    let text: string;
    try {
      text = await res.text();
    } catch (err) {
      return { ok: false, kind: 'network', status: res.status, message: `connection lost while reading the response: ${(err as Error).message}` };
    }
    let json: unknown;
    try {
      json = text.length ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    if (res.status >= 200 && res.status < 300) {
      const parsed = schema.safeParse(json);
      if (parsed.success) return { ok: true, value: parsed.data };
      return { ok: false, kind: 'bad-response', status: res.status, message: `the server's answer does not match protocol v1 (${parsed.error.issues[0]?.message ?? 'invalid'})` };
    }
    const failure: AttemptFailure = { ok: false, kind: 'http', status: res.status, message: `HTTP ${res.status}` };
    const err = ErrorBodySchema.safeParse(json);
    if (err.success) {
      failure.code = err.data.error.code;
      failure.message = `HTTP ${res.status} ${err.data.error.code}: ${err.data.error.message}`;
    } else if (res.status < 500) {
      failure.message = `HTTP ${res.status} without a protocol error body (is the server URL right, or a proxy in the way?)`;
    }
    const retryAfterMs = parseRetryAfter(res.headers.get('retry-after'), this.now());
    if (retryAfterMs !== undefined) failure.retryAfterMs = retryAfterMs;
    const date = Date.parse(res.headers.get('date') ?? '');
    if (!Number.isNaN(date)) failure.skewMs = date - this.now();
    return failure;
  }
}

function strip<T>(r: Attempt<T>): ReportResult<T> {
  if (r.ok) return r;
  const { skewMs: _skew, ...rest } = r;
  return rest;
}

/**
 * Why a fetch failed, from its cause chain: a system error code when there is one
 * (ECONNREFUSED, ENOTFOUND), else the innermost message. undici nests a proxy's refusal,
 * "Proxy response (407) !== 200 when HTTP Tunneling", under "fetch failed" and an
 * UND_ERR_ABORTED "Request was cancelled.", so its own codes are not the answer.
 */
export function networkErrorDetail(err: unknown): string {
  const chain: Array<{ code?: unknown; message?: unknown }> = [];
  for (let e: unknown = err; e && typeof e === 'object' && chain.length < 6; e = (e as { cause?: unknown }).cause) chain.push(e as { code?: unknown });
  const sys = chain.find((c) => typeof c.code === 'string' && /^E[A-Z0-9_]+$/.test(c.code));
  if (sys) return sys.code as string;
  const messages = chain.map((c) => c.message).filter((m): m is string => typeof m === 'string' && m !== '');
  return messages.at(-1) ?? String(err);
}

/** What the reporter does after a failure. */
export type FailureAction =
  /** Network, timeout, 5xx, 429: try again after backoff (or Retry-After). */
  | 'retry'
  /** The server does not know this credential, or it does not verify: enrol again. */
  | 'reenroll'
  /** The request itself is wrong (schema, size): retrying it cannot succeed. */
  | 'give-up-request'
  /** Revoked device, refused enrolment token, wrong URL: wait long, say so in status. */
  | 'blocked';

export function failureAction(f: ReportFailure): FailureAction {
  // Unreachable, timed out, or an answer that is not protocol v1 (a captive portal, a proxy
  // page): transient as far as the agent can tell, and alert ids make a resend harmless.
  if (f.kind !== 'http') return 'retry';
  const status = f.status ?? 0;
  if (status >= 500 || status === 429 || status === 408) return 'retry';
  switch (f.code) {
    case 'unknown_device':
    case 'bad_signature':
      return 'reenroll';
    case 'stale_timestamp':
    case 'replayed_request':
      return 'retry';
    case 'revoked_device':
    case 'invalid_enroll_token':
    case 'unauthorized':
    case 'not_found':
    case 'missing_credentials':
      return 'blocked';
    case 'malformed_json':
    case 'invalid_request':
    case 'payload_too_large':
    case 'unsupported_encoding':
    case 'unsupported_media_type':
    case 'device_mismatch':
      return 'give-up-request';
    default:
      return 'blocked';
  }
}
