/**
 * Fleet-page sign-in sessions, kept on the server so that signing out ends one at once and
 * an admin-token reset ends them all. The cookie carries 32 random bytes; only their
 * SHA-256 is stored, with the hash of the admin token the session was opened with: a
 * session is valid only while that is still the admin token.
 */
import type { SqlExecutor } from './sql-database.js';

export class SessionStore {
  constructor(private readonly db: SqlExecutor) {}

  async create(idHash: Buffer, adminTokenHash: Buffer, nowMs: number, expiresAtMs: number): Promise<void> {
    await this.db.run('INSERT INTO admin_sessions (id_hash, admin_token_hash, created_at, expires_at) VALUES (?, ?, ?, ?)', [idHash, adminTokenHash, nowMs, expiresAtMs]);
  }

  /** The admin-token hash of an unexpired session, or undefined. */
  async adminTokenHashOf(idHash: Buffer, nowMs: number): Promise<Buffer | undefined> {
    const r = await this.db.get<{ admin_token_hash: Buffer }>('SELECT admin_token_hash FROM admin_sessions WHERE id_hash = ? AND expires_at > ?', [idHash, nowMs]);
    return r?.admin_token_hash;
  }

  async remove(idHash: Buffer): Promise<void> {
    await this.db.run('DELETE FROM admin_sessions WHERE id_hash = ?', [idHash]);
  }

  async removeAll(): Promise<number> {
    return (await this.db.run('DELETE FROM admin_sessions')).changes;
  }

  async purge(nowMs: number): Promise<number> {
    return (await this.db.run('DELETE FROM admin_sessions WHERE expires_at <= ?', [nowMs])).changes;
  }
}
