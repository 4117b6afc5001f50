/**
 * Fetches one delivered pack: `GET /v1/packs/{id}/{version}`, signed like every device
 * request (over an empty body), asking for gzip (the transport inflates it: Node's fetch
 * and Electron's net.fetch both do). Every outcome is a value; nothing here throws for
 * what the network or the server does.
 */
import { API_PATHS } from '../../shared/protocol.js';
import { signRequest, type DeviceCredential } from '../report/hmac-auth.js';
import { endpointUrl } from '../report/server-url.js';
import { networkErrorDetail } from '../report/protocol-client.js';
import { MAX_PACK_BYTES } from '../pack/load.js';
import type { FetchLike } from '../report/transport.js';
import { requestDeadline } from '../report/request-deadline.js';

export type PackFetchResult =
  | { ok: true; text: string }
  /** `retry`: the network or the server failed, try at the next heartbeat. `refused`: the server has no such pack for this device. */
  | { ok: false; kind: 'retry' | 'refused'; message: string };

export interface PackFetcherOptions {
  serverUrl: URL;
  fetch: FetchLike;
  /** Server clock minus ours (the protocol client learns it from stale_timestamp answers). */
  clockOffsetMs?: () => number;
  timeoutMs?: number;
  signal?: AbortSignal;
  userAgent?: string;
}

export class PackFetcher {
  constructor(private readonly o: PackFetcherOptions) {}

  async fetch(cred: DeviceCredential, id: string, version: number): Promise<PackFetchResult> {
    const apiPath = `${API_PATHS.packs}/${encodeURIComponent(id)}/${version}`;
    const headers: Record<string, string> = {
      accept: 'application/json',
      'accept-encoding': 'gzip',
      'user-agent': this.o.userAgent ?? 'vigil-agent',
      ...signRequest(cred, { method: 'GET', path: apiPath, body: new Uint8Array(0) }, { nowMs: Date.now() + (this.o.clockOffsetMs?.() ?? 0) }),
    };
    // Disposed once the body is read: the signal also bounds the reading (request-deadline.ts).
    const deadline = requestDeadline(this.o.timeoutMs ?? 60_000, this.o.signal);
    try {
      let res;
      try {
        res = await this.o.fetch(endpointUrl(this.o.serverUrl, apiPath).href, { method: 'GET', headers, signal: deadline.signal });
      } catch (err) {
        return { ok: false, kind: 'retry', message: `cannot fetch pack ${id} v${version}: ${networkErrorDetail(err)}` };
      }
      const declared = Number(res.headers.get('content-length') ?? '0');
      if (declared > MAX_PACK_BYTES * 2) return { ok: false, kind: 'retry', message: `pack ${id} v${version}: the response of ${declared} bytes is too large` };
      let text: string;
      try {
        text = await res.text();
      } catch (err) {
        return { ok: false, kind: 'retry', message: `pack ${id} v${version}: connection lost while reading it (${(err as Error).message})` };
      }
      if (res.status === 200) return { ok: true, text };
      const detail = text.length < 2000 ? (/"message":"([^"]*)"/.exec(text)?.[1] ?? '') : '';
      const message = `the server answered HTTP ${res.status} for pack ${id} v${version}${detail ? `: ${detail}` : ''}`;
      return { ok: false, kind: res.status === 404 || res.status === 403 ? 'refused' : 'retry', message };
    } finally {
      deadline.dispose();
    }
  }
}
