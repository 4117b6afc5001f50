/**
 * Windows connection source: `netstat -nao` once per poll (addresses, states, owning
 * PID), and process names and paths only for the connections the watcher asks about
 * (those that matched an indicator): `tasklist /fo csv /nh` for the name, one PowerShell
 * Get-CimInstance Win32_Process call for the executable path.
 *
 * Why not systeminformation: its networkConnections() runs the same `netstat -nao` but
 * returns an empty process name on Windows, and processes() starts PowerShell and lists
 * every process on each call (seconds of CPU; EDR products flag the pattern; see
 * docs/NETWATCH.md). netstat.exe is a small native tool present on every Windows since
 * XP; PowerShell runs only when there is something to attribute.
 */
import type { CommandRunner } from '../os/command-runner.js';
import { distinctPids, mergeProblems, withAttribution, type Connection, type ConnectionSnapshot, type ConnectionSource, type SnapshotOptions, type SourceProblem } from './connection.js';
import { parseNetstatNao } from './netstat-parser.js';
import { parseTasklistCsv } from './tasklist-parser.js';
import { parseWin32ProcessJson } from './win32-process-json.js';

export const NETSTAT_ARGS = ['-nao'] as const;

export function tasklistArgs(pid?: number): string[] {
  return pid === undefined ? ['/fo', 'csv', '/nh'] : ['/fo', 'csv', '/nh', '/fi', `PID eq ${pid}`];
}

export function win32ProcessArgs(pids: readonly number[]): string[] {
  const filter = pids.map((p) => `ProcessId=${p}`).join(' OR ');
  return [
    '-NoProfile',
    '-NonInteractive',
    '-Command',
    `[Console]::OutputEncoding=[Text.Encoding]::UTF8; Get-CimInstance Win32_Process -Filter "${filter}" | Select-Object ProcessId,Name,ExecutablePath | ConvertTo-Json -Compress`,
  ];
}

export interface WindowsSourceOptions {
  runner: CommandRunner;
  timeoutMs?: number;
  /** Look up executable paths with PowerShell (default true). */
  resolvePaths?: boolean;
}

export class WindowsNetstatSource implements ConnectionSource {
  readonly name = 'netstat -nao';
  private readonly runner: CommandRunner;
  private readonly timeoutMs: number;
  private readonly resolvePaths: boolean;

  constructor(opts: WindowsSourceOptions) {
    this.runner = opts.runner;
    this.timeoutMs = opts.timeoutMs ?? 15_000;
    this.resolvePaths = opts.resolvePaths ?? true;
  }

  async snapshot(opts: SnapshotOptions = {}): Promise<ConnectionSnapshot> {
    const r = await this.runner.run('netstat', NETSTAT_ARGS, { timeoutMs: this.timeoutMs });
    if (r.code !== 0 && r.stdout.trim() === '') {
      return { connections: [], problems: [{ code: 'command', message: r.error ?? `netstat -nao exited with ${r.code}: ${r.stderr.trim().slice(0, 200)}` }] };
    }
    const parsed = parseNetstatNao(r.stdout);
    return withAttribution(this, parsed, opts);
  }

  async attribute(connections: readonly Connection[]): Promise<ConnectionSnapshot> {
    const pids = distinctPids(connections);
    if (pids.length === 0) return { connections: [...connections], problems: [] };
    const problems: SourceProblem[] = [];
    const names = new Map<number, string>();
    const paths = new Map<number, string>();
    const tl = await this.runner.run('tasklist', tasklistArgs(pids.length === 1 ? pids[0] : undefined), { timeoutMs: this.timeoutMs });
    if (tl.code === 0) {
      const parsed = parseTasklistCsv(tl.stdout);
      problems.push(...parsed.problems);
      for (const [pid, name] of parsed.names) names.set(pid, name);
    } else {
      problems.push({ code: 'command', message: tl.error ?? `tasklist exited with ${tl.code}` });
    }
    if (this.resolvePaths) {
      const ps = await this.runner.run('powershell.exe', win32ProcessArgs(pids), { timeoutMs: this.timeoutMs });
      if (ps.code === 0) {
        const parsed = parseWin32ProcessJson(ps.stdout);
        problems.push(...parsed.problems);
        for (const row of parsed.rows) {
          if (row.path) paths.set(row.pid, row.path);
          if (row.name && !names.has(row.pid)) names.set(row.pid, row.name);
        }
      } else {
        problems.push({ code: 'command', message: ps.error ?? `powershell (Win32_Process) exited with ${ps.code}` });
      }
    }
    let vanished = 0;
    const out = connections.map((c) => {
      if (!c.pid) return c;
      const a: Connection = { ...c };
      const name = names.get(c.pid);
      const p = paths.get(c.pid);
      if (name !== undefined) a.processName = name;
      else vanished++;
      if (p !== undefined) a.processPath = p;
      return a;
    });
    if (vanished > 0) problems.push({ code: 'vanished', message: 'a process exited before its name could be read', count: vanished });
    return { connections: out, problems: mergeProblems(problems) };
  }
}
