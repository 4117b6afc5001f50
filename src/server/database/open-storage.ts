/**
 * The one place that turns a `--db` / VIGIL_SERVER_DB value into a database: a file path
 * is SQLite, a postgres:// URL PostgreSQL (sql-database.ts, databaseKind).
 */
import * as path from 'node:path';
import { databaseKind, redactDatabaseUrl, type SqlDatabase } from './sql-database.js';
import { openSqliteDatabase } from './sqlite-database.js';
import { storageOver, type Storage } from './storage.js';

export class DatabaseOpenError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DatabaseOpenError';
  }
}

/** A SQLite path resolved against `cwd`; a PostgreSQL URL as given. */
export function resolveDatabaseLocation(value: string, cwd: string): string {
  return databaseKind(value) === 'postgres' ? value : path.resolve(cwd, value);
}

/** Opens and migrates the database `location` names. Errors name it redacted, never with a password. */
export async function openSqlDatabase(location: string): Promise<SqlDatabase> {
  if (databaseKind(location) === 'postgres') {
    throw new DatabaseOpenError(`cannot open ${redactDatabaseUrl(location)}: PostgreSQL support is not in this build`);
  }
  return openSqliteDatabase(location);
}

export async function openStorage(location: string): Promise<Storage> {
  return storageOver(await openSqlDatabase(location));
}
