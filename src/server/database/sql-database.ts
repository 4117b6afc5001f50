/**
 * The one storage interface the server's stores are written against (issue 15). Two
 * implementations, chosen by the `--db` value: SQLite (`sqlite-database.ts`, better-sqlite3,
 * one process) and PostgreSQL (`postgres-database.ts`, `pg`, several processes behind a
 * load balancer). The stores' SQL is written once in the subset both dialects accept:
 *
 * - `?` placeholders (the PostgreSQL implementation numbers them `$1..$n`);
 * - `INSERT ... ON CONFLICT (...) DO NOTHING / DO UPDATE SET x = excluded.x` (never
 *   `INSERT OR IGNORE`, which PostgreSQL does not know);
 * - integers for times (ms since the epoch) and 0/1 flags, TEXT for JSON, bytes for keys;
 *   both implementations return integers as JS numbers and bytes as Buffers;
 * - identifiers PostgreSQL reserves (`by`, `user`, `order`) double-quoted.
 *
 * Where the dialects cannot agree (row locks a second process must skip, schema DDL,
 * the migration lock), the difference lives in `SqlDialect`, never in a store.
 */

/** A value bound to a `?` placeholder. */
export type SqlValue = string | number | bigint | null | Buffer | Uint8Array;

export interface SqlRunResult {
  /** Rows inserted, updated or deleted by the statement. */
  changes: number;
}

/** Runs statements: the database itself, or one open transaction. */
export interface SqlExecutor {
  readonly dialect: SqlDialect;
  all<T>(sql: string, params?: readonly SqlValue[]): Promise<T[]>;
  get<T>(sql: string, params?: readonly SqlValue[]): Promise<T | undefined>;
  run(sql: string, params?: readonly SqlValue[]): Promise<SqlRunResult>;
}

export interface TransactionOptions {
  /**
   * true: the commit must be on disk before the promise resolves (an alert the agent will
   * then forget): SQLite runs the transaction with synchronous=FULL; PostgreSQL's default
   * synchronous_commit=on already waits for the flush.
   * false: the transaction may be lost if the database's host crashes within a moment of
   * the commit, and nothing else is risked (a heartbeat: latest-wins, the next one replaces
   * it): SQLite's synchronous=NORMAL, PostgreSQL's `SET LOCAL synchronous_commit = off`
   * (the commit does not wait for the log flush, which otherwise bounds heartbeats per
   * second by the disk's flushes per second).
   * Absent: each database's default (SQLite NORMAL, PostgreSQL flushed).
   */
  durable?: boolean;
}

export interface SqlDatabase extends SqlExecutor {
  readonly kind: 'sqlite' | 'postgres';
  /**
   * Runs `fn` in one transaction and commits when it resolves, rolls back when it throws.
   * Statements inside use `tx`, never the database (on SQLite the database waits for the
   * transaction to end, so using it inside would deadlock).
   */
  transaction<T>(fn: (tx: SqlExecutor) => Promise<T>, opts?: TransactionOptions): Promise<T>;
  /**
   * A number that changes when another process or connection commits (SQLite's
   * data_version); PostgreSQL has no cheap equivalent and returns undefined, and callers
   * poll instead.
   */
  dataVersion(): Promise<number | undefined>;
  close(): Promise<void>;
}

export interface SqlDialect {
  readonly name: 'sqlite' | 'postgres';
  /**
   * Appended to a SELECT that claims rows for this process (a notification delivery, a
   * migration step): ` FOR UPDATE SKIP LOCKED` on PostgreSQL, so two processes never claim
   * the same row; empty on SQLite, where one transaction writes at a time anyway.
   */
  readonly skipLocked: string;
  /** Appended to a SELECT whose row the transaction will update: ` FOR UPDATE` on PostgreSQL. */
  readonly forUpdate: string;
}

export const SQLITE_DIALECT: SqlDialect = { name: 'sqlite', skipLocked: '', forUpdate: '' };
export const POSTGRES_DIALECT: SqlDialect = { name: 'postgres', skipLocked: ' FOR UPDATE SKIP LOCKED', forUpdate: ' FOR UPDATE' };

/** Which implementation a `--db` / VIGIL_SERVER_DB value names. Pure. */
export function databaseKind(location: string): 'sqlite' | 'postgres' {
  return /^postgres(ql)?:\/\//i.test(location) ? 'postgres' : 'sqlite';
}

/**
 * A database URL as logs and errors may show it: the password (and any `password=` query
 * parameter) masked. Never log the URL itself.
 */
export function redactDatabaseUrl(location: string): string {
  if (databaseKind(location) === 'sqlite') return location;
  try {
    const u = new URL(location);
    if (u.password) u.password = '***';
    for (const k of [...u.searchParams.keys()]) if (/pass|secret|key|token/i.test(k)) u.searchParams.set(k, '***');
    return u.toString();
  } catch {
    return 'postgres://(unparsable URL)';
  }
}
