/**
 * The database every in-process test server runs on, from this one function: today a
 * SQLite file in a temporary folder. (issue 15: with VIGIL_TEST_DB=postgres it is to
 * return a fresh PostgreSQL database, so the same server tests run on both stores.)
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { SqlDatabase } from '../../../src/server/database/sql-database.js';
import { openSqliteDatabase } from '../../../src/server/database/sqlite-database.js';

export interface TestDatabase {
  database: SqlDatabase;
  /** Where it is (a file path, or a database URL): pass it back as `location` to reopen it (a server restart). */
  location: string;
}

/** A new empty, migrated database; or, given `location`, the one there again. */
export async function openTestDatabase(opts: { location?: string } = {}): Promise<TestDatabase> {
  const location = opts.location ?? path.join(await mkdtemp(path.join(tmpdir(), 'vigil-srv-')), 'server.db');
  return { database: openSqliteDatabase(location), location };
}
