/**
 * The servers the ingest bench loads (issue 15), each started fresh with its own empty
 * database and stopped before the next, so that they never share the machine's two cores:
 *
 *   sqlite  one `vigil server start` process over SQLite WAL in a temp file (as before);
 *   pg1     one process over PostgreSQL;
 *   pg2     two processes over the same PostgreSQL database, behind a TCP round-robin
 *           balancer (bench/round-robin-balancer.ts) in a process of its own.
 *
 * The PostgreSQL cluster is started once by the bench in a temp folder with PostgreSQL's
 * default settings (fsync and synchronous_commit ON, unlike the test cluster), through the
 * tests' own start/stop (tests/helpers/postgres-cluster.ts); each target gets its own database.
 *
 * CPU evidence: cpuReading() reads utime+stime of the server process(es), of the balancer,
 * and of the postmaster with its backends (proc-stats.ts), so that the bench can say which
 * process family a request's CPU went to.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { createDatabase, startPostgresCluster, type PostgresCluster } from '../tests/helpers/postgres-cluster.js';
import { findTool } from '../tests/helpers/system-tool.js';
import { processCpuSec, processFamilyCpuSec } from './proc-stats.js';

export const TARGET_NAMES = ['sqlite', 'pg1', 'pg2'] as const;
export type TargetName = (typeof TARGET_NAMES)[number];

export const TARGET_LABELS: Record<TargetName, string> = {
  sqlite: 'SQLite, 1 process',
  pg1: 'PostgreSQL, 1 process',
  pg2: 'PostgreSQL, 2 processes + balancer',
};

export class TargetListError extends Error {}

/** VIGIL_BENCH_TARGETS ("sqlite,pg1,pg2"; unset or empty: all), in the order given. */
export function parseTargets(value: string | undefined): TargetName[] {
  if (value === undefined || value.trim() === '') return [...TARGET_NAMES];
  const names = value.split(',').map((s) => s.trim()).filter((s) => s !== '');
  const unknown = names.filter((n) => !(TARGET_NAMES as readonly string[]).includes(n));
  if (unknown.length > 0) throw new TargetListError(`VIGIL_BENCH_TARGETS: unknown target ${unknown.map((u) => `"${u}"`).join(', ')}; known: ${TARGET_NAMES.join(', ')}`);
  return [...new Set(names)] as TargetName[];
}

const ROOT = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const VIGIL = 'tests/server/helpers/vigil-command.ts';

export interface CpuReading {
  /** The vigil server process(es), seconds. */
  server: number;
  /** The postmaster and its backends, seconds (0 for SQLite: it runs inside the server). */
  postgres: number;
  /** The balancer process, seconds (0 without one). */
  balancer: number;
  /** This process: autocannon, the per-request signing, the loopback receivers. */
  loadGenerator: number;
}

/** PostgreSQL's own counters (cumulative; PostgreSQL flushes them about once a second). */
export interface DatabaseReading {
  /** Transactions ended by COMMIT in the target's database, read-only ones too (pg_stat_database.xact_commit). */
  commits: number;
  /** WAL flushes to disk, whole cluster (pg_stat_wal.wal_sync): one per group commit. */
  walSyncs: number;
  walBytes: number;
}

export interface Target {
  name: TargetName;
  label: string;
  url: string;
  enrollToken: string;
  /** How many `vigil server start` processes serve this target. */
  serverProcesses: number;
  cpuReading(): CpuReading;
  /** undefined for SQLite. */
  databaseReading(): Promise<DatabaseReading | undefined>;
  stop(): Promise<void>;
}

function spawnUntil(args: string[], env: NodeJS.ProcessEnv, pattern: RegExp, what: string): Promise<{ child: ChildProcess; match: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', ...args], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = pattern.exec(out);
      if (m) resolve({ child, match: m[1]! });
    });
    child.once('exit', (code) => reject(new Error(`${what} exited ${code} before it was ready`)));
  });
}

function startServer(db: string, adminToken: string): Promise<{ child: ChildProcess; url: string }> {
  return spawnUntil(
    [VIGIL, 'server', 'start', '--db', db, '--port', '0', '--log-level', 'warn', '--enrol-burst-per-address', '5000'],
    { ...process.env, VIGIL_ADMIN_TOKEN: adminToken },
    /listening on (http:\/\/127\.0\.0\.1:\d+)/,
    'vigil server',
  ).then(({ child, match }) => ({ child, url: match }));
}

/** `vigil server token create` (it also creates and migrates the database). */
function createToken(db: string): Promise<string> {
  const child = spawn(process.execPath, ['--import', 'tsx', VIGIL, 'server', 'token', 'create', '--tenant', 'Bench Tenant', '--db', db, '--json'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  return new Promise((resolve, reject) => child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out).enrollToken) : reject(new Error(`token create exited ${code}`)))));
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  await exited;
  clearTimeout(timer);
}

function postmasterPid(cluster: PostgresCluster): number {
  const pid = Number(readFileSync(path.join(cluster.dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
  if (!Number.isInteger(pid) || pid <= 0) throw new Error(`no postmaster pid in ${cluster.dataDir}/postmaster.pid`);
  return pid;
}

/** Whether the PostgreSQL targets can run here; the reason when not. */
export function postgresMissing(): string | undefined {
  return findTool('initdb') && findTool('pg_ctl') ? undefined : 'PostgreSQL targets skipped: initdb/pg_ctl not found (Debian package postgresql)';
}

/** Starts targets on demand; close() stops the PostgreSQL cluster once all are done. */
export class TargetLauncher {
  private cluster: PostgresCluster | undefined;

  constructor(private readonly adminToken: string) {}

  async start(name: TargetName): Promise<Target> {
    if (name === 'sqlite') {
      const dir = await mkdtemp(path.join(tmpdir(), 'vigil-bench-ingest-'));
      const db = path.join(dir, 'server.db');
      try {
        const enrollToken = await createToken(db);
        const server = await startServer(db, this.adminToken);
        const pid = server.child.pid!;
        return {
          name,
          label: TARGET_LABELS[name],
          url: server.url,
          enrollToken,
          serverProcesses: 1,
          cpuReading: () => ({ server: processCpuSec(pid), postgres: 0, balancer: 0, loadGenerator: ownCpuSec() }),
          databaseReading: async () => undefined,
          stop: async () => {
            await stopChild(server.child);
            await rm(dir, { recursive: true, force: true });
          },
        };
      } catch (err) {
        await rm(dir, { recursive: true, force: true });
        throw err;
      }
    }
    this.cluster ??= await startPostgresCluster({ settings: 'durable' });
    const cluster = this.cluster;
    const db = await createDatabase(cluster.adminUrl, { name: `vigil_bench_${name}` });
    const enrollToken = await createToken(db);
    const postmaster = postmasterPid(cluster);
    const count = name === 'pg2' ? 2 : 1;
    const servers: Array<{ child: ChildProcess; url: string }> = [];
    let balancer: ChildProcess | undefined;
    const stop = async () => {
      if (balancer) await stopChild(balancer);
      for (const s of servers) await stopChild(s.child);
    };
    try {
      // One after the other: the second finds the schema migrated by the token command.
      for (let i = 0; i < count; i++) servers.push(await startServer(db, this.adminToken));
      let url = servers[0]!.url;
      if (count > 1) {
        const backends = servers.map((s) => new URL(s.url).host);
        const started = await spawnUntil(['bench/round-robin-balancer.ts', ...backends], process.env, /balancing on (http:\/\/127\.0\.0\.1:\d+)/, 'balancer');
        balancer = started.child;
        url = started.match;
      }
      const serverPids = servers.map((s) => s.child.pid!);
      const balancerPid = balancer?.pid;
      return {
        name,
        label: TARGET_LABELS[name],
        url,
        enrollToken,
        serverProcesses: count,
        cpuReading: () => ({
          server: serverPids.reduce((sum, pid) => sum + processCpuSec(pid), 0),
          postgres: processFamilyCpuSec(postmaster),
          balancer: balancerPid ? processCpuSec(balancerPid) : 0,
          loadGenerator: ownCpuSec(),
        }),
        databaseReading: () => readDatabase(cluster.adminUrl, `vigil_bench_${name}`),
        stop,
      };
    } catch (err) {
      await stop();
      throw err;
    }
  }

  async close(): Promise<void> {
    await this.cluster?.stop();
    this.cluster = undefined;
  }
}

async function readDatabase(adminUrl: string, database: string): Promise<DatabaseReading> {
  // A new connection each time: a session would otherwise see its first stats snapshot again.
  const client = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 10_000 });
  await client.connect();
  try {
    const { rows } = await client.query<{ commits: string; wal_sync: string; wal_bytes: string }>(
      'SELECT (SELECT xact_commit FROM pg_stat_database WHERE datname = $1) AS commits, wal_sync, wal_bytes FROM pg_stat_wal',
      [database],
    );
    const r = rows[0]!;
    return { commits: Number(r.commits), walSyncs: Number(r.wal_sync), walBytes: Number(r.wal_bytes) };
  } finally {
    await client.end();
  }
}

function ownCpuSec(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

/** The CPU spent between two readings, per family, in seconds. */
export function cpuBetween(before: CpuReading, after: CpuReading): CpuReading {
  return {
    server: after.server - before.server,
    postgres: after.postgres - before.postgres,
    balancer: after.balancer - before.balancer,
    loadGenerator: after.loadGenerator - before.loadGenerator,
  };
}
