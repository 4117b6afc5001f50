/**
 * PostgreSQL's schema (postgres-schema.ts) against SQLite's (migrations.ts): same tables, same
 * columns in the same order, same NOT NULLs and type classes, same indexes. A SQLite migration
 * added without its PostgreSQL twin fails here.
 */
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate, MIGRATIONS } from '../../src/server/database/migrations.js';
import { migratePostgres, POSTGRES_BASELINE_VERSION, POSTGRES_MIGRATIONS, postgresSchemaVersion } from '../../src/server/database/postgres-schema.js';
import { openPostgresDatabase } from '../../src/server/database/postgres-database.js';
import { createDatabase, sharedAdminUrl } from '../helpers/postgres-cluster.js';
import { needsTools } from '../helpers/system-tool.js';
import type { SqlDatabase } from '../../src/server/database/sql-database.js';

interface Column {
  name: string;
  type: 'integer' | 'text' | 'bytes' | 'real';
  notNull: boolean;
}

function sqliteType(t: string): Column['type'] {
  const u = t.toUpperCase();
  if (u.includes('INT')) return 'integer';
  if (u === 'BLOB') return 'bytes';
  if (u === 'REAL') return 'real';
  return 'text';
}

function postgresType(t: string): Column['type'] {
  if (t === 'bigint' || t === 'integer' || t === 'smallint') return 'integer';
  if (t === 'bytea') return 'bytes';
  if (t === 'double precision' || t === 'real') return 'real';
  return 'text';
}

describe('the PostgreSQL schema', needsTools('initdb', 'pg_ctl'), () => {
  const sqlite = new Database(':memory:');
  const sqliteNewest = Math.max(...MIGRATIONS.map((m) => m.version));
  let pg: { database: SqlDatabase; close: () => Promise<void> };
  beforeAll(async () => {
    migrate(sqlite);
    // PostgreSQL migrated to SQLite's newest version, whatever PostgreSQL's own newest is.
    const database = await openPostgresDatabase(await createDatabase(await sharedAdminUrl()), { poolSize: 2 });
    await migratePostgres(database, POSTGRES_MIGRATIONS.filter((m) => m.version <= sqliteNewest));
    pg = { database, close: () => database.close() };
  });
  afterAll(async () => {
    sqlite.close();
    await pg?.close();
  });

  it('has every SQLite migration since the baseline under the same number', async () => {
    const pgVersions = POSTGRES_MIGRATIONS.map((m) => m.version);
    for (const m of MIGRATIONS.filter((x) => x.version >= POSTGRES_BASELINE_VERSION)) expect(pgVersions, `SQLite migration ${m.version} (${m.name})`).toContain(m.version);
    expect(await postgresSchemaVersion(pg.database)).toBe(sqliteNewest);
  });

  it('has the same tables and columns, in the same order, with the same NOT NULLs and type classes', async () => {
    const sqliteTables = (sqlite.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name").all() as { name: string }[]).map((r) => r.name);
    const sqliteSchema = Object.fromEntries(
      sqliteTables.map((t) => [
        t,
        (sqlite.pragma(`table_info(${t})`) as { name: string; type: string; notnull: number; pk: number }[]).map(
          // SQLite lets a non-INTEGER primary key hold NULL; PostgreSQL never does: compare the others.
          (c): Column => ({ name: c.name, type: sqliteType(c.type), notNull: c.pk > 0 ? true : c.notnull === 1 }),
        ),
      ]),
    );
    const rows = await pg.database.all<{ table_name: string; column_name: string; data_type: string; is_nullable: string }>(
      `SELECT table_name, column_name, data_type, is_nullable FROM information_schema.columns
        WHERE table_schema = 'public' AND table_name <> 'schema_migrations' ORDER BY table_name, ordinal_position`,
    );
    const pgSchema: Record<string, Column[]> = {};
    for (const r of rows) (pgSchema[r.table_name] ??= []).push({ name: r.column_name, type: postgresType(r.data_type), notNull: r.is_nullable === 'NO' });
    expect(Object.keys(pgSchema).sort()).toEqual(sqliteTables);
    expect(pgSchema).toEqual(sqliteSchema);
  });

  it('has the same indexes, plus the case-insensitive unique names SQLite declares with COLLATE NOCASE', async () => {
    const sqliteIndexes = (sqlite.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND name NOT LIKE 'sqlite_autoindex_%' ORDER BY name").all() as { name: string }[]).map((r) => r.name);
    const pgIndexes = (
      await pg.database.all<{ indexname: string }>(
        `SELECT indexname FROM pg_indexes WHERE schemaname = 'public' AND indexname NOT LIKE '%\\_pkey' AND indexname NOT LIKE '%\\_key' ORDER BY indexname`,
      )
    ).map((r) => r.indexname);
    expect(pgIndexes.filter((n) => !n.endsWith('_nocase'))).toEqual(sqliteIndexes);
    expect(pgIndexes.filter((n) => n.endsWith('_nocase'))).toEqual(['notify_channels_name_nocase', 'tenants_name_nocase']);
  });

  it('brings a database at the baseline up to the newest version, each later step once', async () => {
    const db = await openPostgresDatabase(await createDatabase(await sharedAdminUrl()), { poolSize: 1 });
    try {
      expect(await migratePostgres(db, POSTGRES_MIGRATIONS.filter((m) => m.version <= POSTGRES_BASELINE_VERSION))).toEqual([POSTGRES_BASELINE_VERSION]);
      const later = POSTGRES_MIGRATIONS.filter((m) => m.version > POSTGRES_BASELINE_VERSION).map((m) => m.version);
      expect(await migratePostgres(db)).toEqual(later);
      expect(await migratePostgres(db)).toEqual([]);
      expect(await db.all('SELECT version FROM schema_migrations ORDER BY version')).toEqual(POSTGRES_MIGRATIONS.map((m) => ({ version: m.version })));
    } finally {
      await db.close();
    }
  });

  it('refuses a tenant name that differs only in case, as SQLite does', async () => {
    await pg.database.run('INSERT INTO tenants (id, name, created_at) VALUES (?, ?, ?)', ['t1', 'Acme GmbH', 1]);
    await expect(pg.database.run('INSERT INTO tenants (id, name, created_at) VALUES (?, ?, ?)', ['t2', 'ACME gmbh', 2])).rejects.toMatchObject({ code: '23505' });
    sqlite.prepare('INSERT INTO tenants (id, name, created_at) VALUES (?, ?, ?)').run('t1', 'Acme GmbH', 1);
    expect(() => sqlite.prepare('INSERT INTO tenants (id, name, created_at) VALUES (?, ?, ?)').run('t2', 'ACME gmbh', 2)).toThrow(/UNIQUE/);
  });
});
