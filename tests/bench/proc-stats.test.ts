/**
 * The /proc readers the footprint bench samples processes with. Inputs: this process's own
 * /proc files (real kernel output), plus lines shaped like proc(5) describes, and broken ones.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { footprint, parseProcStat, parseProcStatTicks, parseProcStatus, processCpuSec, processFamilyCpuSec, ProcFormatError, sampleProcess, slope } from '../../bench/proc-stats.js';

const onLinux = process.platform === 'linux';

describe('parseProcStatus', () => {
  it.runIf(onLinux)('reads VmRSS and VmHWM from the kernel', () => {
    const { rssKb, hwmKb } = parseProcStatus(readFileSync('/proc/self/status', 'utf8'));
    expect(rssKb).toBeGreaterThan(1000);
    expect(hwmKb).toBeGreaterThanOrEqual(rssKb);
  });

  it.runIf(onLinux)('splits resident memory into anonymous and file-backed pages', () => {
    const s = parseProcStatus(readFileSync('/proc/self/status', 'utf8'));
    expect(s.anonKb).toBeGreaterThan(0);
    expect(s.fileKb).toBeGreaterThan(0);
    // RssShmem is the third part; anon + file never exceed the total.
    expect(s.anonKb! + s.fileKb!).toBeLessThanOrEqual(s.rssKb);
  });

  it('leaves the split out when the kernel has no RssAnon/RssFile lines (before Linux 4.5)', () => {
    expect(parseProcStatus('VmHWM:\t 9 kB\nVmRSS:\t 5 kB\n')).toEqual({ rssKb: 5, hwmKb: 9 });
  });

  it('names the missing line', () => {
    expect(() => parseProcStatus('Name:\tnode\nVmRSS:\t  1234 kB\n')).toThrow(/VmHWM/);
    expect(() => parseProcStatus('VmRSS:\t  12x4 kB\nVmHWM:\t 5 kB\n')).toThrow(ProcFormatError);
  });
});

describe('parseProcStatTicks', () => {
  it('counts fields after the last ")" so a command name with spaces and parentheses does not shift them', () => {
    // pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime ...
    const line = '4242 (node (worker) x) S 1 4242 4242 0 -1 4194560 1200 0 3 0 250 37 0 0 20 0 11 0 900 1000 200';
    expect(parseProcStatTicks(line)).toBe(287);
  });

  it.runIf(onLinux)('reads this process', () => {
    expect(parseProcStatTicks(readFileSync('/proc/self/stat', 'utf8'))).toBeGreaterThan(0);
  });

  it('refuses malformed lines', () => {
    expect(() => parseProcStatTicks('4242 node S 1')).toThrow(/\)/);
    expect(() => parseProcStatTicks('4242 (node) S 1 2 3')).toThrow(/utime/);
    expect(() => parseProcStatTicks('4242 (node) S 1 4242 4242 0 -1 4194560 1200 0 3 0 -5 37')).toThrow(ProcFormatError);
  });
});

describe('sampleProcess', () => {
  it.runIf(onLinux)('samples a live process and says undefined for one that is gone', () => {
    const s = sampleProcess(process.pid)!;
    expect(s.rssKb).toBeGreaterThan(0);
    expect(s.cpuSec).toBeGreaterThan(0);
    expect(sampleProcess(2 ** 22 + 7)).toBeUndefined();
  });
});

describe('footprint', () => {
  const at = (sec: number, rssMb: number, cpuSec: number, hwmMb = rssMb) => ({ atMs: sec * 1000, rssKb: (rssMb * 1e6) / 1024, hwmKb: (hwmMb * 1e6) / 1024, cpuSec });

  it('leaves settling out of the steady figures but not out of the peak', () => {
    const samples = [at(0, 120, 0, 130), at(10, 60, 2), at(20, 62, 2.5), at(30, 60, 3), at(40, 62, 3.5)];
    const f = footprint(samples, 10_000);
    expect(f.steadyMb).toBeCloseTo(61, 5);
    expect(f.peakMb).toBeCloseTo(130, 5);
    expect(f.cpuPercent).toBeCloseTo(5, 5); // 1.5 s of CPU over 30 s
    expect(f.samples).toBe(4);
  });

  it('says which part of the resident memory climbs', () => {
    const samples = Array.from({ length: 61 }, (_, i) => ({ ...at(i * 60, 50 + i * 0.1, i), anonKb: ((20 + i * 0.1) * 1e6) / 1024, fileKb: (30 * 1e6) / 1024 }));
    const f = footprint(samples, 0);
    expect(f.anonGrowthMbPerHour).toBeCloseTo(6, 5);
    expect(f.fileGrowthMbPerHour).toBeCloseTo(0, 5);
    expect(footprint(samples.map(({ anonKb: _a, fileKb: _f, ...rest }) => rest), 0).anonGrowthMbPerHour).toBeUndefined();
  });

  it('turns a steady climb into MB per hour', () => {
    const samples = Array.from({ length: 61 }, (_, i) => at(i * 60, 50 + i * 0.1, i));
    expect(footprint(samples, 0).growthMbPerHour).toBeCloseTo(6, 5);
    expect(slope([{ x: 1, y: 5 }])).toBe(0);
  });

  it('refuses a soak with nothing after settling', () => {
    expect(() => footprint([at(0, 50, 0)], 10_000)).toThrow(/soak longer/);
  });
});

describe('parseProcStat', () => {
  it('reads ppid, own ticks and the ticks of reaped children', () => {
    // ... utime stime cutime cstime at fields 14-17
    const line = '4242 (postgres: vigil 127.0.0.1(5432) idle) S 977 977 977 0 -1 4194560 1200 0 3 0 250 37 40 2 20 0 1 0 900 1000 200';
    expect(parseProcStat(line)).toEqual({ ppid: 977, ticks: 287, reapedChildTicks: 42 });
  });

  it.runIf(onLinux)('reads this process: its parent is the one the kernel names', () => {
    expect(parseProcStat(readFileSync('/proc/self/stat', 'utf8')).ppid).toBe(process.ppid);
  });

  it('refuses malformed lines', () => {
    expect(() => parseProcStat('4242 (node) S x 1 1 0 -1 0 0 0 0 0 250 37 0 0')).toThrow(/ppid/);
    expect(() => parseProcStat('4242 (node) S 1 1 1 0 -1 0 0 0 0 0 250 37')).toThrow(/cutime/);
    expect(() => parseProcStat('4242 (node) S 1 1 1 0 -1 0 0 0 0 0 250 37 -1 0')).toThrow(ProcFormatError);
  });
});

describe('processFamilyCpuSec', () => {
  it.runIf(onLinux)('counts a parent and its children, and 0 for a process that is gone', async () => {
    const { spawn } = await import('node:child_process');
    // A child that burns 300 ms of CPU (not of wall time: the machine may be busy), says so,
    // then waits to be killed.
    const child = spawn(process.execPath, ['-e', 'while(process.cpuUsage().user<300000){}process.stdout.write("done");setTimeout(()=>{},10000)']);
    try {
      await new Promise((r) => child.stdout.once('data', r));
      const own = processCpuSec(process.pid);
      const family = processFamilyCpuSec(process.pid);
      expect(family - own).toBeGreaterThanOrEqual(0.25);
    } finally {
      child.kill('SIGKILL');
    }
    expect(processFamilyCpuSec(2 ** 22 + 7)).toBe(0);
    expect(processCpuSec(2 ** 22 + 7)).toBe(0);
  });
});
