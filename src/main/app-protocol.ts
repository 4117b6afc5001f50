/**
 * The `vigil://app/…` protocol: serves the bundled status-window files and nothing else.
 *
 * Electron's checklist (items 18 and 7): prefer a custom protocol to file://, and send a
 * CSP header. The scheme is registered as standard and secure before `ready` (see
 * window-security.ts), then `protocol.handle('vigil', handler)` uses the handler below.
 *
 * Only GET/HEAD for host `app`, a path that stays inside the renderer directory after
 * percent-decoding (no `..`, no backslashes, no NUL), and an allow-listed file type.
 * Everything else is a 4xx with no detail; nothing throws out of the handler.
 */
import * as path from 'node:path';
import { CSP_HEADER } from './csp.js';
import type { Logger } from '../core/logging/logger.js';

export const APP_SCHEME = 'vigil';
export const APP_HOST = 'app';
export const APP_ORIGIN = `${APP_SCHEME}://${APP_HOST}`;
export const STATUS_PAGE_URL = `${APP_ORIGIN}/index.html`;

/**
 * True for URLs of the app's own origin. Node's URL parser does not know that vigil: is
 * registered as a standard scheme, so `new URL(u).origin` is the string "null" for it;
 * compare scheme and host instead (Chromium lower-cases the host of standard schemes).
 */
export function isAppOriginUrl(url: string): boolean {
  try {
    const u = new URL(url);
    return u.protocol === `${APP_SCHEME}:` && u.host.toLowerCase() === APP_HOST && u.username === '' && u.password === '';
  } catch {
    return false;
  }
}

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
  '.woff2': 'font/woff2',
};

export type ResolvedPath = { ok: true; file: string; mime: string } | { ok: false; status: 400 | 403 | 404 };

/** Maps a request URL to a file under `rendererDir`, or says why not. Pure. */
export function resolveAppPath(rendererDir: string, requestUrl: string): ResolvedPath {
  let url: URL;
  try {
    url = new URL(requestUrl);
  } catch {
    return { ok: false, status: 400 };
  }
  if (!isAppOriginUrl(requestUrl)) return { ok: false, status: 404 };
  let rel: string;
  try {
    rel = decodeURIComponent(url.pathname);
  } catch {
    return { ok: false, status: 400 };
  }
  if (rel === '' || rel === '/') rel = '/index.html';
  if (rel.includes('\0') || rel.includes('\\') || rel.split('/').some((seg) => seg === '..' || seg === '.')) {
    return { ok: false, status: 403 };
  }
  const root = path.resolve(rendererDir);
  const file = path.resolve(root, '.' + rel);
  if (!file.startsWith(root + path.sep)) return { ok: false, status: 403 };
  const mime = MIME[path.extname(file).toLowerCase()];
  if (!mime) return { ok: false, status: 404 };
  return { ok: true, file, mime };
}

/** Headers on every response, errors included. */
export function securityHeaders(contentType: string): Record<string, string> {
  return {
    'Content-Type': contentType,
    'Content-Security-Policy': CSP_HEADER,
    'X-Content-Type-Options': 'nosniff',
    'Cache-Control': 'no-store',
    'Referrer-Policy': 'no-referrer',
    'Cross-Origin-Opener-Policy': 'same-origin',
    'Cross-Origin-Resource-Policy': 'same-origin',
  };
}

export interface AppProtocolOptions {
  rendererDir: string;
  readFile: (file: string) => Promise<Uint8Array>;
  logger: Logger;
}

export function createAppProtocolHandler(opts: AppProtocolOptions): (request: Request) => Promise<Response> {
  const fail = (status: number) =>
    new Response(status === 405 ? 'Method not allowed' : 'Not found', { status, headers: securityHeaders('text/plain; charset=utf-8') });
  return async (request) => {
    if (request.method !== 'GET' && request.method !== 'HEAD') return fail(405);
    const resolved = resolveAppPath(opts.rendererDir, request.url);
    if (!resolved.ok) {
      opts.logger.warn('app protocol: request refused', { url: request.url.slice(0, 200), status: resolved.status });
      return fail(resolved.status === 400 ? 400 : 404);
    }
    try {
      const body = await opts.readFile(resolved.file);
      return new Response(request.method === 'HEAD' ? null : body, { status: 200, headers: securityHeaders(resolved.mime) });
    } catch {
      return fail(404);
    }
  };
}
