/**
 * The PostgreSQL SqlDatabase (postgres-database.ts) and schema (postgres-schema.ts) against a
 * real PostgreSQL: the throwaway cluster of the server-postgres project's global setup.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer } from 'node:net';
import { openPostgresDatabase, PostgresConnectError } from '../../src/server/database/postgres-database.js';
import { MIGRATION_LOCK_KEY, MigrationLockTimeoutError, migratePostgres, newestVersion, POSTGRES_MIGRATIONS, SchemaTooNewError } from '../../src/server/database/postgres-schema.js';
import type { SqlDatabase } from '../../src/server/database/sql-database.js';
import { createDatabase, openPostgresTestDatabase, sharedAdminUrl } from '../helpers/postgres-cluster.js';
import { needsTools } from '../helpers/system-tool.js';

describe('PostgreSQL database', needsTools('initdb', 'pg_ctl'), () => {
  let adminUrl: string;
  let db: SqlDatabase;
  beforeAll(async () => {
    adminUrl = await sharedAdminUrl();
    db = await openPostgresDatabase(await createDatabase(adminUrl), { poolSize: 4 });
  });
  afterAll(async () => {
    await db?.close();
  });

  it('numbers ? placeholders, and leaves a ? inside a string literal alone', async () => {
    const row = await db.get<{ a: number; b: string; c: string }>("SELECT ?::bigint AS a, 'why?' AS b, ?::text AS c", [41, 'x?']);
    expect(row).toEqual({ a: 41, b: 'why?', c: 'x?' });
    await expect(db.get('SELECT ?::int AS a', [])).rejects.toThrow(/1 placeholders but 0 values/);
  });

  it('round-trips BIGINT, COUNT and SUM as numbers and BYTEA as Buffer; refuses to round an int8', async () => {
    await db.run('CREATE TABLE rt (id BIGINT PRIMARY KEY, at BIGINT NOT NULL, b BYTEA, f DOUBLE PRECISION)');
    const bytes = Buffer.from([0, 1, 2, 0xfe, 0xff, 0x00, 0x80]);
    const big = Date.UTC(2026, 11, 5) * 1000; // µs: beyond 2^32, within 2^53
    await db.run('INSERT INTO rt (id, at, b, f) VALUES (?, ?, ?, ?)', [1, big, bytes, 0.25]);
    await db.run('INSERT INTO rt (id, at, b, f) VALUES (?, ?, ?, ?)', [2n, Number.MAX_SAFE_INTEGER, new Uint8Array([9, 8]), null]);
    const rows = await db.all<{ id: number; at: number; b: Buffer; f: number | null }>('SELECT * FROM rt ORDER BY id');
    expect(rows[0]).toEqual({ id: 1, at: big, b: bytes, f: 0.25 });
    expect(Buffer.isBuffer(rows[0]!.b)).toBe(true);
    expect(rows[1]).toEqual({ id: 2, at: Number.MAX_SAFE_INTEGER, b: Buffer.from([9, 8]), f: null });
    expect(await db.get('SELECT COUNT(*) AS n, SUM(id) AS s FROM rt')).toEqual({ n: 2, s: 3 });
    await expect(db.get("SELECT '9007199254740993'::bigint AS x")).rejects.toThrow(/9007199254740993.*cannot hold exactly/);
    await expect(db.get('SELECT SUM(at) AS s FROM rt')).rejects.toThrow(/cannot hold exactly/);
  });

  it('ON CONFLICT DO NOTHING reports 0 or 1 changes; UPDATE reports rows touched', async () => {
    await db.run('CREATE TABLE oc (k TEXT PRIMARY KEY, v BIGINT NOT NULL)');
    expect(await db.run('INSERT INTO oc (k, v) VALUES (?, ?) ON CONFLICT (k) DO NOTHING', ['a', 1])).toEqual({ changes: 1 });
    expect(await db.run('INSERT INTO oc (k, v) VALUES (?, ?) ON CONFLICT (k) DO NOTHING', ['a', 2])).toEqual({ changes: 0 });
    expect(await db.run('INSERT INTO oc (k, v) VALUES (?, ?) ON CONFLICT (k) DO UPDATE SET v = excluded.v', ['a', 3])).toEqual({ changes: 1 });
    await db.run('INSERT INTO oc (k, v) VALUES (?, ?)', ['b', 1]);
    expect(await db.run('UPDATE oc SET v = v + 1')).toEqual({ changes: 2 });
    expect(await db.get('SELECT v FROM oc WHERE k = ?', ['a'])).toEqual({ v: 4 });
  });

  it('a transaction that throws rolls back; one that resolves commits', async () => {
    await db.run('CREATE TABLE tx (k TEXT PRIMARY KEY)');
    await expect(
      db.transaction(async (tx) => {
        await tx.run('INSERT INTO tx (k) VALUES (?)', ['lost']);
        throw new Error('boom after the insert');
      }),
    ).rejects.toThrow('boom after the insert');
    await expect(
      db.transaction(async (tx) => {
        await tx.run('INSERT INTO tx (k) VALUES (?)', ['also lost']);
        await tx.run('INSERT INTO tx (k) VALUES (?)', ['also lost']); // unique violation
      }),
    ).rejects.toMatchObject({ code: '23505', message: expect.stringMatching(/duplicate key.*in: INSERT INTO tx/) });
    expect(await db.transaction(async (tx) => (await tx.run('INSERT INTO tx (k) VALUES (?)', ['kept'])).changes)).toBe(1);
    expect(await db.all('SELECT k FROM tx')).toEqual([{ k: 'kept' }]);
  });

  it('durable: false commits without waiting for the log flush, in that transaction only; other transactions wait for it', async () => {
    // The test cluster turns synchronous commit off for speed; this database gets PostgreSQL's default back.
    const url = await createDatabase(adminUrl);
    const name = new URL(url).pathname.slice(1);
    const admin = await openPostgresDatabase(adminUrl, { poolSize: 1 });
    await admin.run(`ALTER DATABASE "${name}" SET synchronous_commit = on`);
    await admin.close();
    const flushed = await openPostgresDatabase(url, { poolSize: 2 });
    try {
      const setting = (tx: { get<T>(sql: string): Promise<T | undefined> }) => tx.get<{ synchronous_commit: string }>('SHOW synchronous_commit').then((r) => r!.synchronous_commit);
      expect(await flushed.transaction((tx) => setting(tx), { durable: false })).toBe('off');
      // SET LOCAL ends with its transaction: the pooled connections are back to the default.
      for (let i = 0; i < 4; i++) expect(await flushed.transaction((tx) => setting(tx))).toBe('on');
      expect(await flushed.transaction((tx) => setting(tx), { durable: true })).toBe('on');
    } finally {
      await flushed.close();
    }
  });

  it('two concurrent transactions claiming with FOR UPDATE SKIP LOCKED get disjoint rows', async () => {
    await db.run('CREATE TABLE q (id BIGINT PRIMARY KEY, claimed_by TEXT)');
    for (let i = 1; i <= 10; i++) await db.run('INSERT INTO q (id) VALUES (?)', [i]);
    let release!: () => void;
    const bothClaimed = new Promise<void>((r) => (release = r));
    let claims = 0;
    const claim = (who: string) =>
      db.transaction(async (tx) => {
        const rows = await tx.all<{ id: number }>(`SELECT id FROM q WHERE claimed_by IS NULL ORDER BY id LIMIT 5${tx.dialect.skipLocked}`);
        for (const r of rows) await tx.run('UPDATE q SET claimed_by = ? WHERE id = ?', [who, r.id]);
        // Hold the row locks until the other transaction has claimed too.
        if (++claims === 2) release();
        await Promise.race([bothClaimed, new Promise((r) => setTimeout(r, 5_000))]);
        return rows.map((r) => r.id);
      });
    const [a, b] = await Promise.all([claim('a'), claim('b')]);
    expect(a).toHaveLength(5);
    expect(b).toHaveLength(5);
    expect(new Set([...a, ...b]).size).toBe(10);
    expect(await db.get('SELECT COUNT(*) AS n FROM q WHERE claimed_by IS NULL')).toEqual({ n: 0 });
  });

  it('retries a transaction PostgreSQL aborts for a deadlock, then succeeds', async () => {
    await db.run('CREATE TABLE dl (id BIGINT PRIMARY KEY, v BIGINT NOT NULL)');
    await db.run('INSERT INTO dl (id, v) VALUES (1, 0), (2, 0)');
    let runs = 0;
    let gate!: () => void;
    const bothHaveFirstLock = new Promise<void>((r) => (gate = r));
    let first = 0;
    const cross = (a: number, b: number) =>
      db.transaction(async (tx) => {
        runs++;
        await tx.run('UPDATE dl SET v = v + 1 WHERE id = ?', [a]);
        if (++first === 2) gate();
        await Promise.race([bothHaveFirstLock, new Promise((r) => setTimeout(r, 3_000))]);
        await tx.run('UPDATE dl SET v = v + 1 WHERE id = ?', [b]);
      });
    await Promise.all([cross(1, 2), cross(2, 1)]);
    expect(runs).toBe(3); // one of the two was chosen as the deadlock victim and ran again
    expect(await db.all('SELECT v FROM dl ORDER BY id')).toEqual([{ v: 2 }, { v: 2 }]);
  });

  it('stops retrying after maxTransactionAttempts and passes the deadlock on, rolled back', async () => {
    const once = await openPostgresDatabase(await createDatabase(adminUrl), { poolSize: 2, maxTransactionAttempts: 1 });
    try {
      await once.run('CREATE TABLE dl (id BIGINT PRIMARY KEY, v BIGINT NOT NULL)');
      await once.run('INSERT INTO dl (id, v) VALUES (1, 0), (2, 0)');
      let gate!: () => void;
      const bothHaveFirstLock = new Promise<void>((r) => (gate = r));
      let first = 0;
      const cross = (a: number, b: number) =>
        once.transaction(async (tx) => {
          await tx.run('UPDATE dl SET v = v + 1 WHERE id = ?', [a]);
          if (++first === 2) gate();
          await Promise.race([bothHaveFirstLock, new Promise((r) => setTimeout(r, 3_000))]);
          await tx.run('UPDATE dl SET v = v + 1 WHERE id = ?', [b]);
        });
      const results = await Promise.allSettled([cross(1, 2), cross(2, 1)]);
      const rejected = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
      expect(rejected).toHaveLength(1);
      expect(rejected[0]!.reason).toMatchObject({ code: '40P01', message: expect.stringMatching(/deadlock detected/) });
      expect(await once.get('SELECT SUM(v) AS total FROM dl')).toEqual({ total: 2 });
    } finally {
      await once.close();
    }
  });

  it('dataVersion is undefined (callers poll); close ends the pool', async () => {
    expect(await db.dataVersion()).toBeUndefined();
    const other = await openPostgresDatabase(await createDatabase(adminUrl), { poolSize: 1 });
    await other.close();
    await expect(other.get('SELECT 1')).rejects.toThrow();
  });

  it('applies the migrations exactly once when four pools migrate one database at the same time', async () => {
    const url = await createDatabase(adminUrl);
    const pools = await Promise.all([1, 2, 3, 4].map(() => openPostgresDatabase(url, { poolSize: 2 })));
    try {
      const applied = await Promise.all(pools.map((p) => migratePostgres(p)));
      const versions = POSTGRES_MIGRATIONS.map((m) => m.version);
      expect(applied.filter((a) => a.length > 0)).toEqual([versions]);
      expect(applied.flat()).toEqual(versions);
      const rows = await pools[0]!.all<{ version: number; n: number }>('SELECT version, COUNT(*) AS n FROM schema_migrations GROUP BY version ORDER BY version');
      expect(rows).toEqual(versions.map((version) => ({ version, n: 1 })));
      expect(await migratePostgres(pools[1]!)).toEqual([]);
    } finally {
      await Promise.all(pools.map((p) => p.close()));
    }
  });

  it('gives up with a clear error when another process holds the migration lock too long', async () => {
    const url = await createDatabase(adminUrl);
    const holder = await openPostgresDatabase(url, { poolSize: 1 });
    const waiter = await openPostgresDatabase(url, { poolSize: 1 });
    try {
      let release!: () => void;
      const released = new Promise<void>((r) => (release = r));
      let locked!: () => void;
      const isLocked = new Promise<void>((r) => (locked = r));
      const holding = holder.transaction(async (tx) => {
        await tx.get(`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK_KEY})`);
        locked();
        await Promise.race([released, new Promise((r) => setTimeout(r, 10_000))]);
      });
      await isLocked;
      const err = await migratePostgres(waiter, undefined, { lockTimeoutMs: 300 }).catch((e: unknown) => e);
      release();
      await holding;
      expect(err).toBeInstanceOf(MigrationLockTimeoutError);
      expect((err as Error).message).toMatch(/^waited 300 ms for another process's schema migration/);
      expect(await migratePostgres(waiter, undefined, { lockTimeoutMs: 300 })).toEqual(POSTGRES_MIGRATIONS.map((m) => m.version));
    } finally {
      await holder.close();
      await waiter.close();
    }
  });

  it('refuses a database whose schema is newer than this server knows, changing nothing', async () => {
    const newDb = await openPostgresDatabase(await createDatabase(adminUrl), { poolSize: 1 });
    try {
      await migratePostgres(newDb);
      const future = newestVersion() + 5;
      await newDb.run('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)', [future, 'from a newer Vigil', 1]);
      const err = await migratePostgres(newDb).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SchemaTooNewError);
      expect((err as Error).message).toBe(`the PostgreSQL database is at schema version ${future}, newer than this server knows (${newestVersion()}); update Vigil`);
      expect(await newDb.get('SELECT COUNT(*) AS n FROM schema_migrations')).toEqual({ n: POSTGRES_MIGRATIONS.length + 1 });
    } finally {
      await newDb.close();
    }
  });

  it('openPostgresTestDatabase gives each caller its own migrated, empty database, and reopens one by location', async () => {
    const a = await openPostgresTestDatabase();
    const b = await openPostgresTestDatabase();
    try {
      expect(a.location).not.toBe(b.location);
      await a.database.run("INSERT INTO settings (key, value) VALUES ('only', 'in a')");
      expect(await b.database.get('SELECT COUNT(*) AS n FROM settings')).toEqual({ n: 0 });
      expect(await b.database.get('SELECT MAX(version) AS v FROM schema_migrations')).toEqual({ v: newestVersion() });
      const again = await openPostgresTestDatabase({ location: a.location });
      expect(await again.database.get('SELECT value FROM settings')).toEqual({ value: 'in a' });
      await again.close();
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('a refused connection names host, port, database and code, never the password', async () => {
    const port = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
    const err = await openPostgresDatabase(`postgres://vigil:Sup3r-s3cret@127.0.0.1:${port}/fleet`, { connectTimeoutMs: 3_000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PostgresConnectError);
    const msg = (err as Error).message;
    expect(msg).toMatch(new RegExp(`^cannot connect to PostgreSQL at 127\\.0\\.0\\.1:${port}, database "fleet" as user "vigil": .*ECONNREFUSED.*\\(ECONNREFUSED\\)$`));
    expect(msg).not.toContain('Sup3r-s3cret');
    expect(JSON.stringify(err)).not.toContain('Sup3r-s3cret');
  });

  it('a missing database and a wrong user are named with PostgreSQL\'s code', async () => {
    const u = new URL(adminUrl);
    u.pathname = '/no_such_db';
    u.password = 'pw-not-shown';
    const err = (await openPostgresDatabase(u.toString()).catch((e: unknown) => e)) as PostgresConnectError;
    expect(err.message).toMatch(/database "no_such_db".*does not exist \(3D000\)/);
    expect(err.code).toBe('3D000');
    expect(err.message).not.toContain('pw-not-shown');
  });
});
