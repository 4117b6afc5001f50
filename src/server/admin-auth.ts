/**
 * The partner's admin access: the admin API takes `Authorization: Bearer <admin token>`;
 * the fleet page takes a session cookie set by its login form (HttpOnly, SameSite=Strict,
 * Secure when served over https, path /). The cookie holds a random session id; the server
 * keeps its hash (database/session-store.ts), so sign-out ends the session, and a session
 * opened with an admin token that is no longer the admin token (reset, or another
 * VIGIL_ADMIN_TOKEN) is refused. The server stores only the admin token's hash.
 *
 * Why a login form and not HTTP basic auth: browsers cache basic credentials for the whole
 * session with no way to log out, and send them to every request for the origin; the
 * cookie is scoped, expires, is unreadable to scripts and is never sent cross-site.
 */
import { randomBytes } from 'node:crypto';
import { hashToken, sameHash } from './secret-tokens.js';
import type { SessionStore } from './database/session-store.js';

export const SESSION_COOKIE = 'vigil_session';
export const SESSION_TTL_MS = 12 * 3600 * 1000;
const SESSION_ID = /^[A-Za-z0-9_-]{43}$/;

export class AdminAuth {
  constructor(
    private readonly tokenHash: Buffer,
    private readonly sessions: SessionStore,
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

  async newSession(): Promise<{ value: string; maxAgeSec: number }> {
    const id = randomBytes(32).toString('base64url');
    const now = this.now();
    await this.sessions.create(hashToken(id), this.tokenHash, now, now + SESSION_TTL_MS);
    return { value: id, maxAgeSec: SESSION_TTL_MS / 1000 };
  }

  async checkSession(cookieHeader: string | undefined): Promise<boolean> {
    const id = sessionId(cookieHeader);
    if (!id) return false;
    const openedWith = await this.sessions.adminTokenHashOf(hashToken(id), this.now());
    return openedWith !== undefined && sameHash(openedWith, this.tokenHash);
  }

  /** Sign-out: the session named by the cookie ends on the server. */
  async endSession(cookieHeader: string | undefined): Promise<void> {
    const id = sessionId(cookieHeader);
    if (id) await this.sessions.remove(hashToken(id));
  }
}

function sessionId(cookieHeader: string | undefined): string | undefined {
  const value = readCookie(cookieHeader, SESSION_COOKIE);
  return value && SESSION_ID.test(value) ? value : undefined;
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
