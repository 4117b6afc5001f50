/**
 * The SQLite implementation of SqlDatabase (issue 15): transactions over the async
 * interface, on a real database file. A transaction that throws leaves nothing; a statement
 * from outside waits for an open transaction instead of joining it; transactions run one
 * at a time; `durable` runs with synchronous=FULL and goes back to NORMAL.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { openTestDatabase } from './helpers/test-database.js';
import { SqliteDatabase } from '../../src/server/database/sqlite-database.js';
import type { SqlDatabase } from '../../src/server/database/sql-database.js';

const open: SqlDatabase[] = [];
afterEach(async () => {
  for (const d of open.splice(0)) await d.close();
});

async function fresh(): Promise<SqliteDatabase> {
  const { database } = await openTestDatabase();
  open.push(database);
  if (!(database instanceof SqliteDatabase)) throw new Error('these tests are about the SQLite implementation');
  await database.run('CREATE TABLE t (k TEXT PRIMARY KEY, v INTEGER NOT NULL)');
  return database;
}

const count = async (db: SqlDatabase) => Number((await db.get<{ n: number }>('SELECT COUNT(*) AS n FROM t'))!.n);
const tick = () => new Promise<void>((r) => setTimeout(r, 5));

describe('SQLite database (issue 15)', () => {
  it('a transaction that throws rolls back every statement it ran; one that resolves commits', async () => {
    const db = await fresh();
    await expect(
      db.transaction(async (tx) => {
        await tx.run('INSERT INTO t (k, v) VALUES (?, ?)', ['a', 1]);
        await tx.run('INSERT INTO t (k, v) VALUES (?, ?)', ['b', 2]);
        throw new Error('the cause failed');
      }),
    ).rejects.toThrow('the cause failed');
    expect(await count(db)).toBe(0);
    // A constraint error inside rolls back too.
    await expect(
      db.transaction(async (tx) => {
        await tx.run('INSERT INTO t (k, v) VALUES (?, ?)', ['a', 1]);
        await tx.run('INSERT INTO t (k, v) VALUES (?, ?)', ['a', 2]);
      }),
    ).rejects.toThrow(/UNIQUE/);
    expect(await count(db)).toBe(0);
    expect(await db.transaction(async (tx) => (await tx.run('INSERT INTO t (k, v) VALUES (?, ?)', ['c', 3])).changes)).toBe(1);
    expect(await db.get('SELECT k, v FROM t')).toEqual({ k: 'c', v: 3 });
  });

  it('a statement issued from outside while a transaction is open waits for it, and is not rolled back with it', async () => {
    const db = await fresh();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const order: string[] = [];
    const tx = db.transaction(async (t) => {
      await t.run('INSERT INTO t (k, v) VALUES (?, ?)', ['inside', 1]);
      order.push('tx wrote');
      await gate; // another request's turn comes while this transaction is open
      order.push('tx throws');
      throw new Error('rolled back');
    });
    await tick();
    const outside = db.run('INSERT INTO t (k, v) VALUES (?, ?)', ['outside', 2]).then((r) => {
      order.push('outside ran');
      return r;
    });
    const read = db.all<{ k: string }>('SELECT k FROM t ORDER BY k');
    await tick();
    expect(order).toEqual(['tx wrote']); // still waiting
    release();
    await expect(tx).rejects.toThrow('rolled back');
    expect((await outside).changes).toBe(1);
    expect(order).toEqual(['tx wrote', 'tx throws', 'outside ran']);
    // Queued after the outside write (first come, first served): it sees that row, never the rolled-back one.
    expect(await read).toEqual([{ k: 'outside' }]);
    expect(await db.all('SELECT k FROM t ORDER BY k')).toEqual([{ k: 'outside' }]);
  });

  it('concurrent transactions run one at a time: read-modify-write never loses an update', async () => {
    const db = await fresh();
    await db.run('INSERT INTO t (k, v) VALUES (?, ?)', ['counter', 0]);
    const bump = () =>
      db.transaction(async (tx) => {
        const row = await tx.get<{ v: number }>(`SELECT v FROM t WHERE k = ?${tx.dialect.forUpdate}`, ['counter']);
        await tick(); // yield: without serialisation another transaction would read the same value
        await tx.run('UPDATE t SET v = ? WHERE k = ?', [row!.v + 1, 'counter']);
      });
    await Promise.all(Array.from({ length: 20 }, bump));
    expect(await db.get('SELECT v FROM t WHERE k = ?', ['counter'])).toEqual({ v: 20 });
  });

  it('durable runs with synchronous=FULL and goes back to NORMAL, also when it throws', async () => {
    const db = await fresh();
    const sync = () => db.raw.pragma('synchronous', { simple: true });
    expect(sync()).toBe(1); // NORMAL
    const seen = await db.transaction(async (tx) => {
      await tx.run('INSERT INTO t (k, v) VALUES (?, ?)', ['d', 1]);
      return sync();
    }, { durable: true });
    expect(seen).toBe(2); // FULL
    expect(sync()).toBe(1);
    await expect(db.transaction(async () => Promise.reject(new Error('no')), { durable: true })).rejects.toThrow('no');
    expect(sync()).toBe(1);
    expect(await count(db)).toBe(1);
  });

  it('refuses a statement on the database from inside its own transaction (it would wait for itself), and a statement on an ended transaction', async () => {
    const db = await fresh();
    await expect(db.transaction(async () => db.get('SELECT 1 AS x'))).rejects.toThrow(/use the transaction's executor/);
    let kept: Parameters<Parameters<SqlDatabase['transaction']>[0]>[0] | undefined;
    await db.transaction(async (tx) => {
      kept = tx;
    });
    await expect(kept!.get('SELECT 1 AS x')).rejects.toThrow(/transaction that has ended/);
    // The database is usable afterwards.
    expect(await db.get('SELECT 1 AS x')).toEqual({ x: 1 });
  });

  it('data_version moves when another connection commits, not for its own writes', async () => {
    const db = await fresh();
    const { location } = { location: db.raw.name };
    const other = (await openTestDatabase({ location })).database;
    open.push(other);
    const v0 = await db.dataVersion();
    await db.run('INSERT INTO t (k, v) VALUES (?, ?)', ['own', 1]);
    expect(await db.dataVersion()).toBe(v0);
    await other.run('INSERT INTO t (k, v) VALUES (?, ?)', ['other', 2]);
    expect(await db.dataVersion()).not.toBe(v0);
  });
});
