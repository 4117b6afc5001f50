/**
 * Request nonces seen within the replay window, per device, in the database (so a restart
 * of the server does not reopen the window, and a request replayed to another server
 * process is refused too). A nonce is claimed in the same transaction as the write it
 * authorises: the request either happens once or not at all.
 */
import type { SqlExecutor } from './sql-database.js';

export class NonceStore {
  constructor(private readonly db: SqlExecutor) {}

  /** False when this device already used this nonce (a replay). */
  async claim(deviceId: string, nonce: string, expiresAtMs: number): Promise<boolean> {
    const r = await this.db.run(
      'INSERT INTO request_nonces (device_id, nonce, expires_at) VALUES (?, ?, ?) ON CONFLICT (device_id, nonce) DO NOTHING',
      [deviceId, nonce, expiresAtMs],
    );
    return r.changes === 1;
  }

  /** Forgets nonces whose requests could no longer pass the timestamp check anyway. */
  async purge(nowMs: number): Promise<number> {
    return (await this.db.run('DELETE FROM request_nonces WHERE expires_at < ?', [nowMs])).changes;
  }
}
