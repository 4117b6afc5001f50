/**
 * The running agent's footprint. `vigil run` (the CLI as shipped: dist/cli/main.js, built
 * fresh) soaks against the reference server (`vigil server start`) on loopback with short
 * intervals: heartbeats every 10 s (the server's minimum), the connection watch at its
 * default 2 s, a scan every 60 s (the setting's minimum). Beside it, for the same time,
 * the floor: a bare Node process that only keeps a 2 s timer.
 *
 * Both are sampled once a second from outside (bench/proc-stats.ts reads /proc/<pid>/status
 * and /proc/<pid>/stat). The first SETTLE_SEC (enrolment, the first scans) are left out of
 * the steady figures; the peak is the kernel's high-water mark over the whole run.
 *
 *   VIGIL_FOOTPRINT_SEC=120 npm run bench -- footprint   # shorter, for development
 *   VIGIL_FOOTPRINT_CLI=path/to/main.js ...              # another build (before/after)
 *
 * Target (issue 11): steady RSS of `vigil run` at most 70 MB, and no growth.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildCli } from '../scripts/build-cli.js';
import { footprint, sampleProcess, type ProcSample } from './proc-stats.js';
import { median, printTable } from './table.js';

const ROOT = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const SOAK_SEC = Number(process.env.VIGIL_FOOTPRINT_SEC ?? 600);
if (!Number.isFinite(SOAK_SEC) || SOAK_SEC < 60) throw new Error('VIGIL_FOOTPRINT_SEC must be at least 60');
/** Enrolment and the first two scans happen here; a fifth of the soak, at most 2 minutes. */
const SETTLE_SEC = Math.min(120, Math.round(SOAK_SEC / 5));
const HEARTBEAT_SEC = 10;
const SCAN_SEC = 60;
const ADMIN_TOKEN = 'footprint-bench-admin-token-0123456789';
const TARGET_MB = 70;
/** "No growth": what the slope over a soak this short can tell from the GC's sawtooth. */
const GROWTH_TOLERANCE_MB_PER_HOUR = 2;

const cli = process.env.VIGIL_FOOTPRINT_CLI ? path.resolve(process.env.VIGIL_FOOTPRINT_CLI) : await buildCli();
const work = mkdtempSync(path.join(tmpdir(), 'vigil-footprint-'));
const children: ChildProcess[] = [];
const cleanup = () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
};
process.on('exit', cleanup);

function vigil(args: string[], env: NodeJS.ProcessEnv = {}): ChildProcess {
  const child = spawn(process.execPath, [cli, ...args], { cwd: work, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  return child;
}

function waitForLine(child: ChildProcess, re: RegExp, ms: number): Promise<RegExpMatchArray> {
  return new Promise((resolve, reject) => {
    let text = '';
    const timer = setTimeout(() => reject(new Error(`no line matching ${re} within ${ms} ms:\n${text}`)), ms);
    const onData = (d: Buffer) => {
      text += d.toString();
      const m = re.exec(text);
      if (m) {
        clearTimeout(timer);
        resolve(m);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`exited (${code}) before printing ${re}:\n${text}`)));
  });
}

const db = path.join(work, 'server.db');
const tokenRun = spawnSync(process.execPath, [cli, 'server', 'token', 'create', '--tenant', 'Footprint Bench', '--db', db, '--json'], { encoding: 'utf8' });
if (tokenRun.status !== 0) throw new Error(`token create failed: ${tokenRun.stderr}`);
const enrollToken = (JSON.parse(tokenRun.stdout) as { enrollToken: string }).enrollToken;
const server = vigil(['server', 'start', '--db', db, '--port', '0', '--heartbeat-interval', String(HEARTBEAT_SEC), '--log-level', 'warn'], { VIGIL_ADMIN_TOKEN: ADMIN_TOKEN });
const serverUrl = (await waitForLine(server, /listening on (http:\/\/127\.0\.0\.1:\d+)/, 20_000))[1]!;

const config = path.join(work, 'agent.json');
writeFileSync(
  config,
  JSON.stringify({ serverUrl, enrollToken, stateDir: path.join(work, 'state'), scanIntervalSec: SCAN_SEC, watchIntervalSec: 2, logLevel: 'info' }),
);
const agent = vigil(['run', '--config', config]);
const agentLog: string[] = [];
agent.stderr!.on('data', (d: Buffer) => agentLog.push(...d.toString().split('\n').filter(Boolean)));
const floor = spawn(process.execPath, ['-e', 'setInterval(() => {}, 2000)'], { stdio: 'ignore' });
children.push(floor);

const t0 = performance.now();
const samples: Record<'agent' | 'floor', ProcSample[]> = { agent: [], floor: [] };
process.stderr.write(`footprint: soaking ${SOAK_SEC} s (${SETTLE_SEC} s settling), sampling every second\n`);
while (performance.now() - t0 < SOAK_SEC * 1000) {
  await new Promise((r) => setTimeout(r, 1000));
  const a = sampleProcess(agent.pid!);
  const f = sampleProcess(floor.pid!);
  if (!a) throw new Error(`vigil run exited (${agent.exitCode}) during the soak:\n${agentLog.slice(-20).join('\n')}`);
  if (f) samples.floor.push(f);
  samples.agent.push(a);
}

// The agent really worked through the soak: enrolled, and its last heartbeat is recent.
const res = await fetch(`${serverUrl}/v1/devices`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
const devices = ((await res.json()) as { devices: { lastSeenAt: string | null; lastScanAt: string | null; status: string }[] }).devices;
const device = devices[0];
const lastSeenAgoSec = device?.lastSeenAt ? (Date.now() - Date.parse(device.lastSeenAt)) / 1000 : Infinity;
const worked = devices.length === 1 && lastSeenAgoSec <= 3 * HEARTBEAT_SEC;
agent.kill('SIGTERM');
server.kill('SIGTERM');
floor.kill('SIGKILL');

const steadyFrom = t0 + SETTLE_SEC * 1000;
const ours = footprint(samples.agent, steadyFrom);
const bare = footprint(samples.floor, steadyFrom);
// The trajectory, for a closer look than one slope: RSS medians of each quarter of the
// steady window, and every sample in a CSV.
const steadyAgent = samples.agent.filter((s) => s.atMs >= steadyFrom);
const quarters = [0, 1, 2, 3].map((q) => {
  const part = steadyAgent.slice(Math.floor((q * steadyAgent.length) / 4), Math.floor(((q + 1) * steadyAgent.length) / 4)).map((s) => s.rssKb);
  return ((median(part) * 1024) / 1e6).toFixed(1);
});
const csvDir = path.join(ROOT, 'bench/.work');
mkdirSync(csvDir, { recursive: true });
const csv = path.join(csvDir, 'footprint-samples.csv');
writeFileSync(
  csv,
  'process,seconds,rss_kb,hwm_kb,cpu_sec,anon_kb,file_kb\n' +
    (['agent', 'floor'] as const)
      .flatMap((who) => samples[who].map((s) => `${who},${((s.atMs - t0) / 1000).toFixed(1)},${s.rssKb},${s.hwmKb},${s.cpuSec.toFixed(2)},${s.anonKb ?? ''},${s.fileKb ?? ''}`))
      .join('\n') +
    '\n',
);
const levels = agentLog.reduce<Record<string, number>>((acc, l) => {
  const level = /"level":"(\w+)"/.exec(l)?.[1] ?? 'other';
  acc[level] = (acc[level] ?? 0) + 1;
  return acc;
}, {});
printTable(
  `vigil run soaked ${SOAK_SEC} s against the reference server on loopback (heartbeat ${HEARTBEAT_SEC} s, watch 2 s, scan ${SCAN_SEC} s); steady = after ${SETTLE_SEC} s`,
  [
    { measure: 'steady RSS (median)', ours: ours.steadyMb, peer: bare.steadyMb, unit: 'MB', peerName: 'bare node keeping a 2 s timer', target: `<= ${TARGET_MB} MB`, met: ours.steadyMb <= TARGET_MB },
    { measure: 'peak RSS (VmHWM, whole run)', ours: ours.peakMb, peer: bare.peakMb, unit: 'MB', peerName: 'bare node keeping a 2 s timer' },
    {
      measure: 'RSS growth (least squares, steady window)',
      ours: ours.growthMbPerHour,
      peer: bare.growthMbPerHour,
      unit: 'MB/h',
      peerName: 'bare node keeping a 2 s timer',
      target: `no growth (<= ${GROWTH_TOLERANCE_MB_PER_HOUR} MB/h)`,
      met: ours.growthMbPerHour <= GROWTH_TOLERANCE_MB_PER_HOUR,
    },
    ...(ours.anonGrowthMbPerHour !== undefined && bare.anonGrowthMbPerHour !== undefined
      ? [
          { measure: 'anonymous RSS growth (RssAnon: heap, malloc, buffers)', ours: ours.anonGrowthMbPerHour, peer: bare.anonGrowthMbPerHour, unit: 'MB/h', peerName: 'bare node keeping a 2 s timer' },
          { measure: 'file-backed RSS growth (RssFile: binary, libraries)', ours: ours.fileGrowthMbPerHour!, peer: bare.fileGrowthMbPerHour!, unit: 'MB/h', peerName: 'bare node keeping a 2 s timer' },
        ]
      : []),
    { measure: 'CPU, share of one core (steady window)', ours: ours.cpuPercent, peer: bare.cpuPercent, unit: '%', peerName: 'bare node keeping a 2 s timer' },
  ],
  [
    `CLI: ${path.relative(ROOT, cli) || cli}. Samples: ${ours.samples} steady (agent), ${bare.samples} (floor), all in ${path.relative(ROOT, csv)}. MB = 10^6 bytes.`,
    `Agent RSS by quarter of the steady window (median, MB): ${quarters.join(' -> ')}. The slope over a short soak includes the heap's last settling; a longer VIGIL_FOOTPRINT_SEC tells growth from it.`,
    `The agent ${worked ? 'enrolled and heartbeated throughout' : 'DID NOT report as expected'} (last heartbeat ${lastSeenAgoSec.toFixed(0)} s before the end, device status ${device?.status ?? 'none'}); its log lines by level: ${JSON.stringify(levels)}.`,
    'CPU figures are noisy on a shared machine; RSS much less so.',
  ],
);
rmSync(work, { recursive: true, force: true });
if (!worked) process.exitCode = 1;
