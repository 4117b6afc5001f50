/**
 * macOS connection source: `lsof -nP -i -FpcftPnT -w` once per poll (addresses, states,
 * pid and command name in one structured listing), and `ps -o pid=,comm= -p ...` for the
 * executable path of the processes the watcher asks about (matches only).
 *
 * Why lsof -F rather than systeminformation or `netstat -anv`: systeminformation's
 * networkConnections() on macOS runs `netstat -natvln` and then `ps` for names (two
 * processes per call), and the columns of `netstat -anv` changed across macOS releases
 * (pid/epid columns, then "process:pid" in 14), while lsof's field output has been stable
 * for decades and carries pid and command per socket. lsof must run as root to see other
 * users' sockets (the agent's launchd daemon does). Its CPU cost per poll could not be
 * measured on this Linux build machine: see docs/NETWATCH.md.
 */
import type { CommandRunner } from '../os/command-runner.js';
import { distinctPids, mergeProblems, withAttribution, type Connection, type ConnectionSnapshot, type ConnectionSource, type SnapshotOptions, type SourceProblem } from './connection.js';
import { parseLsofFields } from './lsof-parser.js';
import { parsePsPidComm } from './ps-parser.js';

export const LSOF_ARGS = ['-nP', '-i', '-FpcftPnT', '-w'] as const;

export interface MacosSourceOptions {
  runner: CommandRunner;
  timeoutMs?: number;
}

export class MacosLsofSource implements ConnectionSource {
  readonly name = 'lsof -nP -i';
  private readonly runner: CommandRunner;
  private readonly timeoutMs: number;

  constructor(opts: MacosSourceOptions) {
    this.runner = opts.runner;
    this.timeoutMs = opts.timeoutMs ?? 15_000;
  }

  async snapshot(opts: SnapshotOptions = {}): Promise<ConnectionSnapshot> {
    const r = await this.runner.run('lsof', LSOF_ARGS, { timeoutMs: this.timeoutMs });
    // lsof exits 1 when it found nothing to list; that is an empty snapshot, not a failure.
    if (r.code === null || (r.code !== 0 && r.stdout.trim() === '' && r.stderr.trim() !== '')) {
      return { connections: [], problems: [{ code: 'command', message: r.error ?? `lsof exited with ${r.code}: ${r.stderr.trim().slice(0, 200)}` }] };
    }
    const parsed = parseLsofFields(r.stdout);
    return withAttribution(this, parsed, opts);
  }

  async attribute(connections: readonly Connection[]): Promise<ConnectionSnapshot> {
    const pids = distinctPids(connections);
    if (pids.length === 0) return { connections: [...connections], problems: [] };
    const problems: SourceProblem[] = [];
    const r = await this.runner.run('ps', ['-o', 'pid=,comm=', '-p', pids.join(',')], { timeoutMs: this.timeoutMs });
    // ps exits 1 when some pid no longer exists, and still prints the others.
    const parsed = parsePsPidComm(r.stdout);
    problems.push(...parsed.problems);
    if (r.code === null) problems.push({ code: 'command', message: r.error ?? 'ps could not run' });
    let vanished = 0;
    const out = connections.map((c) => {
      if (!c.pid) return c;
      const p = parsed.commands.get(c.pid);
      if (p === undefined) {
        vanished++;
        return c;
      }
      const a: Connection = { ...c };
      if (p.startsWith('/')) a.processPath = p;
      else a.processName ??= p;
      return a;
    });
    if (vanished > 0) problems.push({ code: 'vanished', message: 'a process exited before its path could be read', count: vanished });
    return { connections: out, problems: mergeProblems(problems) };
  }
}
