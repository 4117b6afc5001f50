/**
 * A throwaway PostgreSQL cluster for tests (issue 15): Debian's `postgresql` binaries
 * (found by system-tool.ts in /usr/lib/postgresql/<v>/bin), initdb into a temporary folder,
 * started with pg_ctl on a free loopback port and a socket in that folder; no system service.
 * PostgreSQL refuses to run as root, so as root (CI) every binary runs through
 * `runuser -u postgres` and the folder is handed to that user.
 *
 * One cluster serves a whole test run: tests/helpers/postgres-global-setup.ts starts it and
 * `provide`s its admin URL to every worker; each test server gets its own empty database
 * from createDatabase() (CREATE DATABASE is a file copy of template1: tens of ms).
 */
import { execFile } from 'node:child_process';
import { chownSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import pg from 'pg';
import { findTool } from './system-tool.js';
import { openPostgresDatabase } from '../../src/server/database/postgres-database.js';
import { migratePostgres, openMigratedPostgresDatabase } from '../../src/server/database/postgres-schema.js';
import type { SqlDatabase } from '../../src/server/database/sql-database.js';

/** The environment variable the global setup also sets, for code outside a test's inject(). */
export const ADMIN_URL_ENV = 'VIGIL_TEST_PG_ADMIN_URL';

export interface PostgresCluster {
  /** postgres://postgres@127.0.0.1:PORT/postgres (trust auth: no password). */
  adminUrl: string;
  port: number;
  dir: string;
  /** The data directory (its postmaster.pid names the server process). */
  dataDir: string;
  /** Stops the server (bounded; killed when it does not stop) and removes the folder. */
  stop(): Promise<void>;
}

interface RunResult {
  stdout: string;
  stderr: string;
}

function run(file: string, args: string[], timeoutMs: number, asPostgres: boolean): Promise<RunResult> {
  const [cmd, argv] = asPostgres ? ['runuser', ['-u', 'postgres', '--', file, ...args]] : [file, args];
  return new Promise((resolve, reject) => {
    execFile(cmd, argv, { timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 4 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${path.basename(file)} ${args.join(' ')} failed: ${err.message}\n${stderr}`));
      else resolve({ stdout, stderr });
    });
  });
}

function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      s.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

async function postgresIds(): Promise<{ uid: number; gid: number }> {
  const uid = Number((await run('id', ['-u', 'postgres'], 5_000, false)).stdout.trim());
  const gid = Number((await run('id', ['-g', 'postgres'], 5_000, false)).stdout.trim());
  return { uid, gid };
}

export interface ClusterOptions {
  /**
   * 'test' (default): fsync, full-page writes and synchronous commit off, 300 connections:
   * a throwaway cluster need not survive power loss, and the machine is shared.
   * 'durable': PostgreSQL's default settings (fsync on), only the port and socket set: what
   * a bench must measure, since a partner's server runs that way.
   */
  settings?: 'test' | 'durable';
}

const TEST_SETTINGS = '-c max_connections=300 -c fsync=off -c full_page_writes=off -c synchronous_commit=off';

/** initdb + pg_ctl start; throws (after cleaning up) with PostgreSQL's log when it cannot. */
export async function startPostgresCluster(opts: ClusterOptions = {}): Promise<PostgresCluster> {
  const initdb = findTool('initdb');
  const pgCtl = findTool('pg_ctl');
  if (!initdb || !pgCtl) throw new Error('PostgreSQL is not installed (Debian package postgresql)');
  const asRoot = process.getuid?.() === 0;
  // mkdtemp makes the folder 0700: as root, give it to postgres so the server can use it.
  const dir = mkdtempSync(path.join(os.tmpdir(), 'vigil-pg-'));
  const data = path.join(dir, 'data');
  const log = path.join(dir, 'server.log');
  const removeDir = () => rmSync(dir, { recursive: true, force: true });
  try {
    if (asRoot) {
      const { uid, gid } = await postgresIds();
      chownSync(dir, uid, gid);
    }
    await run(initdb, ['-D', data, '--auth=trust', '-U', 'postgres', '-E', 'UTF8', '--no-sync', '--no-instructions'], 120_000, asRoot);
  } catch (err) {
    removeDir();
    throw err;
  }
  // A port picked free may be taken before the server binds it: try a few.
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freeLoopbackPort();
    const settings = opts.settings === 'durable' ? '' : ` ${TEST_SETTINGS}`;
    const serverOpts = `-k ${dir} -p ${port} -c listen_addresses=127.0.0.1${settings}`;
    try {
      await run(pgCtl, ['-D', data, '-l', log, '-o', serverOpts, '-w', '-t', '60', 'start'], 90_000, asRoot);
      const stop = async () => {
        try {
          await run(pgCtl, ['-D', data, '-m', 'immediate', '-w', '-t', '20', 'stop'], 30_000, asRoot);
        } catch {
          killPostmaster(data);
        }
        removeDir();
      };
      return { adminUrl: `postgres://postgres@127.0.0.1:${port}/postgres`, port, dir, dataDir: data, stop };
    } catch (err) {
      lastError = err;
      killPostmaster(data);
    }
  }
  let serverLog = '';
  try {
    serverLog = readFileSync(log, 'utf8').slice(-2000);
  } catch {
    // no log written
  }
  removeDir();
  throw new Error(`PostgreSQL test cluster did not start: ${(lastError as Error).message}\n${serverLog}`);
}

function killPostmaster(data: string): void {
  try {
    const pid = Number(readFileSync(path.join(data, 'postmaster.pid'), 'utf8').split('\n')[0]);
    if (Number.isInteger(pid) && pid > 0) process.kill(pid, 'SIGKILL');
  } catch {
    // not running
  }
}

let counter = 0;

/** The database the global setup migrates once, copied for every test server's database. */
export const MIGRATED_TEMPLATE = 'vigil_migrated_template';

function databaseUrl(adminUrl: string, name: string): string {
  const u = new URL(adminUrl);
  u.pathname = `/${name}`;
  return u.toString();
}

/**
 * A new database on the cluster (empty, or a copy of `template`); its URL. FILE_COPY copies
 * the template's files after a checkpoint: about half the time of PostgreSQL 15's default
 * WAL_LOG strategy on this machine (fsync is off in the test cluster).
 */
export async function createDatabase(adminUrl: string, opts: { template?: string; name?: string } = {}): Promise<string> {
  const name = opts.name ?? `vigil_test_${process.pid}_${++counter}_${Math.random().toString(36).slice(2, 8)}`;
  const client = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 10_000 });
  await client.connect();
  try {
    const template = opts.template ? ` TEMPLATE "${opts.template}"` : '';
    try {
      await client.query(`CREATE DATABASE "${name}"${template} STRATEGY FILE_COPY`);
    } catch (err) {
      // PostgreSQL before 15 knows no STRATEGY (42601 syntax error; 42704 unknown option).
      if (!['42601', '42704'].includes((err as { code?: string }).code ?? '')) throw err;
      await client.query(`CREATE DATABASE "${name}"${template}`);
    }
  } finally {
    await client.end();
  }
  return databaseUrl(adminUrl, name);
}

/** Creates MIGRATED_TEMPLATE with every migration applied (the global setup, once per run). */
export async function createMigratedTemplate(adminUrl: string): Promise<void> {
  const url = await createDatabase(adminUrl, { name: MIGRATED_TEMPLATE });
  const db = await openPostgresDatabase(url, { poolSize: 1 });
  try {
    await migratePostgres(db);
  } finally {
    await db.close(); // a template must have no connections when it is copied
  }
}

/** The shared cluster's admin URL in a test worker (provided by the global setup). */
export async function sharedAdminUrl(): Promise<string> {
  let url: string | null | undefined;
  try {
    const { inject } = await import('vitest');
    url = inject('postgresAdminUrl');
  } catch {
    url = undefined;
  }
  url ??= process.env[ADMIN_URL_ENV];
  if (!url) {
    throw new Error(
      'no PostgreSQL test cluster: run this test in the server-postgres vitest project (its global setup starts one), with Debian package postgresql installed',
    );
  }
  return url;
}

/**
 * What openTestDatabase() returns when VIGIL_TEST_DB=postgres: a fresh database on the
 * shared cluster, a copy of the migrated template (migratePostgres then finds nothing to do);
 * or, given `location`, that database opened again (a server restart).
 */
export async function openPostgresTestDatabase(opts: { location?: string } = {}): Promise<{ database: SqlDatabase; location: string; close: () => Promise<void> }> {
  const location = opts.location ?? (await createDatabase(await sharedAdminUrl(), { template: MIGRATED_TEMPLATE }));
  const database = await openMigratedPostgresDatabase(location, { poolSize: 4 });
  return { database, location, close: () => database.close() };
}

declare module 'vitest' {
  interface ProvidedContext {
    /** The shared test cluster's admin URL; null when PostgreSQL is not installed. */
    postgresAdminUrl: string | null;
  }
}
