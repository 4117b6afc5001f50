/**
 * Which process owns a socket, on Linux: /proc/<pid>/fd/<n> is a symlink whose target is
 * "socket:[<inode>]" for a socket, and the inode is the last column of /proc/net/tcp.
 * Process name from /proc/<pid>/comm, path from the /proc/<pid>/exe link.
 *
 * Walking every process's fd folder is the expensive part of `ss -p` and `netstat -p`, so
 * the answers are cached: inode -> pid stays valid while the socket exists, and the walk
 * runs only when an inode the caller asks about is not in the cache. A walk stops as soon
 * as every wanted inode is found, visiting processes that already owned sockets first
 * (the busy process is usually the one that opened the new one). Inodes that a full walk
 * could not find (the socket closed in between, or its owner's fd folder is unreadable)
 * are looked for once more on the next lookup and then remembered, so they do not cause a
 * walk on every poll. The second try is for a real race: accept() gives the new socket
 * its inode (visible in /proc/net/tcp) a moment before it installs the fd, so a walk in
 * between misses an inode that a walk one poll later finds.
 *
 * The walk uses synchronous readdir/readlink in slices, yielding to the event loop every
 * `yieldEvery` calls: several times faster than one promise per fd, and the event loop is
 * never blocked for more than a slice.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import * as path from 'node:path';
import type { SourceProblem } from './connection.js';

export interface ProcessInfo {
  pid: number;
  /** /proc/<pid>/comm: the kernel's name for the process (at most 15 characters). */
  name?: string;
  /** Target of /proc/<pid>/exe (unreadable for other users' processes unless root). */
  path?: string;
  /** The executable was replaced or deleted after the process started. */
  pathDeleted?: boolean;
}

export interface SocketOwnerStats {
  /** Walks of the process table (full or stopped early). */
  scans: number;
  /** fd links read over all walks. */
  fdsRead: number;
  /** Duration of the last walk. */
  lastScanMs: number;
  cachedInodes: number;
}

export interface ProcSocketOwnersOptions {
  /** Synchronous file-system calls between two yields to the event loop. */
  yieldEvery?: number;
}

function errCode(err: unknown): string {
  return (err as NodeJS.ErrnoException)?.code ?? 'EIO';
}

/** Walks that may miss an inode before it is given up on while it stays listed. */
const MAX_MISSES = 2;

const yieldToLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

export class ProcSocketOwners {
  private readonly inodeToPid = new Map<number, number>();
  /** Inodes a walk missed, with how many walks missed them (see MAX_MISSES). */
  private readonly notFound = new Map<number, number>();
  private readonly info = new Map<number, ProcessInfo>();
  private readonly yieldEvery: number;
  private readonly counters: SocketOwnerStats = { scans: 0, fdsRead: 0, lastScanMs: 0, cachedInodes: 0 };

  /** procRoot with one trailing separator: paths are built by concatenation (10,000 per walk). */
  private readonly root: string;

  constructor(
    private readonly procRoot: string,
    opts: ProcSocketOwnersOptions = {},
  ) {
    this.yieldEvery = Math.max(1, opts.yieldEvery ?? 2000);
    this.root = procRoot.endsWith(path.sep) ? procRoot : procRoot + path.sep;
  }

  stats(): SocketOwnerStats {
    return { ...this.counters, cachedInodes: this.inodeToPid.size };
  }

  /** Forgets sockets that are no longer listed (closed), and processes that own none of the rest. */
  prune(liveInodes: ReadonlySet<number>): void {
    for (const inode of this.inodeToPid.keys()) if (!liveInodes.has(inode)) this.inodeToPid.delete(inode);
    for (const inode of this.notFound.keys()) if (!liveInodes.has(inode)) this.notFound.delete(inode);
    const owners = new Set(this.inodeToPid.values());
    for (const pid of this.info.keys()) if (!owners.has(pid)) this.info.delete(pid);
  }

  /** Owner pid of each inode that has one; walks /proc only for inodes not cached yet. */
  async lookup(inodes: Iterable<number>): Promise<{ owners: Map<number, number>; problems: SourceProblem[] }> {
    const wanted = new Set<number>();
    for (const inode of inodes) {
      if (inode > 0 && !this.inodeToPid.has(inode) && (this.notFound.get(inode) ?? 0) < MAX_MISSES) wanted.add(inode);
    }
    const problems = wanted.size > 0 ? await this.scan(wanted) : [];
    const owners = new Map<number, number>();
    for (const inode of inodes) {
      const pid = this.inodeToPid.get(inode);
      if (pid !== undefined) owners.set(inode, pid);
    }
    return { owners, problems };
  }

  private async scan(wanted: Set<number>): Promise<SourceProblem[]> {
    const t0 = performance.now();
    this.counters.scans++;
    let entries: string[];
    try {
      entries = readdirSync(this.procRoot);
    } catch (err) {
      return [{ code: 'io', message: `${this.procRoot}: cannot list processes (${errCode(err)})` }];
    }
    const known = new Set(this.inodeToPid.values());
    const pids = entries
      .filter((n) => /^\d+$/.test(n))
      .map(Number)
      // Processes that already own sockets first, then the newest (highest pid) first.
      .sort((a, b) => Number(known.has(b)) - Number(known.has(a)) || b - a);
    const remaining = new Set(wanted);
    let denied = 0;
    let ops = 0;
    for (const pid of pids) {
      if (remaining.size === 0) break;
      const fdDir = `${this.root}${pid}/fd`;
      let fds: string[];
      try {
        fds = readdirSync(fdDir);
      } catch (err) {
        const code = errCode(err);
        if (code === 'EACCES' || code === 'EPERM') denied++;
        continue; // ENOENT: the process exited during the walk
      }
      for (const fd of fds) {
        if (++ops % this.yieldEvery === 0) await yieldToLoop();
        let target: string;
        try {
          target = readlinkSync(`${fdDir}/${fd}`);
        } catch {
          continue; // fd closed, or the process exited
        }
        this.counters.fdsRead++;
        if (!target.startsWith('socket:[')) continue;
        const inode = Number(target.slice(8, -1));
        if (!Number.isSafeInteger(inode)) continue;
        if (!this.inodeToPid.has(inode)) this.inodeToPid.set(inode, pid);
        remaining.delete(inode);
        this.notFound.delete(inode);
      }
    }
    for (const inode of remaining) this.notFound.set(inode, (this.notFound.get(inode) ?? 0) + 1);
    this.counters.lastScanMs = performance.now() - t0;
    if (denied === 0) return [];
    return [
      {
        code: 'permission',
        message: `could not list the open sockets of ${denied} process(es) (permission denied): their connections are still matched by address, but not attributed to a process; run the agent as root to attribute them`,
        count: denied,
      },
    ];
  }

  /** Name and path of a process; cached while it owns live sockets. */
  processInfo(pid: number): ProcessInfo | { pid: number; error: string } {
    const cached = this.info.get(pid);
    if (cached) return cached;
    const dir = path.join(this.procRoot, String(pid));
    const info: ProcessInfo = { pid };
    try {
      info.name = readFileSync(path.join(dir, 'comm'), 'utf8').replace(/\n$/, '');
    } catch (err) {
      const code = errCode(err);
      return { pid, error: code === 'ENOENT' ? 'the process exited' : `cannot read its name (${code})` };
    }
    try {
      const exe = readlinkSync(path.join(dir, 'exe'));
      if (exe.endsWith(' (deleted)')) {
        info.path = exe.slice(0, -' (deleted)'.length);
        info.pathDeleted = true;
      } else {
        info.path = exe;
      }
    } catch {
      // Kernel threads have no exe; other users' processes need root. The name still helps.
    }
    this.info.set(pid, info);
    return info;
  }
}
