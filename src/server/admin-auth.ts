/**
 * The partner's admin access: the admin API takes `Authorization: Bearer <admin token>`;
 * the fleet page takes a session cookie set by its login form (HttpOnly, SameSite=Strict,
 * Secure when served over https, path /), whose value is an expiry signed with a random
 * server key. The server stores only the admin token's hash.
 *
 * Why a login form and not HTTP basic auth: browsers cache basic credentials for the whole
 * session with no way to log out, and send them to every request for the origin; the
 * cookie is scoped, expires, is unreadable to scripts and is never sent cross-site.
 */
import { createHmac } from 'node:crypto';
import { hashToken, sameHash } from './secret-tokens.js';

export const SESSION_COOKIE = 'vigil_session';
export const SESSION_TTL_MS = 12 * 3600 * 1000;

export class AdminAuth {
  constructor(
    private readonly tokenHash: Buffer,
    private readonly sessionKey: Buffer,
    private readonly now: () => number = Date.now,
  ) {}

  checkToken(token: string | undefined): boolean {
    if (!token || token.length > 512) return false;
    return sameHash(hashToken(token), this.tokenHash);
  }

  /** `Authorization: Bearer <token>`. */
  checkBearer(authorization: string | undefined): boolean {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
    return m !== null && this.checkToken(m[1]);
  }

  newSession(): { value: string; maxAgeSec: number } {
    const expires = this.now() + SESSION_TTL_MS;
    return { value: `${expires}.${this.mac(expires)}`, maxAgeSec: SESSION_TTL_MS / 1000 };
  }

  checkSession(cookieHeader: string | undefined): boolean {
    const value = readCookie(cookieHeader, SESSION_COOKIE);
    const m = value ? /^(\d{1,16})\.([A-Za-z0-9_-]{43})$/.exec(value) : null;
    if (!m) return false;
    const expires = Number(m[1]);
    if (expires <= this.now()) return false;
    return sameHash(Buffer.from(this.mac(expires)), Buffer.from(m[2]!));
  }

  private mac(expires: number): string {
    return createHmac('sha256', this.sessionKey).update(`vigil-session:${expires}`).digest('base64url');
  }
}

export function readCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const i = part.indexOf('=');
    if (i > 0 && part.slice(0, i).trim() === name) return part.slice(i + 1).trim();
  }
  return undefined;
}

export function sessionCookie(value: string, maxAgeSec: number, secure: boolean): string {
  return `${SESSION_COOKIE}=${value}; Path=/; Max-Age=${maxAgeSec}; HttpOnly; SameSite=Strict${secure ? '; Secure' : ''}`;
}

export function clearedSessionCookie(secure: boolean): string {
  return `${SESSION_COOKIE}=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict${secure ? '; Secure' : ''}`;
}
