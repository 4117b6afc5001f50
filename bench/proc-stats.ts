/**
 * A process's memory and CPU time read from outside it, from Linux's /proc (proc(5)):
 * /proc/<pid>/status for VmRSS (resident now) and VmHWM (the kernel's resident high-water
 * mark, so a peak between two samples is not missed), /proc/<pid>/stat for utime and
 * stime (fields 14 and 15, in clock ticks). Nothing runs inside the measured process.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';

export interface ProcSample {
  /** performance.now() of this process when read. */
  atMs: number;
  rssKb: number;
  hwmKb: number;
  /**
   * RssAnon and RssFile (Linux 4.5+): resident anonymous memory (JS heap, malloc, buffers)
   * and file-backed pages (the node binary, shared libraries). Tells which one grows.
   */
  anonKb?: number;
  fileKb?: number;
  /** utime + stime, in seconds. */
  cpuSec: number;
}

export class ProcFormatError extends Error {}

/** VmRSS and VmHWM (kB) from the text of /proc/<pid>/status, and RssAnon/RssFile where the kernel has them. */
export function parseProcStatus(text: string): { rssKb: number; hwmKb: number; anonKb?: number; fileKb?: number } {
  const optional = (name: string) => {
    const m = new RegExp(`^${name}:\\s+(\\d+) kB$`, 'm').exec(text);
    return m ? Number(m[1]) : undefined;
  };
  const field = (name: string) => {
    const v = optional(name);
    if (v === undefined) throw new ProcFormatError(`/proc/<pid>/status has no "${name}: N kB" line`);
    return v;
  };
  const out: { rssKb: number; hwmKb: number; anonKb?: number; fileKb?: number } = { rssKb: field('VmRSS'), hwmKb: field('VmHWM') };
  const anon = optional('RssAnon');
  const file = optional('RssFile');
  if (anon !== undefined && file !== undefined) Object.assign(out, { anonKb: anon, fileKb: file });
  return out;
}

/**
 * utime + stime (clock ticks) from the text of /proc/<pid>/stat. The command name (field 2)
 * is in parentheses and may itself hold spaces and parentheses, so fields are counted from
 * the last ")".
 */
export function parseProcStatTicks(text: string): number {
  const close = text.lastIndexOf(')');
  if (close < 0) throw new ProcFormatError('/proc/<pid>/stat has no ")" closing the command name');
  // After ")": field 3 (state) onwards; utime is field 14, stime field 15.
  const rest = text.slice(close + 1).trim().split(/\s+/);
  const utime = Number(rest[14 - 3]);
  const stime = Number(rest[15 - 3]);
  if (!Number.isInteger(utime) || !Number.isInteger(stime) || utime < 0 || stime < 0) {
    throw new ProcFormatError(`/proc/<pid>/stat: utime/stime are not tick counts ("${rest[14 - 3]}", "${rest[15 - 3]}")`);
  }
  return utime + stime;
}

export interface ProcStat {
  ppid: number;
  /** utime + stime, clock ticks. */
  ticks: number;
  /** cutime + cstime (fields 16 and 17): the CPU of children this process has waited for. */
  reapedChildTicks: number;
}

/** ppid (field 4), utime + stime and cutime + cstime from the text of /proc/<pid>/stat. */
export function parseProcStat(text: string): ProcStat {
  const ticks = parseProcStatTicks(text);
  const rest = text.slice(text.lastIndexOf(')') + 1).trim().split(/\s+/);
  const ppid = Number(rest[4 - 3]);
  const cutime = Number(rest[16 - 3]);
  const cstime = Number(rest[17 - 3]);
  if (!Number.isInteger(ppid) || ppid < 0) throw new ProcFormatError(`/proc/<pid>/stat: ppid is not a process id ("${rest[4 - 3]}")`);
  if (!Number.isInteger(cutime) || !Number.isInteger(cstime) || cutime < 0 || cstime < 0) {
    throw new ProcFormatError(`/proc/<pid>/stat: cutime/cstime are not tick counts ("${rest[16 - 3]}", "${rest[17 - 3]}")`);
  }
  return { ppid, ticks, reapedChildTicks: cutime + cstime };
}

function readStat(pid: number): ProcStat | undefined {
  try {
    return parseProcStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ESRCH') return undefined;
    throw err;
  }
}

/**
 * CPU seconds of a process and its direct children so far: its own time, the time of the
 * children it has already reaped, and that of the children still alive (PostgreSQL's
 * postmaster and its backends: a backend that exits is counted through the postmaster's
 * cutime/cstime, so a difference of two readings loses nothing).
 */
export function processFamilyCpuSec(pid: number): number {
  const root = readStat(pid);
  if (!root) return 0;
  let ticks = root.ticks + root.reapedChildTicks;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === pid) continue;
    const child = readStat(Number(entry));
    if (child && child.ppid === pid) ticks += child.ticks;
  }
  return ticks / clockTicksPerSecond();
}

/** utime + stime of a process in seconds; 0 once it has exited. */
export function processCpuSec(pid: number): number {
  const s = readStat(pid);
  return s ? s.ticks / clockTicksPerSecond() : 0;
}

let ticksPerSec: number | undefined;

/** sysconf(_SC_CLK_TCK), through getconf (Node does not expose it); 100 on Linux in practice. */
export function clockTicksPerSecond(): number {
  if (ticksPerSec === undefined) {
    const n = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    ticksPerSec = Number.isInteger(n) && n > 0 ? n : 100;
  }
  return ticksPerSec;
}

/** One sample of a running process; undefined once it has exited. */
export function sampleProcess(pid: number): ProcSample | undefined {
  try {
    const status = parseProcStatus(readFileSync(`/proc/${pid}/status`, 'utf8'));
    const ticks = parseProcStatTicks(readFileSync(`/proc/${pid}/stat`, 'utf8'));
    return { atMs: performance.now(), ...status, cpuSec: ticks / clockTicksPerSecond() };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ESRCH') return undefined;
    throw err;
  }
}

/** Least-squares slope of y over x. */
export function slope(points: readonly { x: number; y: number }[]): number {
  const n = points.length;
  if (n < 2) return 0;
  const mx = points.reduce((s, p) => s + p.x, 0) / n;
  const my = points.reduce((s, p) => s + p.y, 0) / n;
  let num = 0;
  let den = 0;
  for (const p of points) {
    num += (p.x - mx) * (p.y - my);
    den += (p.x - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

export interface Footprint {
  /** Median RSS over the steady window, MB (10^6 bytes). */
  steadyMb: number;
  /** The kernel's high-water mark over the whole life, MB. */
  peakMb: number;
  /** Least-squares RSS slope over the steady window, MB per hour. */
  growthMbPerHour: number;
  /** The same slope for RssAnon and RssFile alone, when every steady sample has them. */
  anonGrowthMbPerHour?: number;
  fileGrowthMbPerHour?: number;
  /** CPU time over the steady window as a share of one core, percent. */
  cpuPercent: number;
  samples: number;
}

/** The figures of one process's samples, from `steadyFromMs` (its settling excluded). */
export function footprint(samples: readonly ProcSample[], steadyFromMs: number): Footprint {
  const steady = samples.filter((s) => s.atMs >= steadyFromMs);
  if (steady.length < 2) throw new Error(`only ${steady.length} samples after settling; soak longer`);
  const mb = (kb: number) => (kb * 1024) / 1e6;
  const rss = steady.map((s) => s.rssKb).sort((a, b) => a - b);
  const mid = rss.length >> 1;
  const medianKb = rss.length % 2 ? rss[mid]! : (rss[mid - 1]! + rss[mid]!) / 2;
  const first = steady[0]!;
  const last = steady[steady.length - 1]!;
  const perMs = slope(steady.map((s) => ({ x: s.atMs, y: mb(s.rssKb) })));
  const split = steady.every((s) => s.anonKb !== undefined && s.fileKb !== undefined);
  const perHour = (kb: (s: ProcSample) => number) => slope(steady.map((s) => ({ x: s.atMs, y: mb(kb(s)) }))) * 3_600_000;
  return {
    steadyMb: mb(medianKb),
    peakMb: mb(Math.max(...samples.map((s) => s.hwmKb))),
    growthMbPerHour: perMs * 3_600_000,
    ...(split ? { anonGrowthMbPerHour: perHour((s) => s.anonKb!), fileGrowthMbPerHour: perHour((s) => s.fileKb!) } : {}),
    cpuPercent: ((last.cpuSec - first.cpuSec) / ((last.atMs - first.atMs) / 1000)) * 100,
    samples: steady.length,
  };
}
