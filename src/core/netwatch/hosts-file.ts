/**
 * The hosts file (Windows C:\Windows\System32\drivers\etc\hosts, /etc/hosts on macOS and
 * Linux): "address name [aliases...]" per line, "#" starts a comment (hosts(5); the
 * Windows file has the same syntax). Read through TargetFs so tests use a file in a temp
 * folder and an offline image can be checked too; re-parsed only when its size or mtime
 * changes (block lists can be megabytes).
 */
import type { Platform } from '../../shared/scan.js';
import { FsAccessError, type TargetFs } from '../os/target-fs.js';
import type { SourceProblem } from './connection.js';
import { canonicalIp } from './ip-address.js';

export interface HostsEntry {
  /** Canonical address. */
  address: string;
  /** Lowercased names, first the canonical one, then aliases. */
  names: string[];
  line: number;
}

export function parseHostsFile(text: string, source = 'hosts'): { entries: HostsEntry[]; problems: SourceProblem[] } {
  const entries: HostsEntry[] = [];
  let bad = 0;
  let firstBad = '';
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n|\r/);
  for (let i = 0; i < lines.length; i++) {
    const hash = lines[i]!.indexOf('#');
    const t = (hash >= 0 ? lines[i]!.slice(0, hash) : lines[i]!).trim();
    if (t === '') continue;
    const f = t.split(/\s+/);
    const ip = canonicalIp(f[0]!);
    const names = f.slice(1).map((n) => n.toLowerCase().replace(/\.+$/, '')).filter((n) => n !== '');
    if (!ip || names.length === 0) {
      if (bad++ === 0) firstBad = `line ${i + 1}: ${t.slice(0, 100)}`;
      continue;
    }
    entries.push({ address: ip.address, names, line: i + 1 });
  }
  const problems: SourceProblem[] = bad > 0 ? [{ code: 'parse', message: `${source}: skipped ${bad} malformed line(s), first at ${firstBad}`, count: bad }] : [];
  return { entries, problems };
}

/** Where the hosts file is, relative to the system root (TargetFs paths). */
export function hostsFilePath(platform: Platform): string {
  return platform === 'windows' ? 'Windows/System32/drivers/etc/hosts' : 'etc/hosts';
}

/** Block lists of a few hundred thousand lines fit; anything larger is refused. */
export const MAX_HOSTS_BYTES = 32 * 1024 * 1024;

export class HostsFileReader {
  private cached: { size: number; mtimeMs: number; entries: HostsEntry[]; problems: SourceProblem[] } | undefined;

  constructor(
    private readonly fs: TargetFs,
    private readonly relPath: string,
  ) {}

  /** Path shown in evidence. */
  get displayPath(): string {
    return this.fs.displayPath(this.relPath);
  }

  async read(): Promise<{ entries: HostsEntry[]; problems: SourceProblem[] }> {
    try {
      const st = await this.fs.stat(this.relPath);
      if (this.cached && this.cached.size === st.size && this.cached.mtimeMs === st.mtimeMs) {
        return { entries: this.cached.entries, problems: [] };
      }
      const buf = await this.fs.readFile(this.relPath, MAX_HOSTS_BYTES);
      const parsed = parseHostsFile(buf.toString('utf8'), this.displayPath);
      this.cached = { size: st.size, mtimeMs: st.mtimeMs, ...parsed };
      return parsed;
    } catch (err) {
      this.cached = undefined;
      if (err instanceof FsAccessError && err.isMissing) return { entries: [], problems: [] };
      const code = err instanceof FsAccessError && err.isDenied ? 'permission' : 'io';
      return { entries: [], problems: [{ code, message: `${this.displayPath}: ${(err as Error).message}` }] };
    }
  }
}
