/**
 * Opens the reference backend's embedded SQLite database with the migrations applied.
 *
 * - WAL: readers never block the writer, so the fleet page renders while heartbeats stream in.
 * - synchronous=NORMAL by default: a commit survives a crash of the server process, and
 *   on power loss only the last heartbeats may be lost, which is harmless (latest-wins, the
 *   next one arrives within a minute). Alert inserts switch to synchronous=FULL for their
 *   transaction (ingest-service.ts): an alert is acknowledged to the agent, which then
 *   forgets it, only once it is on disk.
 */
import Database from 'better-sqlite3';
import { chmodSync, closeSync, existsSync, openSync } from 'node:fs';
import { migrate } from './migrations.js';

export type Db = Database.Database;

export function openDatabase(file: string): Db {
  if (file !== ':memory:' && !existsSync(file)) {
    // Create the file 0600 before SQLite does: it will hold device keys.
    closeSync(openSync(file, 'a', 0o600));
    chmodSync(file, 0o600);
  }
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  migrate(db);
  return db;
}
