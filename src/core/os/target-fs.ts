/**
 * The file system being scanned, seen from a root directory.
 *
 * Paths given to a TargetFs are relative to the scanned system's root and use "/"
 * (e.g. `Users/alice/AppData/Local/Programs/3CXDesktopApp`), whatever the host OS, so the
 * same inventory code scans the live C:\ or /, a mounted disk image (`--root /mnt/img`), or
 * a fixture tree in a test. Windows file systems are case-insensitive; a fixture tree or an
 * NTFS image mounted on Linux may not be, so a case-insensitive TargetFs resolves each path
 * segment against the real folder listing.
 *
 * Every failure is a FsAccessError naming the path and the errno code, so callers can turn
 * "permission denied on one profile" into a finding instead of a crash.
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';

export type EntryType = 'file' | 'directory' | 'symlink' | 'other';

export interface DirEntry {
  name: string;
  type: EntryType;
}

export interface FileStat {
  type: EntryType;
  size: number;
  mtimeMs: number;
}

/** Positional reads on an open file: what the PE and plist parsers need. */
export interface RandomAccessFile {
  readonly size: number;
  /** Reads up to `length` bytes at `position`; fewer at end of file. */
  read(position: number, length: number): Promise<Buffer>;
  /**
   * Fills `buf` from `position` and resolves to the bytes read (fewer at end of file).
   * Optional: streaming hashes then reuse two buffers instead of allocating one per chunk.
   */
  readInto?(buf: Buffer, position: number): Promise<number>;
  close(): Promise<void>;
}

export class FsAccessError extends Error {
  constructor(
    readonly code: string,
    readonly targetPath: string,
    message: string,
  ) {
    super(message);
    this.name = 'FsAccessError';
  }

  get isMissing(): boolean {
    return this.code === 'ENOENT' || this.code === 'ENOTDIR';
  }

  get isDenied(): boolean {
    return this.code === 'EACCES' || this.code === 'EPERM';
  }
}

export interface TargetFs {
  /** Human-readable root, for messages ("C:\\", "/mnt/image"). */
  readonly root: string;
  list(relPath: string): Promise<DirEntry[]>;
  /** Follows symlinks. */
  stat(relPath: string): Promise<FileStat>;
  open(relPath: string): Promise<RandomAccessFile>;
  /** Reads a whole file, refusing files larger than maxBytes. */
  readFile(relPath: string, maxBytes: number): Promise<Buffer>;
  /** The host path a relative path resolves to, for evidence shown to people. */
  displayPath(relPath: string): string;
}

export function joinRel(...parts: string[]): string {
  return parts.filter((p) => p.length > 0).join('/');
}

function toError(err: unknown, relPath: string): FsAccessError {
  if (err instanceof FsAccessError) return err;
  const e = err as NodeJS.ErrnoException;
  const code = e?.code ?? 'EIO';
  const reason =
    code === 'ENOENT' ? 'does not exist' : code === 'EACCES' || code === 'EPERM' ? 'permission denied' : (e?.message ?? String(err));
  return new FsAccessError(code, relPath, `${relPath || '.'}: ${reason}`);
}

function direntType(d: { isFile(): boolean; isDirectory(): boolean; isSymbolicLink(): boolean }): EntryType {
  if (d.isFile()) return 'file';
  if (d.isDirectory()) return 'directory';
  if (d.isSymbolicLink()) return 'symlink';
  return 'other';
}

export interface LocalTargetFsOptions {
  /** Resolve path segments case-insensitively (Windows targets). */
  caseInsensitive?: boolean;
  /**
   * The host's own file system ignores case (Windows: NTFS as Windows opens it), so the
   * exact path already finds any case variant and no segment needs resolving. Default:
   * true on Windows.
   */
  hostIgnoresCase?: boolean;
  /** How paths are shown: `windows` shows C:\-style paths for a live Windows root. */
  displayStyle?: 'posix' | 'windows';
}

/** A TargetFs over a directory of the host's file system. */
export class LocalTargetFs implements TargetFs {
  readonly root: string;
  private readonly caseInsensitive: boolean;
  private readonly displayStyle: 'posix' | 'windows';

  constructor(root: string, opts: LocalTargetFsOptions = {}) {
    this.root = path.resolve(root);
    this.caseInsensitive = (opts.caseInsensitive ?? false) && !(opts.hostIgnoresCase ?? process.platform === 'win32');
    this.displayStyle = opts.displayStyle ?? 'posix';
  }

  private async hostPath(relPath: string): Promise<string> {
    const segments = relPath.split('/').filter((s) => s.length > 0);
    if (segments.some((s) => s === '..')) {
      throw new FsAccessError('EINVAL', relPath, `${relPath}: ".." is not allowed in a target path`);
    }
    if (!this.caseInsensitive) return path.join(this.root, ...segments);
    // Most names are written as the pack writes them: one lstat settles those.
    const exact = path.join(this.root, ...segments);
    try {
      await fsp.lstat(exact);
      return exact;
    } catch {
      // resolve segment by segment below
    }
    let current = this.root;
    for (const seg of segments) {
      const exact = path.join(current, seg);
      try {
        await fsp.lstat(exact);
        current = exact;
        continue;
      } catch {
        // fall through to a case-insensitive match in the listing
      }
      let names: string[];
      try {
        names = await fsp.readdir(current);
      } catch (err) {
        throw toError(err, relPath);
      }
      const wanted = seg.toLowerCase();
      const match = names.find((n) => n.toLowerCase() === wanted);
      current = path.join(current, match ?? seg);
    }
    return current;
  }

  async list(relPath: string): Promise<DirEntry[]> {
    try {
      const entries = await fsp.readdir(await this.hostPath(relPath), { withFileTypes: true });
      return entries.map((d) => ({ name: d.name, type: direntType(d) }));
    } catch (err) {
      throw toError(err, relPath);
    }
  }

  async stat(relPath: string): Promise<FileStat> {
    try {
      const st = await fsp.stat(await this.hostPath(relPath));
      return { type: direntType(st), size: st.size, mtimeMs: st.mtimeMs };
    } catch (err) {
      throw toError(err, relPath);
    }
  }

  async open(relPath: string): Promise<RandomAccessFile> {
    try {
      const handle = await fsp.open(await this.hostPath(relPath), 'r');
      const st = await handle.stat();
      if (!st.isFile()) {
        await handle.close();
        throw new FsAccessError('EISDIR', relPath, `${relPath}: not a regular file`);
      }
      return {
        size: st.size,
        async read(position: number, length: number): Promise<Buffer> {
          const len = Math.max(0, Math.min(length, st.size - position));
          const buf = Buffer.alloc(len);
          if (len === 0 || position < 0) return buf;
          const { bytesRead } = await handle.read(buf, 0, len, position);
          return bytesRead === len ? buf : buf.subarray(0, bytesRead);
        },
        async readInto(buf: Buffer, position: number): Promise<number> {
          const { bytesRead } = await handle.read(buf, 0, buf.length, position);
          return bytesRead;
        },
        close: () => handle.close(),
      };
    } catch (err) {
      throw toError(err, relPath);
    }
  }

  async readFile(relPath: string, maxBytes: number): Promise<Buffer> {
    const file = await this.open(relPath);
    try {
      if (file.size > maxBytes) {
        throw new FsAccessError('EFBIG', relPath, `${relPath}: ${file.size} bytes is larger than the ${maxBytes}-byte limit`);
      }
      return await file.read(0, file.size);
    } finally {
      await file.close();
    }
  }

  displayPath(relPath: string): string {
    if (this.displayStyle === 'windows') {
      return path.win32.join(this.root, ...relPath.split('/'));
    }
    return path.posix.join(this.root, relPath);
  }
}
