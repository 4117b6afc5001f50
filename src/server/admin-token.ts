/**
 * Where the admin token comes from when the server starts: VIGIL_ADMIN_TOKEN if set;
 * otherwise the one whose hash this database keeps; otherwise a new one, generated now,
 * whose hash is kept and which is returned so the caller prints it once.
 */
import type { TenantStore } from './database/tenant-store.js';
import type { SessionStore } from './database/session-store.js';
import { hashToken, newAdminToken } from './secret-tokens.js';

export const ADMIN_TOKEN_ENV = 'VIGIL_ADMIN_TOKEN';
const HASH_KEY = 'admin_token_sha256';

export type AdminTokenSetup =
  | { source: 'env'; tokenHash: Buffer }
  | { source: 'stored'; tokenHash: Buffer }
  | { source: 'generated'; tokenHash: Buffer; token: string };

export class AdminTokenError extends Error {}

export async function resolveAdminToken(store: TenantStore, env: NodeJS.ProcessEnv): Promise<AdminTokenSetup> {
  const fromEnv = env[ADMIN_TOKEN_ENV];
  if (fromEnv !== undefined && fromEnv !== '') {
    if (fromEnv.length < 24) throw new AdminTokenError(`${ADMIN_TOKEN_ENV} must be at least 24 characters (use a random value)`);
    return { source: 'env', tokenHash: hashToken(fromEnv) };
  }
  const stored = await store.getSetting(HASH_KEY);
  if (stored) return { source: 'stored', tokenHash: Buffer.from(stored, 'hex') };
  const token = newAdminToken();
  // Several server processes starting together on a new database: the first one's token wins.
  if (!(await store.putSettingIfAbsent(HASH_KEY, hashToken(token).toString('hex')))) {
    const winner = await store.getSetting(HASH_KEY);
    if (winner) return { source: 'stored', tokenHash: Buffer.from(winner, 'hex') };
  }
  return { source: 'generated', tokenHash: hashToken(token), token };
}

/**
 * Replaces the stored admin token and ends every fleet-page session (also those of a server
 * running on this database right now); returns the new token (to print once).
 */
export async function resetAdminToken(store: TenantStore, sessions: SessionStore): Promise<string> {
  const token = newAdminToken();
  await store.putSetting(HASH_KEY, hashToken(token).toString('hex'));
  await sessions.removeAll();
  return token;
}
