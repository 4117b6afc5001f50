/**
 * The SQLite implementation of SqlDatabase (sql-database.ts) over better-sqlite3: one
 * process, one connection, synchronous statements behind the async interface.
 *
 * better-sqlite3 runs each statement synchronously, but a transaction written against the
 * async interface spans awaits, during which other requests run. So transactions are
 * serialised by an async mutex (BEGIN IMMEDIATE ... COMMIT), and a statement issued on the
 * database itself while a transaction is open waits for it to end: otherwise it would land
 * inside someone else's transaction and be committed or rolled back with it. When no
 * transaction is open a statement runs at once (the common case costs no extra tick).
 *
 * Pragmas as before (open-database.ts): WAL, synchronous=NORMAL (FULL for a `durable`
 * transaction), foreign keys, busy timeout, the file created 0600.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type Database from 'better-sqlite3';
import { openDatabase, type Db } from './open-database.js';
import { SQLITE_DIALECT, type SqlDatabase, type SqlExecutor, type SqlRunResult, type SqlValue, type TransactionOptions } from './sql-database.js';

/** A FIFO lock for async sections; `busy` is true while someone holds it. */
export class AsyncMutex {
  private held = false;
  private readonly waiters: Array<() => void> = [];

  get busy(): boolean {
    return this.held;
  }

  async acquire(): Promise<void> {
    if (!this.held) {
      this.held = true;
      return;
    }
    // The releaser hands the lock straight to the next waiter (held stays true).
    await new Promise<void>((resolve) => this.waiters.push(resolve));
  }

  release(): void {
    const next = this.waiters.shift();
    if (next) next();
    else this.held = false;
  }
}

function bind(params: readonly SqlValue[] | undefined): unknown[] {
  if (!params) return [];
  return params.map((p) => (p instanceof Uint8Array && !Buffer.isBuffer(p) ? Buffer.from(p) : p));
}

export class SqliteDatabase implements SqlDatabase {
  readonly kind = 'sqlite' as const;
  readonly dialect = SQLITE_DIALECT;
  private readonly statements = new Map<string, Database.Statement>();
  private readonly lock = new AsyncMutex();
  /** The transaction the current async context runs in, to refuse (not deadlock on) a statement that bypasses it. */
  private readonly context = new AsyncLocalStorage<{ open: boolean }>();
  private closed = false;

  /**
   * `raw`: the better-sqlite3 handle, for what only SQLite has (`vigil server backup` uses
   * its online backup). Stores never use it.
   */
  constructor(readonly raw: Db) {}

  private prepare(sql: string): Database.Statement {
    let s = this.statements.get(sql);
    if (!s) {
      s = this.raw.prepare(sql);
      this.statements.set(sql, s);
    }
    return s;
  }

  /** Runs `op` at once when no transaction is open, else after the open ones end. */
  private async outside<T>(op: () => T): Promise<T> {
    if (this.closed) throw new Error('the database is closed');
    if (!this.lock.busy) return op();
    if (this.context.getStore()?.open) {
      // It would wait for the transaction it is part of, for ever.
      throw new Error('a statement on the database inside one of its transactions: use the transaction\'s executor (tx)');
    }
    await this.lock.acquire();
    try {
      if (this.closed) throw new Error('the database is closed');
      return op();
    } finally {
      this.lock.release();
    }
  }

  all<T>(sql: string, params?: readonly SqlValue[]): Promise<T[]> {
    return this.outside(() => this.prepare(sql).all(...bind(params)) as T[]);
  }

  get<T>(sql: string, params?: readonly SqlValue[]): Promise<T | undefined> {
    return this.outside(() => this.prepare(sql).get(...bind(params)) as T | undefined);
  }

  run(sql: string, params?: readonly SqlValue[]): Promise<SqlRunResult> {
    return this.outside(() => ({ changes: this.prepare(sql).run(...bind(params)).changes }));
  }

  async transaction<T>(fn: (tx: SqlExecutor) => Promise<T>, opts: TransactionOptions = {}): Promise<T> {
    await this.lock.acquire();
    let open = true;
    const marker = { open: true };
    // A statement through `tx` after the transaction ended (a forgotten await) is a bug: refuse it.
    const live = (): void => {
      if (!open) throw new Error('statement issued on a transaction that has ended');
    };
    const tx: SqlExecutor = {
      dialect: this.dialect,
      all: async <R>(sql: string, params?: readonly SqlValue[]) => (live(), this.prepare(sql).all(...bind(params)) as R[]),
      get: async <R>(sql: string, params?: readonly SqlValue[]) => (live(), this.prepare(sql).get(...bind(params)) as R | undefined),
      run: async (sql: string, params?: readonly SqlValue[]) => (live(), { changes: this.prepare(sql).run(...bind(params)).changes }),
    };
    try {
      if (this.closed) throw new Error('the database is closed');
      if (opts.durable) this.raw.pragma('synchronous = FULL');
      try {
        this.raw.exec('BEGIN IMMEDIATE');
        try {
          const result = await this.context.run(marker, () => fn(tx));
          open = false;
          this.raw.exec('COMMIT');
          return result;
        } catch (err) {
          open = false;
          if (this.raw.inTransaction) this.raw.exec('ROLLBACK');
          throw err;
        }
      } finally {
        open = false;
        marker.open = false;
        if (opts.durable && this.raw.open) this.raw.pragma('synchronous = NORMAL');
      }
    } finally {
      this.lock.release();
    }
  }

  async dataVersion(): Promise<number | undefined> {
    return this.outside(() => this.raw.pragma('data_version', { simple: true }) as number);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.lock.acquire();
    try {
      this.closed = true;
      this.statements.clear();
      this.raw.close();
    } finally {
      this.lock.release();
    }
  }
}

/** Opens (creating 0600 if needed) and migrates the SQLite database at `file` (':memory:' allowed). */
export function openSqliteDatabase(file: string): SqliteDatabase {
  return new SqliteDatabase(openDatabase(file));
}
