/**
 * The database every in-process test server runs on, from this one function: a SQLite
 * file in a temporary folder, or, with VIGIL_TEST_DB=postgres (vitest's server-postgres
 * project), a fresh database on the run's throwaway PostgreSQL cluster, so the same server
 * tests run on both stores.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { SqlDatabase } from '../../../src/server/database/sql-database.js';
import { openSqliteDatabase } from '../../../src/server/database/sqlite-database.js';
import { createDatabase, MIGRATED_TEMPLATE, openPostgresTestDatabase, sharedAdminUrl } from '../../helpers/postgres-cluster.js';

export interface TestDatabase {
  database: SqlDatabase;
  /** Where it is (a file path, or a database URL): pass it back as `location` to reopen it (a server restart). */
  location: string;
}

/** A new empty, migrated database; or, given `location`, the one there again. */
export async function openTestDatabase(opts: { location?: string } = {}): Promise<TestDatabase> {
  if (process.env.VIGIL_TEST_DB === 'postgres') return openPostgresTestDatabase(opts);
  const location = opts.location ?? path.join(await mkdtemp(path.join(tmpdir(), 'vigil-srv-')), 'server.db');
  return { database: openSqliteDatabase(location), location };
}

/**
 * Where a `vigil server` child process of a test keeps its data (its `--db` value): a
 * SQLite file in `dir`, or a fresh migrated PostgreSQL database in the server-postgres
 * project. Nothing is opened here.
 */
export async function newTestDatabaseLocation(dir: string): Promise<string> {
  if (process.env.VIGIL_TEST_DB === 'postgres') return createDatabase(await sharedAdminUrl(), { template: MIGRATED_TEMPLATE });
  return path.join(dir, 'server.db');
}
