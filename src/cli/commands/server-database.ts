/**
 * `vigil server migrate` and `vigil server move-to-postgres` (issue 15):
 *
 *   vigil server migrate [--db FILE | postgres://...]
 *       apply the schema migrations this database has not seen (PostgreSQL: once, under a
 *       lock, however many servers start at the same time) and print the version
 *   vigil server move-to-postgres --from FILE --to postgres://...
 *       copy a stopped server's SQLite database into an empty PostgreSQL database (migrated
 *       first), in one transaction, and print source and target row counts per table;
 *       any difference rolls everything back and exits 1
 *
 * The database URL is never printed with its password (redactDatabaseUrl).
 */
import Database from 'better-sqlite3';
import * as path from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { EXIT, UsageError, type CliIo } from '../io.js';
import { migrate, MIGRATIONS } from '../../server/database/migrations.js';
import { openPostgresDatabase, PostgresConnectError } from '../../server/database/postgres-database.js';
import { migratePostgres, newestVersion, SchemaTooNewError } from '../../server/database/postgres-schema.js';
import { formatMoveReport, MoveError, moveSqliteToPostgres } from '../../server/database/move-sqlite-to-postgres.js';
import { databaseKind, redactDatabaseUrl, type SqlDatabase } from '../../server/database/sql-database.js';

// Its own argument parsing rather than server.ts's, which imports this module.
function parse(argv: string[], options: NonNullable<ParseArgsConfig['options']>): { values: Record<string, string | boolean | undefined>; positionals: string[] } {
  try {
    const r = parseArgs({ args: argv, options, strict: true, allowPositionals: true });
    return { values: r.values as Record<string, string | boolean | undefined>, positionals: r.positionals };
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

async function openPostgres(url: string, io: CliIo): Promise<SqlDatabase | undefined> {
  try {
    return await openPostgresDatabase(url, { poolSize: 2, applicationName: 'vigil-server-cli' });
  } catch (err) {
    if (err instanceof PostgresConnectError) {
      io.stderr(`vigil server: ${err.message}\n`);
      return undefined;
    }
    throw err;
  }
}

/** `vigil server migrate`: exit 0 when the database is at this Vigil's version. */
export async function migrateCommand(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parse(argv, { db: { type: 'string' } });
  if (positionals.length) throw new UsageError(`unexpected argument "${positionals[0]}"`);
  const location = (values.db as string | undefined) ?? io.env.VIGIL_SERVER_DB ?? 'vigil-server.db';
  if (databaseKind(location) === 'postgres') {
    const db = await openPostgres(location, io);
    if (!db) return EXIT.attention;
    try {
      const applied = await migratePostgres(db);
      io.stdout(`${redactDatabaseUrl(location)}: ${applied.length ? `applied schema version ${applied.join(', ')}` : 'nothing to apply'}; at version ${newestVersion()}\n`);
      return EXIT.ok;
    } catch (err) {
      if (err instanceof SchemaTooNewError) {
        io.stderr(`vigil server: ${err.message}\n`);
        return EXIT.attention;
      }
      throw err;
    } finally {
      await db.close();
    }
  }
  const file = path.resolve(io.cwd, location);
  let db: Database.Database;
  try {
    db = new Database(file, { fileMustExist: true });
  } catch (err) {
    throw new UsageError(`cannot open the database ${file}: ${(err as Error).message}`);
  }
  try {
    const applied = migrate(db);
    io.stdout(`${file}: ${applied.length ? `applied schema version ${applied.join(', ')}` : 'nothing to apply'}; at version ${Math.max(...MIGRATIONS.map((m) => m.version))}\n`);
    return EXIT.ok;
  } catch (err) {
    io.stderr(`vigil server: ${file}: ${(err as Error).message}\n`);
    return EXIT.attention;
  } finally {
    db.close();
  }
}

/** `vigil server move-to-postgres`: exit 0 when every row arrived, 1 when nothing was moved. */
export async function moveToPostgresCommand(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parse(argv, { from: { type: 'string' }, to: { type: 'string' } });
  if (positionals.length) throw new UsageError(`unexpected argument "${positionals[0]}"`);
  const from = values.from as string | undefined;
  const to = values.to as string | undefined;
  if (!from) throw new UsageError('--from FILE (the SQLite database to move) is required');
  if (!to || databaseKind(to) !== 'postgres') throw new UsageError('--to postgres://USER@HOST:PORT/DATABASE (an empty PostgreSQL database) is required');
  const db = await openPostgres(to, io);
  if (!db) return EXIT.attention;
  try {
    const applied = await migratePostgres(db);
    if (applied.length) io.stdout(`${redactDatabaseUrl(to)}: applied schema version ${applied.join(', ')}\n`);
    const report = await moveSqliteToPostgres(path.resolve(io.cwd, from), db, { progress: (t, n) => io.stderr(`  ${t}: ${n} rows\n`) });
    io.stdout(formatMoveReport(report));
    io.stdout(`moved ${path.resolve(io.cwd, from)} (schema version ${report.sourceVersion}) to ${redactDatabaseUrl(to)}: every table's row count matches\n`);
    return EXIT.ok;
  } catch (err) {
    if (err instanceof MoveError || err instanceof SchemaTooNewError) {
      if (err instanceof MoveError && err.report) io.stdout(formatMoveReport(err.report));
      io.stderr(`vigil server: ${err.message}\n`);
      return EXIT.attention;
    }
    throw err;
  } finally {
    await db.close();
  }
}
