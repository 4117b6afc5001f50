/**
 * The headless agent's direct transport: the FetchLike the reporter needs (transport.ts),
 * over node:http and node:https.
 *
 * Why not Node's global fetch: that is undici inside Node, whose HTTP parser is llhttp
 * compiled to WebAssembly. The first request compiles and instantiates it, and the process
 * stays about 20 MB larger for good (measured on Node 20: one fetch takes a bare Node
 * process from 43 to 63 MB resident; one http.request, to 45 MB). An agent that sends a
 * heartbeat a minute from every PC of a practice should not pay that (issue 11;
 * bench/footprint.bench.ts).
 *
 * Behaves as the reporter expects of fetch: the abort signal (the reporter's timeout and
 * stop) aborts the request and the reading of the body with an AbortError; network errors
 * reject with the system error (ECONNREFUSED, ENOTFOUND) as `code`; a gzip, deflate or br
 * body is decoded. Connections are kept for a burst (an outbox flush) and closed after
 * IDLE_MS idle, as undici does, so a heartbeat a minute never lands on a connection a NAT
 * or the server dropped meanwhile. TLS: Node's CA store plus NODE_EXTRA_CA_CERTS, as fetch.
 */
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import type { FetchInit, FetchLike, FetchResponseLike } from './transport.js';

/** How long an idle kept-alive connection stays open (undici's default keep-alive timeout). */
export const IDLE_MS = 4_000;
/** A response body larger than this is refused, whatever its declared length. */
export const MAX_BODY_BYTES = 16 * 1024 * 1024;

export class ResponseTooLargeError extends Error {
  constructor(limit: number) {
    super(`the response body exceeds ${limit} bytes`);
    this.name = 'ResponseTooLargeError';
  }
}

export interface NodeHttpTransport {
  fetch: FetchLike;
  /** Closes kept-alive connections (the agent's stop). */
  close(): void;
}

export interface NodeHttpFetchOptions {
  idleMs?: number;
  maxBodyBytes?: number;
}

function decoded(res: IncomingMessage): NodeJS.ReadableStream {
  const encoding = (res.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
  if (encoding === 'identity' || encoding === '') return res;
  const decoder = encoding === 'gzip' || encoding === 'x-gzip' ? createGunzip() : encoding === 'deflate' ? createInflate() : encoding === 'br' ? createBrotliDecompress() : undefined;
  if (!decoder) throw new Error(`the response is encoded as "${encoding}", which the agent does not decode`);
  res.on('error', (err) => decoder.destroy(err));
  return res.pipe(decoder);
}

function readBody(res: IncomingMessage, limit: number, signal: AbortSignal | undefined): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    let stream: NodeJS.ReadableStream;
    try {
      stream = decoded(res);
    } catch (err) {
      res.destroy();
      reject(err as Error);
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    const fail = (err: Error) => {
      res.destroy();
      reject(err);
    };
    if (signal?.aborted) return fail(abortError(signal));
    const onAbort = () => fail(abortError(signal!));
    signal?.addEventListener('abort', onAbort, { once: true });
    stream.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) return fail(new ResponseTooLargeError(limit));
      chunks.push(chunk);
    });
    const cut = (detail: string) => new Error(`the connection closed before the whole response arrived (${detail})`);
    stream.on('error', (err: Error) => fail(res.complete ? err : cut(err.message)));
    res.on('close', () => {
      if (!res.complete) fail(cut('closed'));
    });
    stream.on('end', () => {
      signal?.removeEventListener('abort', onAbort);
      resolve(Buffer.concat(chunks, size));
    });
  });
}

function abortError(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  // AbortSignal.timeout() aborts with a TimeoutError; keep it, as fetch does.
  if (reason instanceof Error) return reason;
  const err = new Error('the request was aborted');
  err.name = 'AbortError';
  return err;
}

/** A FetchLike over node:http / node:https with its own kept-alive connections. */
export function createNodeHttpFetch(opts: NodeHttpFetchOptions = {}): NodeHttpTransport {
  const idleMs = opts.idleMs ?? IDLE_MS;
  const limit = opts.maxBodyBytes ?? MAX_BODY_BYTES;
  // `timeout` on a keep-alive agent is how long a free socket may idle before the agent
  // destroys it; a request in flight is bounded by the caller's signal instead.
  const agents = { http: new HttpAgent({ keepAlive: true, timeout: idleMs }), https: new HttpsAgent({ keepAlive: true, timeout: idleMs }) };

  const fetch: FetchLike = (url, init: FetchInit) =>
    new Promise<FetchResponseLike>((resolve, reject) => {
      const target = new URL(url);
      if (target.protocol !== 'http:' && target.protocol !== 'https:') {
        reject(new TypeError(`only http and https URLs are supported, not ${target.protocol}`));
        return;
      }
      if (init.signal?.aborted) {
        reject(abortError(init.signal));
        return;
      }
      const https = target.protocol === 'https:';
      const req = (https ? httpsRequest : httpRequest)(target, { method: init.method, headers: init.headers, agent: https ? agents.https : agents.http });
      const onAbort = () => req.destroy(abortError(init.signal!));
      init.signal?.addEventListener('abort', onAbort, { once: true });
      const done = () => init.signal?.removeEventListener('abort', onAbort);
      req.on('error', (err) => {
        done();
        reject(err);
      });
      req.on('response', (res) => {
        done();
        // Read at once, whether or not the caller asks for the text: the connection is
        // released either way (a caller that refuses a response unread leaks nothing), and
        // the limit bounds what is kept.
        const body = readBody(res, limit, init.signal);
        body.catch(() => {});
        resolve({
          status: res.statusCode ?? 0,
          headers: {
            get(name: string) {
              const v = res.headers[name.toLowerCase()];
              return v === undefined ? null : Array.isArray(v) ? v.join(', ') : v;
            },
          },
          text: async () => (await body).toString('utf8'),
        });
      });
      req.end(init.body ? Buffer.from(init.body.buffer, init.body.byteOffset, init.body.byteLength) : undefined);
    });

  return {
    fetch,
    close: () => {
      agents.http.destroy();
      agents.https.destroy();
    },
  };
}
