/**
 * Fleet-page sign-in sessions, kept on the server so that signing out ends one at once and
 * an admin-token reset ends them all. The cookie carries 32 random bytes; only their
 * SHA-256 is stored, with the hash of the admin token the session was opened with: a
 * session is valid only while that is still the admin token.
 */
import type { Db } from './open-database.js';

export class SessionStore {
  private readonly q;

  constructor(db: Db) {
    this.q = {
      insert: db.prepare('INSERT INTO admin_sessions (id_hash, admin_token_hash, created_at, expires_at) VALUES (?, ?, ?, ?)'),
      get: db.prepare<[Buffer, number], { admin_token_hash: Buffer }>('SELECT admin_token_hash FROM admin_sessions WHERE id_hash = ? AND expires_at > ?'),
      remove: db.prepare('DELETE FROM admin_sessions WHERE id_hash = ?'),
      removeAll: db.prepare('DELETE FROM admin_sessions'),
      purge: db.prepare('DELETE FROM admin_sessions WHERE expires_at <= ?'),
    };
  }

  create(idHash: Buffer, adminTokenHash: Buffer, nowMs: number, expiresAtMs: number): void {
    this.q.insert.run(idHash, adminTokenHash, nowMs, expiresAtMs);
  }

  /** The admin-token hash of an unexpired session, or undefined. */
  adminTokenHashOf(idHash: Buffer, nowMs: number): Buffer | undefined {
    return this.q.get.get(idHash, nowMs)?.admin_token_hash;
  }

  remove(idHash: Buffer): void {
    this.q.remove.run(idHash);
  }

  removeAll(): number {
    return this.q.removeAll.run().changes;
  }

  purge(nowMs: number): number {
    return this.q.purge.run(nowMs).changes;
  }
}
