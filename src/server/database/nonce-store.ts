/**
 * Request nonces seen within the replay window, per device, in the database (so a restart
 * of the server does not reopen the window). A nonce is claimed in the same transaction as
 * the write it authorises: the request either happens once or not at all.
 */
import type { Db } from './open-database.js';

export class NonceStore {
  private readonly claimStmt;
  private readonly purgeStmt;

  constructor(db: Db) {
    this.claimStmt = db.prepare('INSERT OR IGNORE INTO request_nonces (device_id, nonce, expires_at) VALUES (?, ?, ?)');
    this.purgeStmt = db.prepare('DELETE FROM request_nonces WHERE expires_at < ?');
  }

  /** False when this device already used this nonce (a replay). */
  claim(deviceId: string, nonce: string, expiresAtMs: number): boolean {
    return this.claimStmt.run(deviceId, nonce, expiresAtMs).changes === 1;
  }

  /** Forgets nonces whose requests could no longer pass the timestamp check anyway. */
  purge(nowMs: number): number {
    return this.purgeStmt.run(nowMs).changes;
  }
}
