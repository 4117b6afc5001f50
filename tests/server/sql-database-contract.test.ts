/**
 * The SqlDatabase contract (sql-database.ts) both implementations keep, so a store written
 * once behaves the same over SQLite and PostgreSQL. One describe per implementation: add a
 * factory to IMPLEMENTATIONS and every case runs against it. Tables are prefixed contract_ so
 * a factory may hand over an already migrated database.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPostgresDatabase } from '../../src/server/database/postgres-database.js';
import type { SqlDatabase } from '../../src/server/database/sql-database.js';
import { createDatabase, sharedAdminUrl } from '../helpers/postgres-cluster.js';
import { needsTools } from '../helpers/system-tool.js';
import { openSqliteDatabase } from '../../src/server/database/sqlite-database.js';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

interface Implementation {
  name: 'sqlite' | 'postgres';
  /** A database no other test uses. */
  open(): Promise<SqlDatabase>;
}

const IMPLEMENTATIONS: Implementation[] = [
  { name: 'sqlite', open: async () => openSqliteDatabase(path.join(await mkdtemp(path.join(tmpdir(), 'vigil-contract-')), 'contract.db')) },
  { name: 'postgres', open: async () => openPostgresDatabase(await createDatabase(await sharedAdminUrl()), { poolSize: 4 }) },
];

for (const impl of IMPLEMENTATIONS) describe(`SqlDatabase contract: ${impl.name}`, impl.name === 'postgres' ? needsTools('initdb', 'pg_ctl') : {}, () => contract(impl));

function contract(impl: Implementation): void {
  let db: SqlDatabase;
  let bytesType: string;
  beforeAll(async () => {
    db = await impl.open();
    bytesType = db.dialect.name === 'postgres' ? 'BYTEA' : 'BLOB';
    await db.run(`CREATE TABLE contract_items (id TEXT PRIMARY KEY, n BIGINT NOT NULL, at BIGINT, secret ${bytesType}, "by" TEXT)`);
  });
  afterAll(async () => {
    await db?.close();
  });

  it('names its kind and dialect alike', () => {
    expect(db.kind).toBe(impl.name);
    expect(db.dialect.name).toBe(impl.name);
  });

  it('returns rows as plain objects: integers as numbers, bytes as Buffers, NULL as null', async () => {
    const secret = Buffer.from('00ff10e2a5c7', 'hex');
    await db.run('INSERT INTO contract_items (id, n, at, secret, "by") VALUES (?, ?, ?, ?, ?)', ['a', 1, 1764950400000, secret, 'admin']);
    await db.run('INSERT INTO contract_items (id, n, at, secret, "by") VALUES (?, ?, ?, ?, ?)', ['b', 2n, null, new Uint8Array([1, 2, 3]), null]);
    expect(await db.get('SELECT id, n, at, secret, "by" FROM contract_items WHERE id = ?', ['a'])).toEqual({ id: 'a', n: 1, at: 1764950400000, secret, by: 'admin' });
    const b = await db.get<{ secret: Buffer; at: null; by: null }>('SELECT secret, at, "by" FROM contract_items WHERE id = ?', ['b']);
    expect(Buffer.isBuffer(b!.secret)).toBe(true);
    expect(b).toEqual({ secret: Buffer.from([1, 2, 3]), at: null, by: null });
    expect(await db.get('SELECT COUNT(*) AS n, SUM(n) AS total, MAX(at) AS latest FROM contract_items')).toEqual({ n: 2, total: 3, latest: 1764950400000 });
    expect(await db.get('SELECT id FROM contract_items WHERE id = ?', ['none'])).toBeUndefined();
    expect(await db.all('SELECT id FROM contract_items WHERE n > ?', [99])).toEqual([]);
  });

  it('binds ? placeholders in order and leaves a ? inside a string literal alone', async () => {
    expect(await db.all("SELECT id, 'is it?' AS q FROM contract_items WHERE id IN (?, ?) ORDER BY id", ['b', 'a'])).toEqual([
      { id: 'a', q: 'is it?' },
      { id: 'b', q: 'is it?' },
    ]);
  });

  it('reports changes: ON CONFLICT DO NOTHING 0 or 1, DO UPDATE 1, UPDATE and DELETE the rows touched', async () => {
    await db.run('CREATE TABLE contract_nonces (device_id TEXT NOT NULL, nonce TEXT NOT NULL, seen BIGINT NOT NULL, PRIMARY KEY (device_id, nonce))');
    const put = 'INSERT INTO contract_nonces (device_id, nonce, seen) VALUES (?, ?, ?) ON CONFLICT (device_id, nonce) DO NOTHING';
    expect(await db.run(put, ['d1', 'n1', 1])).toEqual({ changes: 1 });
    expect(await db.run(put, ['d1', 'n1', 2])).toEqual({ changes: 0 });
    expect(await db.run(put, ['d1', 'n2', 3])).toEqual({ changes: 1 });
    const upsert = 'INSERT INTO contract_nonces (device_id, nonce, seen) VALUES (?, ?, ?) ON CONFLICT (device_id, nonce) DO UPDATE SET seen = excluded.seen';
    expect(await db.run(upsert, ['d1', 'n1', 10])).toEqual({ changes: 1 });
    expect(await db.get('SELECT seen FROM contract_nonces WHERE nonce = ?', ['n1'])).toEqual({ seen: 10 });
    expect(await db.run('UPDATE contract_nonces SET seen = seen + 1 WHERE device_id = ?', ['d1'])).toEqual({ changes: 2 });
    expect(await db.run('DELETE FROM contract_nonces WHERE seen > ?', [5])).toEqual({ changes: 1 });
    expect(await db.run('DELETE FROM contract_nonces WHERE seen > ?', [500])).toEqual({ changes: 0 });
  });

  it('commits a transaction that resolves (passing its value on) and rolls back one that throws', async () => {
    await db.run('CREATE TABLE contract_ledger (k TEXT PRIMARY KEY, v BIGINT NOT NULL)');
    const value = await db.transaction(async (tx) => {
      await tx.run('INSERT INTO contract_ledger (k, v) VALUES (?, ?)', ['kept', 1]);
      return (await tx.get<{ v: number }>('SELECT v FROM contract_ledger WHERE k = ?', ['kept']))!.v + 41;
    });
    expect(value).toBe(42);
    await expect(
      db.transaction(async (tx) => {
        await tx.run('INSERT INTO contract_ledger (k, v) VALUES (?, ?)', ['lost', 2]);
        throw new Error('the caller gave up');
      }),
    ).rejects.toThrow('the caller gave up');
    await expect(
      db.transaction(
        async (tx) => {
          await tx.run('UPDATE contract_ledger SET v = 99');
          await tx.run('INSERT INTO contract_ledger (k, v) VALUES (?, ?)', ['kept', 3]);
        },
        { durable: true },
      ),
    ).rejects.toThrow();
    expect(await db.all('SELECT k, v FROM contract_ledger')).toEqual([{ k: 'kept', v: 1 }]);
  });

  it('claims with the dialect lock suffixes in a transaction', async () => {
    await db.run('CREATE TABLE contract_queue (id BIGINT PRIMARY KEY, owner TEXT)');
    await db.run('INSERT INTO contract_queue (id) VALUES (?), (?), (?)', [1, 2, 3]);
    const claimed = await db.transaction(async (tx) => {
      const rows = await tx.all<{ id: number }>(`SELECT id FROM contract_queue WHERE owner IS NULL ORDER BY id LIMIT 2${tx.dialect.skipLocked}`);
      for (const r of rows) await tx.run('UPDATE contract_queue SET owner = ? WHERE id = ?', ['me', r.id]);
      const one = await tx.get<{ id: number }>(`SELECT id FROM contract_queue WHERE id = ?${tx.dialect.forUpdate}`, [3]);
      return [...rows.map((r) => r.id), one!.id];
    });
    expect(claimed).toEqual([1, 2, 3]);
  });

  it('dataVersion is a number on SQLite and undefined on PostgreSQL', async () => {
    const v = await db.dataVersion();
    if (impl.name === 'sqlite') expect(typeof v).toBe('number');
    else expect(v).toBeUndefined();
  });
}
