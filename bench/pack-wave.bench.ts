/**
 * A pack wave: how fast a published pack reaches a fleet, and what it costs the server.
 *
 * Server: the reference backend in its own process (bench/pack-wave-server.ts), SQLite on a
 * temp file, heartbeat interval 15 s. Devices: N simulated agents in this process (default
 * 1,000; `--devices N`), each enrolled for real and using the agent's own protocol modules:
 * ProtocolClient heartbeats every 15 s (first one at a random offset, then ±10 % jitter),
 * and on a heartbeat response that lists a pack it does not have, PackFetcher (signed GET,
 * gzip), the SHA-256 check and verifyDelivered (Ed25519 signature against the trusted key)
 * exactly as the agent's PackUpdater does.
 *
 * Ours: from POST /v1/packs (publish) until 99 % of devices have fetched and verified the
 * pack; fetches per device; requests and server CPU seconds during the wave.
 * Peer: the same devices, same schedule, each fetching a static file of the same size from
 * the same server process at its next heartbeat tick after the mark (GET /bench/static,
 * unsigned, no database): what the wave costs without authentication, listing and signing.
 * Target: 99 % within one heartbeat interval + 2 s, one fetch per device.
 *
 * Run: node --import tsx bench/pack-wave.bench.ts [--devices N]   (figures on a quiet machine only)
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { printTable } from './table.js';
import { ProtocolClient } from '../src/core/report/protocol-client.js';
import type { FetchLike } from '../src/core/report/transport.js';
import { PackFetcher } from '../src/core/fleet/pack-fetcher.js';
import { sha256, verifyDelivered } from '../src/core/fleet/fleet-pack-store.js';
import { generatePackKey, signPack } from '../src/core/pack/pack-signature.js';
import type { EnrollResponse } from '../src/shared/protocol.js';
import { enrollRequest } from '../tests/server/helpers/signed-request.js';
import { heartbeatFor } from '../tests/server/helpers/sample-reports.js';
import { testPack } from '../tests/helpers/test-pack.js';

const ROOT = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const { values } = parseArgs({ options: { devices: { type: 'string' } } });
const DEVICES = Number(values.devices ?? process.env.VIGIL_BENCH_DEVICES ?? 1000);
const INTERVAL_MS = 15_000;
const ADMIN = 'bench-admin-token-0123456789abcdef';
const fetchLike: FetchLike = (u, i) => fetch(u, i);

function cpuSeconds(pid: number): number {
  // /proc/<pid>/stat fields 14 and 15: utime and stime in clock ticks (100 per second on Linux).
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
}

function startServer(dbFile: string, staticFile: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'bench/pack-wave-server.ts', dbFile, ADMIN, staticFile, String(INTERVAL_MS / 1000)], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
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

async function admin(url: string, method: string, p: string, body?: string): Promise<Record<string, unknown>> {
  const res = await fetch(url + p, { method, headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' }, ...(body ? { body } : {}) });
  if (res.status >= 300) throw new Error(`${method} ${p}: HTTP ${res.status} ${await res.text()}`);
  return (await res.json()) as Record<string, unknown>;
}

interface Device {
  cred: { deviceId: string; deviceSecret: string };
  client: ProtocolClient;
  fetcher: PackFetcher;
  timer?: NodeJS.Timeout;
  verifiedAt?: number;
  staticAt?: number;
  fetches: number;
}

interface Wave {
  mark: number;
  mode: 'pack' | 'static';
  requests: number;
  failures: number;
}

async function main(): Promise<void> {
  const dir = await mkdtemp(path.join(tmpdir(), 'vigil-pack-wave-'));
  const key = generatePackKey('bench-2026');
  const trusted = [{ keyId: key.keyId, publicKey: key.publicKey }];
  const envelope = JSON.stringify(signPack(testPack({ version: 2 }), key.keyId, key.privateKeyPem), null, 2);
  const staticFile = path.join(dir, 'static.json');
  await writeFile(staticFile, envelope);
  const server = await startServer(path.join(dir, 'server.db'), staticFile);
  try {
    const tokenRes = await fetch(`${server.url}/v1/tenants`, { headers: { authorization: `Bearer ${ADMIN}` } });
    if (tokenRes.status !== 200) throw new Error('admin API not reachable');
    // Enrolment needs a token: create it through the database the server uses.
    const { openStorage } = await import('../src/server/database/open-storage.js');
    const storage = await openStorage(path.join(dir, 'server.db'));
    const token = (await storage.transaction((tx) => tx.tenants.createToken('Bench Tenant', Date.now()))).token;
    await storage.close();
    await admin(server.url, 'POST', '/v1/pack-keys', JSON.stringify(trusted[0]));

    const devices: Device[] = [];
    for (let i = 0; i < DEVICES; i += 50) {
      const batch = await Promise.all(
        Array.from({ length: Math.min(50, DEVICES - i) }, async (_, k) => {
          const res = await fetch(`${server.url}/v1/enroll`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(enrollRequest(token, `bench-device-${String(i + k).padStart(6, '0')}`, `PC-${i + k}`)) });
          const e = (await res.json()) as EnrollResponse;
          const cred = { deviceId: e.deviceId, deviceSecret: e.deviceSecret };
          const serverUrl = new URL(server.url);
          return { cred, client: new ProtocolClient({ serverUrl, fetch: fetchLike }), fetcher: new PackFetcher({ serverUrl, fetch: fetchLike }), fetches: 0 } as Device;
        }),
      );
      devices.push(...batch);
    }

    let wave: Wave | undefined;
    const tick = async (d: Device): Promise<void> => {
      const w = wave;
      if (w?.mode === 'static' && d.staticAt === undefined && Date.now() >= w.mark) {
        w.requests++;
        const res = await fetch(`${server.url}/bench/static`, { headers: { 'accept-encoding': 'gzip' } });
        if ((await res.text()).length === envelope.length) d.staticAt = Date.now();
        else w.failures++;
        return;
      }
      if (w) w.requests++;
      const res = await d.client.heartbeat(d.cred, heartbeatFor(d.cred.deviceId, { sentAt: new Date() }));
      if (!res.ok) {
        if (w) w.failures++;
        return;
      }
      const listed = res.value.packs?.[0];
      if (w?.mode !== 'pack' || !listed || d.verifiedAt !== undefined) return;
      w.requests++;
      d.fetches++;
      const got = await d.fetcher.fetch(d.cred, listed.id, listed.version);
      if (!got.ok) {
        w.failures++;
        return;
      }
      if (sha256(Buffer.from(got.text)) !== listed.sha256) throw new Error('sha256 mismatch');
      verifyDelivered(got.text, listed.id, listed.version, trusted);
      d.verifiedAt = Date.now();
    };
    const schedule = (d: Device, delay: number) => {
      d.timer = setTimeout(() => {
        void tick(d).finally(() => schedule(d, INTERVAL_MS * (0.9 + Math.random() * 0.2)));
      }, delay);
    };
    for (const d of devices) schedule(d, Math.random() * INTERVAL_MS);
    // Let the schedule settle into its steady state (every device has heartbeated once).
    await new Promise((r) => setTimeout(r, INTERVAL_MS + 1000));

    const runWave = async (mode: Wave['mode']) => {
      const cpu0 = cpuSeconds(server.child.pid!);
      const w: Wave = { mark: Date.now(), mode, requests: 0, failures: 0 };
      if (mode === 'pack') await admin(server.url, 'POST', '/v1/packs?all=true', envelope);
      wave = w;
      const done = (d: Device) => (mode === 'pack' ? d.verifiedAt : d.staticAt);
      const need = Math.ceil(DEVICES * 0.99);
      const deadline = Date.now() + 4 * INTERVAL_MS;
      while (devices.filter((d) => done(d) !== undefined).length < need && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      const times = devices.map(done).filter((t): t is number => t !== undefined).map((t) => t - w.mark).sort((a, b) => a - b);
      const t99 = times.length >= need ? times[need - 1]! / 1000 : Infinity;
      const cpu = cpuSeconds(server.child.pid!) - cpu0;
      wave = undefined;
      return { t99, cpu, requests: w.requests, failures: w.failures, reached: times.length };
    };
    const ours = await runWave('pack');
    const peer = await runWave('static');
    for (const d of devices) clearTimeout(d.timer);
    const maxFetches = Math.max(...devices.map((d) => d.fetches));
    printTable(
      `Pack wave: ${DEVICES} devices, heartbeat ${INTERVAL_MS / 1000} s with jitter`,
      [
        { measure: 'publish -> 99 % fetched and verified', ours: ours.t99, peer: peer.t99, unit: 's', peerName: 'static file of the same size', target: `<= ${INTERVAL_MS / 1000 + 2} s`, met: ours.t99 <= INTERVAL_MS / 1000 + 2 },
        { measure: 'server CPU during the wave', ours: ours.cpu, peer: peer.cpu, unit: 'cpu-s', peerName: 'static file of the same size' },
        { measure: 'requests during the wave', ours: ours.requests, peer: peer.requests, unit: 'req', peerName: 'static file of the same size' },
        { measure: 'pack fetches per device (max)', ours: maxFetches, peer: 1, unit: 'fetches', peerName: 'one each', target: '1', met: maxFetches === 1 },
      ],
      [
        `Pack ${Buffer.byteLength(envelope)} bytes (gzip on the wire). Devices reached: ours ${ours.reached}, peer ${peer.reached}. Failed requests: ours ${ours.failures}, peer ${peer.failures}.`,
        'Ours counts heartbeats and pack fetches; peer counts heartbeats and static fetches over the same window.',
      ],
    );
  } finally {
    server.child.kill('SIGTERM');
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
