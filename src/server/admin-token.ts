/**
 * Where the admin token comes from when the server starts: VIGIL_ADMIN_TOKEN if set;
 * otherwise the one whose hash this database keeps; otherwise a new one, generated now,
 * whose hash is kept and which is returned so the caller prints it once.
 */
import { randomBytes } from 'node:crypto';
import type { TenantStore } from './database/tenant-store.js';
import { hashToken, newAdminToken } from './secret-tokens.js';

export const ADMIN_TOKEN_ENV = 'VIGIL_ADMIN_TOKEN';
const HASH_KEY = 'admin_token_sha256';
const SESSION_KEY = 'session_key';

export type AdminTokenSetup =
  | { source: 'env'; tokenHash: Buffer }
  | { source: 'stored'; tokenHash: Buffer }
  | { source: 'generated'; tokenHash: Buffer; token: string };

export class AdminTokenError extends Error {}

export function resolveAdminToken(store: TenantStore, env: NodeJS.ProcessEnv): AdminTokenSetup {
  const fromEnv = env[ADMIN_TOKEN_ENV];
  if (fromEnv !== undefined && fromEnv !== '') {
    if (fromEnv.length < 24) throw new AdminTokenError(`${ADMIN_TOKEN_ENV} must be at least 24 characters (use a random value)`);
    return { source: 'env', tokenHash: hashToken(fromEnv) };
  }
  const stored = store.getSetting(HASH_KEY);
  if (stored) return { source: 'stored', tokenHash: Buffer.from(stored, 'hex') };
  const token = newAdminToken();
  store.putSetting(HASH_KEY, hashToken(token).toString('hex'));
  return { source: 'generated', tokenHash: hashToken(token), token };
}

/** Replaces the stored admin token; returns the new one (to print once). */
export function resetAdminToken(store: TenantStore): string {
  const token = newAdminToken();
  store.putSetting(HASH_KEY, hashToken(token).toString('hex'));
  return token;
}

/** The key that signs fleet-page sessions, created once per database. */
export function sessionKey(store: TenantStore): Buffer {
  const stored = store.getSetting(SESSION_KEY);
  if (stored) return Buffer.from(stored, 'base64url');
  const key = randomBytes(32);
  store.putSetting(SESSION_KEY, key.toString('base64url'));
  return key;
}
