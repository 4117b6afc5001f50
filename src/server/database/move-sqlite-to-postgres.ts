/**
 * The move from the SQLite store to PostgreSQL (issue 15): every table of a Vigil server's
 * SQLite file copied into an EMPTY, migrated PostgreSQL database, with nothing lost.
 *
 * - The SQLite file is opened read-only, and read inside one read transaction: one snapshot,
 *   even if a server still writes to it (stop the server first all the same: what it writes
 *   after the snapshot is not moved).
 * - Its schema version must be the baseline PostgreSQL started from (7) or PostgreSQL's
 *   current one; any other version is refused (start this Vigil's server on it once first).
 * - The target must be migrated and have no rows in any table: never merged into data.
 * - One PostgreSQL transaction: tables in foreign-key order, multi-row INSERTs in batches,
 *   integers read as BigInt (no rounding), bytes as bytes; identity sequences moved past the
 *   highest id SQLite ever handed out (sqlite_sequence); then the rows of every table are
 *   counted on both sides, and any difference rolls everything back.
 *
 * It uses only SqlDatabase for the target, never the stores.
 */
import Database from 'better-sqlite3';
import { existsSync } from 'node:fs';
import type { SqlDatabase, SqlExecutor, SqlValue } from './sql-database.js';
import { newestVersion, POSTGRES_BASELINE_VERSION, postgresSchemaVersion } from './postgres-schema.js';

export class MoveError extends Error {
  constructor(message: string, readonly report?: MoveReport) {
    super(message);
    this.name = 'MoveError';
  }
}

export interface TableCount {
  table: string;
  source: number;
  target: number;
}

export interface MoveReport {
  sourceVersion: number;
  targetVersion: number;
  tables: TableCount[];
}

export interface MoveOptions {
  /** Rows per INSERT (default 500; fewer when a table has many columns). */
  batchRows?: number;
  /** Told after each table is copied. */
  progress?: (table: string, rows: number) => void;
}

/** PostgreSQL accepts at most 65535 bound values per statement. */
const MAX_BIND_VALUES = 60_000;

const quote = (id: string) => `"${id.replace(/"/g, '""')}"`;

/** Tables ordered so each comes after the tables its foreign keys name. Pure. */
export function foreignKeyOrder(tables: readonly string[], references: ReadonlyMap<string, readonly string[]>): string[] {
  const out: string[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (t: string, path: string[]) => {
    const s = state.get(t);
    if (s === 'done') return;
    if (s === 'visiting') throw new MoveError(`foreign keys form a cycle: ${[...path, t].join(' → ')}`);
    state.set(t, 'visiting');
    for (const r of [...(references.get(t) ?? [])].sort()) if (r !== t && tables.includes(r)) visit(r, [...path, t]);
    state.set(t, 'done');
    out.push(t);
  };
  for (const t of [...tables].sort()) visit(t, []);
  return out;
}

/** A table of source and target row counts, for the terminal. Pure. */
export function formatMoveReport(report: MoveReport): string {
  const w = Math.max(5, ...report.tables.map((t) => t.table.length));
  const lines = [`${'table'.padEnd(w)}  ${'sqlite'.padStart(9)}  ${'postgres'.padStart(9)}`];
  for (const t of report.tables) lines.push(`${t.table.padEnd(w)}  ${String(t.source).padStart(9)}  ${String(t.target).padStart(9)}${t.source === t.target ? '' : '  MISMATCH'}`);
  return `${lines.join('\n')}\n`;
}

function openSource(file: string): Database.Database {
  if (!existsSync(file)) throw new MoveError(`no SQLite database at ${file}`);
  let src: Database.Database;
  try {
    src = new Database(file, { readonly: true, fileMustExist: true });
  } catch (err) {
    throw new MoveError(`cannot open ${file} as a SQLite database: ${(err as Error).message}`);
  }
  try {
    src.pragma('user_version', { simple: true });
  } catch (err) {
    src.close();
    throw new MoveError(`${file} is not a SQLite database: ${(err as Error).message}`);
  }
  return src;
}

async function targetColumns(tx: SqlExecutor): Promise<Map<string, string[]>> {
  const rows = await tx.all<{ table_name: string; column_name: string }>(
    `SELECT table_name, column_name FROM information_schema.columns
      WHERE table_schema = current_schema() AND table_name <> 'schema_migrations' ORDER BY table_name, ordinal_position`,
  );
  const m = new Map<string, string[]>();
  for (const r of rows) m.set(r.table_name, [...(m.get(r.table_name) ?? []), r.column_name]);
  return m;
}

/** Copies `sqliteFile` into `target` (migrated, empty); returns the counts, or throws MoveError. */
export async function moveSqliteToPostgres(sqliteFile: string, target: SqlDatabase, opts: MoveOptions = {}): Promise<MoveReport> {
  if (target.kind !== 'postgres') throw new MoveError('the target must be a PostgreSQL database');
  const src = openSource(sqliteFile);
  try {
    const sourceVersion = src.pragma('user_version', { simple: true }) as number;
    const tables = (src.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name").all() as { name: string }[]).map((r) => r.name);
    if (sourceVersion === 0 || !tables.includes('tenants') || !tables.includes('devices')) {
      throw new MoveError(`${sqliteFile} is not a Vigil server database (schema version ${sourceVersion}; tables: ${tables.join(', ') || 'none'})`);
    }
    const targetVersion = await postgresSchemaVersion(target);
    const newest = newestVersion();
    if (targetVersion !== newest) {
      throw new MoveError(`the PostgreSQL database is at schema version ${targetVersion}, not ${newest}: run \`vigil server migrate --db URL\` first`);
    }
    if (sourceVersion !== POSTGRES_BASELINE_VERSION && sourceVersion !== targetVersion) {
      throw new MoveError(
        `${sqliteFile} is at schema version ${sourceVersion}; the move copies version ${POSTGRES_BASELINE_VERSION} or ${targetVersion}` +
          (sourceVersion < targetVersion ? ': start this version of the Vigil server on it once (it migrates the file), stop it, then move' : ': it is newer than this Vigil; update Vigil'),
      );
    }
    const references = new Map<string, string[]>();
    for (const t of tables) references.set(t, (src.pragma(`foreign_key_list(${quote(t)})`) as { table: string }[]).map((f) => f.table));
    const order = foreignKeyOrder(tables, references);
    const sequences = new Map<string, number>();
    if ((src.prepare("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_sequence'").get() as unknown) !== undefined) {
      for (const r of src.prepare('SELECT name, seq FROM sqlite_sequence').all() as { name: string; seq: number }[]) sequences.set(r.name, r.seq);
    }

    return await target.transaction(async (tx) => {
      // One read snapshot of the source for the copy and the counts.
      src.exec('BEGIN');
      try {
        const columns = await targetColumns(tx);
        const missing = tables.filter((t) => !columns.has(t));
        if (missing.length) throw new MoveError(`the PostgreSQL database has no table ${missing.join(', ')}: is it a Vigil database at schema version ${newest}?`);
        const nonEmpty: string[] = [];
        for (const t of columns.keys()) if (await tx.get(`SELECT 1 AS x FROM ${quote(t)} LIMIT 1`)) nonEmpty.push(t);
        if (nonEmpty.length) throw new MoveError(`the PostgreSQL database is not empty (rows in ${nonEmpty.join(', ')}): the move only fills an empty, migrated database`);

        for (const table of order) {
          const srcCols = (src.pragma(`table_info(${quote(table)})`) as { name: string }[]).map((c) => c.name);
          const absent = srcCols.filter((c) => !columns.get(table)!.includes(c));
          if (absent.length) throw new MoveError(`table ${table}: PostgreSQL has no column ${absent.join(', ')}`);
          const perBatch = Math.max(1, Math.min(opts.batchRows ?? 500, Math.floor(MAX_BIND_VALUES / srcCols.length)));
          const colList = srcCols.map(quote).join(', ');
          const rowMarks = `(${srcCols.map(() => '?').join(', ')})`;
          const stmt = src.prepare(`SELECT ${colList} FROM ${quote(table)}`).raw(true).safeIntegers(true);
          let batch: SqlValue[][] = [];
          let copied = 0;
          const flush = async () => {
            if (batch.length === 0) return;
            try {
              await tx.run(`INSERT INTO ${quote(table)} (${colList}) VALUES ${batch.map(() => rowMarks).join(', ')}`, batch.flat());
            } catch (err) {
              throw new MoveError(`copying table ${table} (rows ${copied + 1}-${copied + batch.length}): ${(err as Error).message}`);
            }
            copied += batch.length;
            batch = [];
          };
          for (const row of stmt.iterate() as Iterable<SqlValue[]>) {
            batch.push(row);
            if (batch.length >= perBatch) await flush();
          }
          await flush();
          opts.progress?.(table, copied);
        }

        // Identity columns continue past every id SQLite handed out (AUTOINCREMENT never reuses one).
        const identities = await tx.all<{ table_name: string; column_name: string }>(
          `SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = current_schema() AND is_identity = 'YES'`,
        );
        for (const { table_name: t, column_name: c } of identities) {
          const max = await tx.get<{ m: number | null }>(`SELECT MAX(${quote(c)}) AS m FROM ${quote(t)}`);
          const next = Math.max(max?.m ?? 0, sequences.get(t) ?? 0) + 1;
          await tx.get(`SELECT setval(pg_get_serial_sequence(?, ?), ?, false)`, [quote(t), c, next]);
        }

        const counts: TableCount[] = [];
        for (const table of order) {
          const source = Number((src.prepare(`SELECT COUNT(*) AS n FROM ${quote(table)}`).get() as { n: number }).n);
          const target = (await tx.get<{ n: number }>(`SELECT COUNT(*) AS n FROM ${quote(table)}`))!.n;
          counts.push({ table, source, target });
        }
        const report: MoveReport = { sourceVersion, targetVersion, tables: counts };
        const wrong = counts.filter((c) => c.source !== c.target);
        if (wrong.length) throw new MoveError(`row counts differ in ${wrong.map((w) => `${w.table} (${w.source} in SQLite, ${w.target} in PostgreSQL)`).join(', ')}: nothing was moved`, report);
        return report;
      } finally {
        src.exec('COMMIT');
      }
    });
  } finally {
    src.close();
  }
}
