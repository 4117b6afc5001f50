/**
 * The PostgreSQL implementation of SqlDatabase (issue 15), over `pg`'s connection pool, for
 * several server processes behind a load balancer sharing one database.
 *
 * - The stores' `?` placeholders are numbered `$1..$n` (postgres-placeholders.ts).
 * - Integers come back as JS numbers, as better-sqlite3 returns them: int8 (BIGINT columns,
 *   COUNT) and numeric (SUM of a BIGINT) would otherwise arrive as strings. A value a JS
 *   number cannot hold exactly is an error, never a silently rounded number. bytea comes
 *   back as a Buffer.
 * - `transaction()` holds one client for BEGIN..COMMIT and re-runs the whole function when
 *   PostgreSQL aborts it for a serialization failure or a deadlock (40001, 40P01), a bounded
 *   number of times: the function must therefore only touch the database through `tx`.
 * - Errors say which database failed through redactDatabaseUrl: never the password.
 */
import pg from 'pg';
import { numberPlaceholders } from './postgres-placeholders.js';
import {
  POSTGRES_DIALECT,
  redactDatabaseUrl,
  type SqlDatabase,
  type SqlExecutor,
  type SqlRunResult,
  type SqlValue,
  type TransactionOptions,
} from './sql-database.js';

export interface PostgresDatabaseOptions {
  /** Connections in the pool (default 10). */
  poolSize?: number;
  /** Shown in pg_stat_activity (default "vigil-server"). */
  applicationName?: string;
  /** How long to wait for a connection, at start and from the pool (default 10 s). */
  connectTimeoutMs?: number;
  /** Runs of a transaction PostgreSQL aborts for a serialization failure or deadlock (default 5). */
  maxTransactionAttempts?: number;
  /** An idle pooled connection failed (the server restarted, a network cut): told, not thrown. */
  onIdleError?: (err: Error) => void;
}

const OID_INT8 = 20;
const OID_NUMERIC = 1700;
const RETRYABLE = new Set(['40001', '40P01']);

export class IntegerPrecisionError extends Error {
  constructor(readonly value: string) {
    super(`PostgreSQL returned ${value}, which a JavaScript number cannot hold exactly (beyond ±${Number.MAX_SAFE_INTEGER})`);
    this.name = 'IntegerPrecisionError';
  }
}

/** int8 text → number; throws rather than round. Pure. */
export function parseInt8(text: string): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n)) throw new IntegerPrecisionError(text);
  return n;
}

/** numeric text → number; an integer beyond the safe range throws rather than rounds. Pure. */
export function parseNumeric(text: string): number {
  if (text === 'NaN') return NaN;
  const n = Number(text);
  if (/^-?\d+$/.test(text) && !Number.isSafeInteger(n)) throw new IntegerPrecisionError(text);
  if (!Number.isFinite(n)) throw new IntegerPrecisionError(text);
  return n;
}

/** The type parsers of one pool (never pg's process-wide defaults, which other code may share). */
const VIGIL_TYPES = {
  getTypeParser(oid: number, format?: 'text' | 'binary'): (value: string) => unknown {
    if ((format ?? 'text') === 'text') {
      if (oid === OID_INT8) return parseInt8;
      if (oid === OID_NUMERIC) return parseNumeric;
    }
    return pg.types.getTypeParser(oid, format ?? 'text') as (value: string) => unknown;
  },
};

/** A statement PostgreSQL refused, naming the database (redacted) and the statement. */
export class PostgresQueryError extends Error {
  /** PostgreSQL's SQLSTATE (e.g. 23505 unique violation), when it sent one. */
  readonly code: string | undefined;
  constructor(readonly target: string, readonly sql: string, cause: unknown) {
    const e = cause as { message?: string; code?: string };
    const statement = sql.replace(/\s+/g, ' ').trim();
    super(`PostgreSQL ${target}: ${e?.message ?? String(cause)}${e?.code ? ` (${e.code})` : ''} in: ${statement.length > 200 ? `${statement.slice(0, 200)}…` : statement}`, { cause });
    this.name = 'PostgresQueryError';
    this.code = e?.code;
  }
}

/** The database could not be reached or refused us at start. */
export class PostgresConnectError extends Error {
  readonly code: string | undefined;
  constructor(message: string, code: string | undefined, cause: unknown) {
    super(message, { cause });
    this.name = 'PostgresConnectError';
    this.code = code;
  }
}

interface Queryable {
  query(config: { text: string; values: unknown[] }): Promise<pg.QueryResult>;
}

function bind(params: readonly SqlValue[] | undefined): unknown[] {
  return (params ?? []).map((v) => (typeof v === 'bigint' ? v.toString() : v));
}

function executor(q: Queryable, target: string): SqlExecutor {
  const exec = async (sql: string, params?: readonly SqlValue[]): Promise<pg.QueryResult> => {
    const { text, count } = numberPlaceholders(sql);
    const values = bind(params);
    if (count !== values.length) {
      throw new PostgresQueryError(target, sql, new Error(`the statement has ${count} placeholders but ${values.length} values were given`));
    }
    try {
      return await q.query({ text, values });
    } catch (err) {
      throw new PostgresQueryError(target, sql, err);
    }
  };
  return {
    dialect: POSTGRES_DIALECT,
    async all<T>(sql: string, params?: readonly SqlValue[]): Promise<T[]> {
      return (await exec(sql, params)).rows as T[];
    },
    async get<T>(sql: string, params?: readonly SqlValue[]): Promise<T | undefined> {
      return (await exec(sql, params)).rows[0] as T | undefined;
    },
    async run(sql: string, params?: readonly SqlValue[]): Promise<SqlRunResult> {
      return { changes: (await exec(sql, params)).rowCount ?? 0 };
    },
  };
}

/** Where a URL points, for messages: host, port, database, user; never the password. Pure. */
export function describeTarget(url: string): string {
  try {
    const u = new URL(url);
    const socketHost = u.searchParams.get('host');
    const host = socketHost ?? (u.hostname || 'localhost');
    const db = decodeURIComponent(u.pathname.replace(/^\//, '')) || '(default database)';
    const user = u.username ? ` as user "${decodeURIComponent(u.username)}"` : '';
    return `at ${host}:${u.port || '5432'}, database "${db}"${user}`;
  } catch {
    return redactDatabaseUrl(url);
  }
}

function isRetryable(err: unknown): boolean {
  const code = (err as { code?: string })?.code;
  return code !== undefined && RETRYABLE.has(code);
}

/**
 * Opens a pool on `url` and checks that one connection works (a clear error naming host,
 * port, database and PostgreSQL's code when not). Applies no migrations: see
 * postgres-schema.ts migratePostgres.
 */
export async function openPostgresDatabase(url: string, opts: PostgresDatabaseOptions = {}): Promise<SqlDatabase> {
  const target = describeTarget(url);
  let pool: pg.Pool;
  try {
    pool = new pg.Pool({
      connectionString: url,
      max: opts.poolSize ?? 10,
      application_name: opts.applicationName ?? 'vigil-server',
      connectionTimeoutMillis: opts.connectTimeoutMs ?? 10_000,
      types: VIGIL_TYPES,
    });
  } catch (err) {
    throw new PostgresConnectError(`cannot use the PostgreSQL URL ${redactDatabaseUrl(url)}: ${(err as Error).message}`, undefined, err);
  }
  pool.on('error', (err) => opts.onIdleError?.(err));
  try {
    const client = await pool.connect();
    client.release();
  } catch (err) {
    await pool.end().catch(() => undefined);
    const e = err as { code?: string; message?: string };
    const why = e.message && e.message.length > 0 ? e.message : String(err);
    throw new PostgresConnectError(`cannot connect to PostgreSQL ${target}: ${why}${e.code ? ` (${e.code})` : ''}`, e.code, err);
  }

  const base = executor(pool, target);
  const maxAttempts = Math.max(1, opts.maxTransactionAttempts ?? 5);
  let closed = false;

  return {
    kind: 'postgres',
    ...base,
    async transaction<T>(fn: (tx: SqlExecutor) => Promise<T>, opts?: TransactionOptions): Promise<T> {
      // durable: true needs nothing here: with synchronous_commit=on (the default) COMMIT
      // returns once the commit record is flushed. durable: false lets it return before.
      for (let attempt = 1; ; attempt++) {
        const client = await pool.connect().catch((err: unknown) => {
          throw new PostgresQueryError(target, 'BEGIN', err);
        });
        let broken = false;
        try {
          await client.query('BEGIN');
          if (opts?.durable === false) await client.query('SET LOCAL synchronous_commit = off');
          const result = await fn(executor(client, target));
          await client.query('COMMIT');
          return result;
        } catch (err) {
          try {
            await client.query('ROLLBACK');
          } catch {
            broken = true; // the connection itself failed: drop it from the pool
          }
          if (attempt < maxAttempts && isRetryable(err)) {
            await new Promise((r) => setTimeout(r, Math.floor(Math.random() * 10 * attempt)));
            continue;
          }
          throw err;
        } finally {
          client.release(broken);
        }
      }
    },
    dataVersion: () => Promise.resolve(undefined),
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      await pool.end();
    },
  };
}
