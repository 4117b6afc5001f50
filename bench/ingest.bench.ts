/**
 * Heartbeat ingest into the reference backend, and the agent's HTTP transport.
 *
 * Targets (issue 15; bench/ingest-targets.ts), each run in turn in the same bench run with
 * the same load: `vigil server start` over SQLite WAL (a temp file), over PostgreSQL with one
 * process, and over PostgreSQL with two processes behind a TCP round-robin balancer. The
 * PostgreSQL cluster is started by the bench with default settings (fsync ON). Choose with
 * VIGIL_BENCH_TARGETS=sqlite,pg1,pg2 (default all; PostgreSQL targets skipped with one line
 * when PostgreSQL is not installed).
 *
 * Each target: 2,000 enrolled devices. Load: autocannon, 10 s per run, 32 connections, each
 * request a realistic heartbeat (a Windows PC with a compromised 3CX install: 1 install, 4
 * findings, 3.7 KB of JSON) signed per request in autocannon's setupRequest hook (fresh
 * timestamp and nonce, so the server's replay check and nonce insert run as in production),
 * round-robin over the devices so per-device rate limits stay at their defaults.
 * Peer: GET /healthz on the same target in the same run: the cost of fastify and HTTP
 * alone; the ratio is what authentication, validation and the database add.
 * CPU: utime+stime of the server process(es), of PostgreSQL's postmaster and backends, of
 * the balancer and of this process (autocannon and the signing) over each ingest run: which
 * of them fills the two cores, and the CPU ms each heartbeat costs in the server and in the
 * database (what a larger machine's capacity is estimated from).
 *
 * Notification row (issue 14; on the SQLite target): the same ingest run again with three channels configured
 * (webhook, Slack and syslog, to receivers on loopback in this process) against the run
 * with none. Every device already reported its compromised verdict in the first run, so
 * this is the steady state: each heartbeat pays the notification hook (one read of the
 * previous status, no event), as in production where state changes are rare.
 *
 * Transport rows (on the SQLite target): 2,000 signed heartbeats sent one after another by the agent's
 * ProtocolClient through the direct transport `vigil run` uses (node:http,
 * src/core/report/node-http-fetch.ts; ours), through Node's global fetch and through
 * node-fetch 3 (peers).
 *
 * Run: node --import tsx bench/ingest.bench.ts
 */
import { createRequire } from 'node:module';
import nodeFetchModule from 'node-fetch';
import { createServer as createHttpServer } from 'node:http';
import { createServer as createTcpServer, type AddressInfo } from 'node:net';
import { printTable, percentile, type BenchRow } from './table.js';
import { cpuBetween, parseTargets, postgresMissing, TargetLauncher, TargetListError, type CpuReading, type Target, type TargetName } from './ingest-targets.js';
import { computeSignature, secretKey, sha256Hex } from '../src/core/report/hmac-auth.js';
import { ProtocolClient } from '../src/core/report/protocol-client.js';
import type { FetchLike } from '../src/core/report/transport.js';
import { createNodeHttpFetch } from '../src/core/report/node-http-fetch.js';
import { AUTH_HEADERS, type EnrollResponse } from '../src/shared/protocol.js';
import { enrollRequest } from '../tests/server/helpers/signed-request.js';
import { heartbeatFor } from '../tests/server/helpers/sample-reports.js';

interface AutocannonResult {
  requests: { average: number; total: number };
  latency: { p99: number; average: number };
  non2xx: number;
  errors: number;
  duration: number;
}
type Autocannon = (opts: Record<string, unknown>) => Promise<AutocannonResult>;
const require = createRequire(import.meta.url);
const autocannon = require('autocannon') as Autocannon;

const DEVICES = 2000;
const CONNECTIONS = 32;
const DURATION_SEC = Number(process.env.VIGIL_BENCH_SECONDS ?? 10);
const TRANSPORT_REQUESTS = 2000;
const ADMIN = 'bench-admin-token-0123456789abcdef';

async function enrolAll(url: string, token: string, n: number): Promise<EnrollResponse[]> {
  const out: EnrollResponse[] = [];
  for (let i = 0; i < n; i += 50) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(50, n - i) }, async (_, k) => {
        const res = await fetch(`${url}/v1/enroll`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(enrollRequest(token, `bench-device-${String(i + k).padStart(6, '0')}`, `PC-${i + k}`)) });
        if (res.status !== 201) throw new Error(`enrol failed: ${res.status} ${await res.text()}`);
        return (await res.json()) as EnrollResponse;
      }),
    );
    out.push(...batch);
  }
  return out;
}

interface PreparedDevice {
  deviceId: string;
  key: Buffer;
  body: string;
  bodySha256: string;
}

async function ingestRun(url: string, devices: PreparedDevice[]): Promise<AutocannonResult> {
  let next = 0;
  let nonce = 0;
  const noncePrefix = `b${process.pid.toString(36)}${Date.now().toString(36)}`;
  return autocannon({
    url,
    connections: CONNECTIONS,
    duration: DURATION_SEC,
    requests: [
      {
        method: 'POST',
        path: '/v1/heartbeats',
        setupRequest: (req: Record<string, unknown>) => {
          const d = devices[next++ % devices.length]!;
          const timestamp = String(Math.floor(Date.now() / 1000));
          const n = `${noncePrefix}${(nonce++).toString(36).padStart(8, '0')}`;
          const signature = computeSignature(d.key, { method: 'POST', path: '/v1/heartbeats', timestamp, nonce: n, deviceId: d.deviceId, contentEncoding: 'identity', bodySha256: d.bodySha256 });
          return {
            ...req,
            headers: {
              'content-type': 'application/json',
              [AUTH_HEADERS.device]: d.deviceId,
              [AUTH_HEADERS.timestamp]: timestamp,
              [AUTH_HEADERS.nonce]: n,
              [AUTH_HEADERS.signature]: signature,
            },
            body: d.body,
          };
        },
      },
    ],
  });
}

async function transportRun(url: string, fetchLike: FetchLike, creds: EnrollResponse[]): Promise<{ rate: number; p99: number; failures: number }> {
  const client = new ProtocolClient({ serverUrl: new URL(url), fetch: fetchLike });
  const lat: number[] = [];
  let failures = 0;
  const t0 = performance.now();
  for (let i = 0; i < TRANSPORT_REQUESTS; i++) {
    const c = creds[i % creds.length]!;
    const s = performance.now();
    const r = await client.heartbeat({ deviceId: c.deviceId, deviceSecret: c.deviceSecret }, heartbeatFor(c.deviceId, { sentAt: new Date() }));
    lat.push(performance.now() - s);
    if (!r.ok) failures++;
  }
  return { rate: TRANSPORT_REQUESTS / ((performance.now() - t0) / 1000), p99: percentile(lat, 99), failures };
}

const globalFetch: FetchLike = (u, init) => fetch(u, init);
const nodeFetch: FetchLike = (u, init) =>
  nodeFetchModule(u, { method: init.method, headers: init.headers, ...(init.body ? { body: Buffer.from(init.body) } : {}), ...(init.signal ? { signal: init.signal as never } : {}) });

interface TargetResult {
  target: Target;
  healthz: AutocannonResult;
  ingest: AutocannonResult;
  /** CPU over the ingest run and over the /healthz run. */
  ingestCpu: CpuReading;
  healthzCpu: CpuReading;
  /** PostgreSQL's counters over the ingest run (undefined for SQLite). */
  database: { commits: number; walSyncs: number; walBytes: number } | undefined;
  /** Devices the server stores as seen and compromised after the runs. */
  seen: number;
  bodyBytes: number;
}

/** Enrols the devices, warms up, measures /healthz then signed heartbeats with their CPU. */
async function measureTarget(target: Target): Promise<{ result: TargetResult; enrolled: EnrollResponse[]; devices: PreparedDevice[] }> {
  const enrolled = await enrolAll(target.url, target.enrollToken, DEVICES);
  const devices: PreparedDevice[] = enrolled.map((e) => {
    const body = JSON.stringify(heartbeatFor(e.deviceId, { sentAt: new Date(), hostname: `PC-${e.deviceId.slice(4, 10)}` }));
    return { deviceId: e.deviceId, key: secretKey(e.deviceSecret), body, bodySha256: sha256Hex(body) };
  });
  // Warm up (JIT, page caches, the pools' connections), then measure.
  await autocannon({ url: `${target.url}/healthz`, connections: CONNECTIONS, duration: 2 });
  const h0 = target.cpuReading();
  const healthz = await autocannon({ url: `${target.url}/healthz`, connections: CONNECTIONS, duration: DURATION_SEC });
  const d0 = await target.databaseReading();
  const c0 = target.cpuReading();
  const ingest = await ingestRun(target.url, devices);
  const c1 = target.cpuReading();
  // PostgreSQL publishes its statistics at most once a second: let the last ones land.
  const d1 = d0 ? await new Promise((r) => setTimeout(r, 1500)).then(() => target.databaseReading()) : undefined;
  const database = d0 && d1 ? { commits: d1.commits - d0.commits, walSyncs: d1.walSyncs - d0.walSyncs, walBytes: d1.walBytes - d0.walBytes } : undefined;
  const seen = await countCompromised(target.url);
  return { result: { target, healthz, ingest, ingestCpu: cpuBetween(c0, c1), healthzCpu: cpuBetween(h0, c0), database, seen, bodyBytes: Buffer.byteLength(devices[0]!.body) }, enrolled, devices };
}

async function countCompromised(url: string): Promise<number> {
  const stored = (await (await fetch(`${url}/v1/devices?limit=10000`, { headers: { authorization: `Bearer ${ADMIN}` } })).json()) as { devices: Array<{ lastSeenAt: string | null; status: string }> };
  return stored.devices.filter((d) => d.lastSeenAt !== null && d.status === 'compromised').length;
}

/** The notification and transport rows, on one target (the SQLite one). */
async function extraRows(target: Target, first: AutocannonResult, enrolled: EnrollResponse[], devices: PreparedDevice[]): Promise<{ rows: BenchRow[]; notes: string[]; failed: boolean }> {
  // Three channels, receivers on loopback (answer 204 / read and drop), then the same run.
  const sinkHttp = createHttpServer((req, res) => req.resume().on('end', () => res.writeHead(204).end()));
  const sinkTcp = createTcpServer((sock) => sock.resume().on('error', () => undefined));
  await new Promise<void>((r) => sinkHttp.listen(0, '127.0.0.1', () => r()));
  await new Promise<void>((r) => sinkTcp.listen(0, '127.0.0.1', () => r()));
  const httpPort = (sinkHttp.address() as AddressInfo).port;
  const tcpPort = (sinkTcp.address() as AddressInfo).port;
  const channelIds: string[] = [];
  for (const config of [
    { type: 'webhook', url: `http://127.0.0.1:${httpPort}/hook` },
    { type: 'slack', url: `http://127.0.0.1:${httpPort}/slack` },
    { type: 'syslog', host: '127.0.0.1', port: tcpPort, tls: false },
  ]) {
    const res = await fetch(`${target.url}/v1/notify/channels`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' }, body: JSON.stringify({ name: config.type, minSeverity: 'info', config }) });
    if (res.status !== 201) throw new Error(`adding the ${config.type} channel failed: ${res.status} ${await res.text()}`);
    channelIds.push(((await res.json()) as { channel: { id: string } }).channel.id);
  }
  const withChannels = await ingestRun(target.url, devices);
  // Then the channels removed and the same run once more: the peer is the mean of the runs
  // before and after, so a drift over the runs (the database and its WAL grow) is not
  // charged to the notifications.
  for (const id of channelIds) {
    const res = await fetch(`${target.url}/v1/notify/channels/${id}`, { method: 'DELETE', headers: { authorization: `Bearer ${ADMIN}` } });
    if (res.status !== 200) throw new Error(`removing channel ${id} failed: ${res.status} ${await res.text()}`);
  }
  const after = await ingestRun(target.url, devices);
  const noChannels = (first.requests.average + after.requests.average) / 2;
  sinkHttp.close();
  sinkTcp.close();

  // Transport: the first 1,000 devices have not been near their rate limit for a while.
  const half = enrolled.slice(0, 1000);
  const nodeHttp = createNodeHttpFetch();
  await transportRun(target.url, globalFetch, half.slice(0, 50)); // warm-up
  const viaGlobal = await transportRun(target.url, globalFetch, half.slice(50, 330));
  const viaNodeFetch = await transportRun(target.url, nodeFetch, half.slice(330, 660));
  const viaNodeHttp = await transportRun(target.url, nodeHttp.fetch, half.slice(660, 1000));
  nodeHttp.close();
  return {
    rows: [
      { measure: `heartbeats/s, 3 notification channels (${target.name})`, ours: withChannels.requests.average, peer: noChannels, unit: 'req/s', peerName: 'no channels (mean of the runs before and after)', target: 'ratio >= 0.9', met: withChannels.requests.average >= 0.9 * noChannels },
      { measure: 'agent transport rate (sequential, node:http)', ours: viaNodeHttp.rate, peer: viaGlobal.rate, unit: 'req/s', peerName: "Node's global fetch (undici)" },
      { measure: 'agent transport rate (sequential, node:http)', ours: viaNodeHttp.rate, peer: viaNodeFetch.rate, unit: 'req/s', peerName: 'node-fetch 3.3.2' },
      { measure: 'agent transport p99 (node:http)', ours: viaNodeHttp.p99, peer: viaGlobal.p99, unit: 'ms', peerName: "Node's global fetch (undici)" },
    ],
    notes: [
      `with 3 channels (${target.name}): ${withChannels.requests.total} requests, ${withChannels.non2xx} non-2xx, ${withChannels.errors} errors; no channels before ${Math.round(first.requests.average)} req/s, after ${Math.round(after.requests.average)} req/s.`,
      `transport (${target.name}): ${TRANSPORT_REQUESTS} heartbeats each through ProtocolClient; failures: node:http ${viaNodeHttp.failures}, global fetch ${viaGlobal.failures}, node-fetch ${viaNodeFetch.failures}.`,
    ],
    failed: withChannels.non2xx > 0 || withChannels.errors > 0 || viaNodeHttp.failures > 0,
  };
}

const ms = (sec: number, requests: number) => (requests > 0 ? ((sec * 1000) / requests).toFixed(3) : 'n/a');

/** One line per target: where the CPU of the ingest run went, and per heartbeat. */
function cpuNote(r: TargetResult): string {
  const c = r.ingestCpu;
  const n = r.ingest.requests.total;
  const wall = r.ingest.duration;
  const share = (sec: number) => `${Math.round((sec / wall) * 100)}%`;
  const total = c.server + c.postgres + c.balancer + c.loadGenerator;
  const parts = [
    `server ${c.server.toFixed(1)} s (${share(c.server)} of a core; ${ms(c.server, n)} ms/heartbeat, /healthz ${ms(r.healthzCpu.server, r.healthz.requests.total)} ms/req)`,
    ...(r.target.name === 'sqlite' ? [] : [`PostgreSQL ${c.postgres.toFixed(1)} s (${share(c.postgres)}; ${ms(c.postgres, n)} ms/heartbeat)`]),
    ...(r.target.serverProcesses > 1 ? [`balancer ${c.balancer.toFixed(1)} s (${share(c.balancer)})`] : []),
    `load generator ${c.loadGenerator.toFixed(1)} s (${share(c.loadGenerator)})`,
  ];
  const db = r.database;
  const commits = db && n > 0 ? `; PostgreSQL: ${(db.commits / n).toFixed(2)} transactions (read-only ones too) and ${(db.walSyncs / n).toFixed(2)} WAL flushes per heartbeat (${Math.round(db.walSyncs / wall)} flushes/s), ${Math.round(db.walBytes / n)} WAL bytes per heartbeat` : '';
  return `CPU, ${r.target.label}, ingest run of ${wall.toFixed(1)} s: ${parts.join('; ')}; together ${share(total)} of one core (the machine has 2)${commits}.`;
}

let names: TargetName[] = [];
try {
  names = parseTargets(process.env.VIGIL_BENCH_TARGETS);
} catch (err) {
  if (!(err instanceof TargetListError)) throw err;
  process.stderr.write(`ingest bench: ${err.message}\n`);
  process.exit(64);
}
const missing = names.some((n) => n !== 'sqlite') ? postgresMissing() : undefined;
if (missing) process.stdout.write(`${missing}\n`);
const runnable = missing ? names.filter((n) => n === 'sqlite') : names;
if (runnable.length === 0) {
  process.stdout.write('ingest bench: no target left to run\n');
} else {
  const launcher = new TargetLauncher(ADMIN);
  const results: TargetResult[] = [];
  let extra: { rows: BenchRow[]; notes: string[]; failed: boolean } | undefined;
  try {
    for (const name of runnable) {
      const target = await launcher.start(name);
      try {
        const { result, enrolled, devices } = await measureTarget(target);
        results.push(result);
        if (name === 'sqlite') extra = await extraRows(target, result.ingest, enrolled, devices);
      } finally {
        await target.stop();
      }
    }
  } finally {
    await launcher.close();
  }
  const rows: BenchRow[] = results.flatMap((r) => [
    { measure: `heartbeats/s, ${r.target.label}`, ours: r.ingest.requests.average, peer: r.healthz.requests.average, unit: 'req/s', peerName: 'GET /healthz, same target', target: '>= 3,000/s', met: r.ingest.requests.average >= 3000 },
    { measure: `p99 latency, ${r.target.label}`, ours: r.ingest.latency.p99, peer: r.healthz.latency.p99, unit: 'ms', peerName: 'GET /healthz, same target' },
  ]);
  printTable(
    `Heartbeat ingest: vigil server over ${results.map((r) => r.target.label).join(' / ')}; ${DEVICES} devices, ${results[0]!.bodyBytes}-byte signed heartbeats, ${CONNECTIONS} connections, ${DURATION_SEC} s per run, 2-core machine`,
    [...rows, ...(extra?.rows ?? [])],
    [
      ...(results.some((r) => r.target.name !== 'sqlite') ? ['PostgreSQL 15 cluster started by the bench with default settings (fsync ON, synchronous_commit ON: every heartbeat commit waits for its WAL flush); one fresh database per target; the 2-process target is 2 `vigil server start` processes behind a TCP round-robin balancer (bench/round-robin-balancer.ts) in its own process.'] : []),
      ...results.map((r) => `${r.target.label}: ingest ${r.ingest.requests.total} requests, ${r.ingest.non2xx} non-2xx, ${r.ingest.errors} errors; healthz ${r.healthz.requests.total} requests; ${r.seen} of ${DEVICES} devices stored as compromised.`),
      ...results.map(cpuNote),
      ...(extra?.notes ?? []),
    ],
  );
  if (results.some((r) => r.ingest.non2xx > 0 || r.ingest.errors > 0) || extra?.failed) process.exitCode = 1;
}
