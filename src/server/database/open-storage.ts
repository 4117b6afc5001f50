/**
 * The one place that turns a `--db` / VIGIL_SERVER_DB value into a database: a file path
 * is SQLite, a postgres:// URL PostgreSQL (sql-database.ts, databaseKind).
 */
import * as path from 'node:path';
import { databaseKind, type SqlDatabase } from './sql-database.js';
import { openSqliteDatabase } from './sqlite-database.js';
import { storageOver, type Storage } from './storage.js';

/** A SQLite path resolved against `cwd`; a PostgreSQL URL as given. */
export function resolveDatabaseLocation(value: string, cwd: string): string {
  return databaseKind(value) === 'postgres' ? value : path.resolve(cwd, value);
}

/** Opens and migrates the database `location` names. Errors name it redacted, never with a password. */
export async function openSqlDatabase(location: string, opts: OpenOptions = {}): Promise<SqlDatabase> {
  // Loaded only when asked for: a SQLite server never loads pg.
  if (databaseKind(location) === 'postgres') {
    return (await import('./postgres-schema.js')).openMigratedPostgresDatabase(location, opts.onConnectionError ? { onIdleError: opts.onConnectionError } : {});
  }
  return openSqliteDatabase(location);
}

export interface OpenOptions {
  /**
   * A pooled PostgreSQL connection failed while idle (the database restarted, a network
   * blip): the pool drops it and opens another when needed; the server logs it.
   */
  onConnectionError?: (err: Error) => void;
}

export async function openStorage(location: string, opts: OpenOptions = {}): Promise<Storage> {
  return storageOver(await openSqlDatabase(location, opts));
}
