/**
 * Heartbeat ingest into the reference backend, and the agent's HTTP transport.
 *
 * Server: `vigil server start` as its own process (fastify + SQLite WAL, on a temp file),
 * 2,000 enrolled devices. Load: autocannon, 10 s per run, 32 connections, each request a
 * realistic heartbeat (a Windows PC with a compromised 3CX install: 1 install, 4 findings,
 * 3.7 KB of JSON) signed per request in autocannon's setupRequest hook (fresh timestamp and
 * nonce, so the server's replay check and nonce insert run as in production), round-robin
 * over the devices so per-device rate limits stay at their defaults.
 * Peer: GET /healthz on the same server process in the same run: the cost of fastify and
 * HTTP alone; the ratio is what authentication, validation and the database add.
 *
 * Notification row (issue 14): the same ingest run again with three channels configured
 * (webhook, Slack and syslog, to receivers on loopback in this process) against the run
 * with none. Every device already reported its compromised verdict in the first run, so
 * this is the steady state: each heartbeat pays the notification hook (one read of the
 * previous status, no event), as in production where state changes are rare.
 *
 * Transport rows: 2,000 signed heartbeats sent one after another by the agent's
 * ProtocolClient through the direct transport `vigil run` uses (node:http,
 * src/core/report/node-http-fetch.ts; ours), through Node's global fetch and through
 * node-fetch 3 (peers).
 *
 * Run: node --import tsx bench/ingest.bench.ts
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import nodeFetchModule from 'node-fetch';
import { createServer as createHttpServer } from 'node:http';
import { createServer as createTcpServer, type AddressInfo } from 'node:net';
import { printTable, percentile } from './table.js';
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

const ROOT = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const DEVICES = 2000;
const CONNECTIONS = 32;
const DURATION_SEC = Number(process.env.VIGIL_BENCH_SECONDS ?? 10);
const TRANSPORT_REQUESTS = 2000;
const ADMIN = 'bench-admin-token-0123456789abcdef';

function startServer(dbFile: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'tests/server/helpers/vigil-command.ts', 'server', 'start', '--db', dbFile, '--port', '0', '--log-level', 'warn', '--enrol-burst-per-address', '5000'], {
    cwd: ROOT,
    env: { ...process.env, VIGIL_ADMIN_TOKEN: ADMIN },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (m) resolve({ child, url: m[1]! });
    });
    child.on('exit', (code) => reject(new Error(`server exited ${code}`)));
  });
}

function createToken(dbFile: string): Promise<string> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'tests/server/helpers/vigil-command.ts', 'server', 'token', 'create', '--tenant', 'Bench Tenant', '--db', dbFile, '--json'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  return new Promise((resolve, reject) => child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out).enrollToken) : reject(new Error(`token create exited ${code}`)))));
}

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

const dir = await mkdtemp(path.join(tmpdir(), 'vigil-bench-ingest-'));
const dbFile = path.join(dir, 'server.db');
const token = await createToken(dbFile);
const server = await startServer(dbFile);
try {
  const enrolled = await enrolAll(server.url, token, DEVICES);
  const devices: PreparedDevice[] = enrolled.map((e) => {
    const body = JSON.stringify(heartbeatFor(e.deviceId, { sentAt: new Date(), hostname: `PC-${e.deviceId.slice(4, 10)}` }));
    return { deviceId: e.deviceId, key: secretKey(e.deviceSecret), body, bodySha256: sha256Hex(body) };
  });
  const bodyBytes = Buffer.byteLength(devices[0]!.body);

  // Warm up both routes (JIT, SQLite page cache), then measure.
  await autocannon({ url: `${server.url}/healthz`, connections: CONNECTIONS, duration: 2 });
  const healthz = await autocannon({ url: `${server.url}/healthz`, connections: CONNECTIONS, duration: DURATION_SEC });
  const ingest = await ingestRun(server.url, devices);

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
    const res = await fetch(`${server.url}/v1/notify/channels`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' }, body: JSON.stringify({ name: config.type, minSeverity: 'info', config }) });
    if (res.status !== 201) throw new Error(`adding the ${config.type} channel failed: ${res.status} ${await res.text()}`);
    channelIds.push(((await res.json()) as { channel: { id: string } }).channel.id);
  }
  const withChannels = await ingestRun(server.url, devices);
  // Then the channels removed and the same run once more: the peer is the mean of the runs
  // before and after, so a drift over the runs (the database and its WAL grow) is not
  // charged to the notifications.
  for (const id of channelIds) {
    const res = await fetch(`${server.url}/v1/notify/channels/${id}`, { method: 'DELETE', headers: { authorization: `Bearer ${ADMIN}` } });
    if (res.status !== 200) throw new Error(`removing channel ${id} failed: ${res.status} ${await res.text()}`);
  }
  const ingestAfter = await ingestRun(server.url, devices);
  const noChannels = (ingest.requests.average + ingestAfter.requests.average) / 2;
  sinkHttp.close();
  sinkTcp.close();

  // Transport: the first 1,000 devices have not been near their rate limit for a while.
  const half = enrolled.slice(0, 1000);
  const nodeHttp = createNodeHttpFetch();
  await transportRun(server.url, globalFetch, half.slice(0, 50)); // warm-up
  const viaGlobal = await transportRun(server.url, globalFetch, half.slice(50, 330));
  const viaNodeFetch = await transportRun(server.url, nodeFetch, half.slice(330, 660));
  const viaNodeHttp = await transportRun(server.url, nodeHttp.fetch, half.slice(660, 1000));
  nodeHttp.close();

  const stored = await (await fetch(`${server.url}/v1/devices?limit=10000`, { headers: { authorization: `Bearer ${ADMIN}` } })).json() as { devices: Array<{ lastSeenAt: string | null; status: string }> };
  const seen = stored.devices.filter((d) => d.lastSeenAt !== null && d.status === 'compromised').length;
  printTable(
    `Heartbeat ingest: vigil server (fastify + SQLite WAL), ${DEVICES} devices, ${bodyBytes}-byte signed heartbeats, ${CONNECTIONS} connections, ${DURATION_SEC} s, 2-core machine`,
    [
      { measure: 'heartbeats/s', ours: ingest.requests.average, peer: healthz.requests.average, unit: 'req/s', peerName: 'GET /healthz, same server', target: '>= 3,000/s', met: ingest.requests.average >= 3000 },
      { measure: 'heartbeats/s, 3 notification channels', ours: withChannels.requests.average, peer: noChannels, unit: 'req/s', peerName: 'no channels (mean of the runs before and after)', target: 'ratio >= 0.9', met: withChannels.requests.average >= 0.9 * noChannels },
      { measure: 'p99 latency', ours: ingest.latency.p99, peer: healthz.latency.p99, unit: 'ms', peerName: 'GET /healthz, same server' },
      { measure: 'agent transport rate (sequential, node:http)', ours: viaNodeHttp.rate, peer: viaGlobal.rate, unit: 'req/s', peerName: "Node's global fetch (undici)" },
      { measure: 'agent transport rate (sequential, node:http)', ours: viaNodeHttp.rate, peer: viaNodeFetch.rate, unit: 'req/s', peerName: 'node-fetch 3.3.2' },
      { measure: 'agent transport p99 (node:http)', ours: viaNodeHttp.p99, peer: viaGlobal.p99, unit: 'ms', peerName: "Node's global fetch (undici)" },
    ],
    [
      `with 3 channels: ${withChannels.requests.total} requests, ${withChannels.non2xx} non-2xx, ${withChannels.errors} errors; no channels before ${Math.round(ingest.requests.average)} req/s, after ${Math.round(ingestAfter.requests.average)} req/s.`,
      `ingest: ${ingest.requests.total} requests, ${ingest.non2xx} non-2xx, ${ingest.errors} errors; healthz: ${healthz.requests.total} requests; ${seen} of ${DEVICES} devices stored as compromised.`,
      `transport: ${TRANSPORT_REQUESTS} heartbeats each through ProtocolClient; failures: node:http ${viaNodeHttp.failures}, global fetch ${viaGlobal.failures}, node-fetch ${viaNodeFetch.failures}.`,
    ],
  );
  if (ingest.non2xx > 0 || ingest.errors > 0 || withChannels.non2xx > 0 || withChannels.errors > 0 || viaNodeHttp.failures > 0) process.exitCode = 1;
} finally {
  server.child.kill('SIGTERM');
  await new Promise((r) => server.child.once('exit', r));
  await rm(dir, { recursive: true, force: true });
}
