/**
 * Runs a command the bundle also ships as one CommonJS file (dist/cli/<name>.cjs, see
 * scripts/build-cli.ts), compiled with V8's code cache: `vigil check` and `vigil verify`,
 * which RMM scripts start on every PC, again and again. Node 20 has no compile cache for
 * ES modules (module.enableCompileCache is Node 22.1+); a script compiled through
 * `vm.Script` with `cachedData` skips parsing and compiling what the last run compiled.
 * Measured on Node 20 for a clean-PC check: about 60 ms less CPU than the ES-module chunks.
 *
 * A cache is code, so it is only ever read from the per-user cache folder (compileCacheDir:
 * never a shared temp folder), and on POSIX only when the file and its folder belong to this
 * user and nobody else can write them. The file names the bundle's SHA-256 and carries it
 * again with the SHA-256 of its payload: a cache made for another bundle (stale), or cut
 * short or changed on disk (corrupt), is not used; V8 itself also refuses data made by
 * another V8 version or flags (rejected). Any of these costs only the speed: the script is
 * compiled from source and a new cache written after the command has run.
 */
import { createHash } from 'node:crypto';
import { closeSync, fstatSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import * as vm from 'node:vm';
import type { CommandMain } from './io.js';

const MAGIC = Buffer.from('VIGILCC1');
const HEADER_BYTES = MAGIC.length + 32 + 32;

export type CacheOutcome = 'used' | 'off' | 'absent' | 'stale' | 'corrupt' | 'rejected' | 'unsafe';

export interface LoadedCommandScript {
  main: CommandMain;
  /** What became of the cache on load. */
  cache: CacheOutcome;
  /** After the command has run: writes the cache if it was not used (never throws). Returns whether it wrote one. */
  saveCache(): boolean;
}

function sha256(data: string | Buffer): Buffer {
  return createHash('sha256').update(data).digest();
}

/** Whether `st` belongs to this user and only this user can write it (POSIX; true on Windows). */
function ownedAndPrivate(st: { uid: number; mode: number }): boolean {
  if (process.platform === 'win32' || typeof process.getuid !== 'function') return true;
  return st.uid === process.getuid() && (st.mode & 0o022) === 0;
}

/** Reads and checks the cache file; the V8 data, or why there is none to use. */
function readCache(file: string, sourceHash: Buffer): { data?: Buffer; outcome: CacheOutcome } {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch {
    return { outcome: 'absent' };
  }
  try {
    if (!ownedAndPrivate(fstatSync(fd)) || !ownedAndPrivate(statSync(path.dirname(file)))) return { outcome: 'unsafe' };
    const bytes = readFileSync(fd);
    if (bytes.length <= HEADER_BYTES || !bytes.subarray(0, MAGIC.length).equals(MAGIC)) return { outcome: 'corrupt' };
    if (!bytes.subarray(MAGIC.length, MAGIC.length + 32).equals(sourceHash)) return { outcome: 'stale' };
    const data = bytes.subarray(HEADER_BYTES);
    if (!bytes.subarray(MAGIC.length + 32, HEADER_BYTES).equals(sha256(data))) return { outcome: 'corrupt' };
    return { data, outcome: 'used' };
  } catch {
    return { outcome: 'corrupt' };
  } finally {
    closeSync(fd);
  }
}

/** Writes the cache next to nothing but its own older versions, atomically, readable by this user only. */
function writeCache(dir: string, file: string, prefix: string, sourceHash: Buffer, data: Buffer): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (!ownedAndPrivate(statSync(dir))) return;
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, Buffer.concat([MAGIC, sourceHash, sha256(data), data]), { mode: 0o600, flag: 'wx' });
  renameSync(tmp, file);
  // Older bundles' caches of this command are of no further use.
  for (const name of readdirSync(dir)) {
    if (name.startsWith(prefix) && name.endsWith('.cache') && path.join(dir, name) !== file) rmSync(path.join(dir, name), { force: true });
  }
}

/**
 * Compiles and runs the CommonJS command file `file` (its `exports.main` is the command),
 * with the code cache in `cacheDir` (undefined: no cache, e.g. inside the Electron app).
 */
export function loadCommandScript(file: string, cacheDir: string | undefined): LoadedCommandScript {
  const source = readFileSync(file, 'utf8');
  const sourceHash = sha256(source);
  const prefix = `${path.basename(file, path.extname(file))}-`;
  const cacheFile = cacheDir ? path.join(cacheDir, `${prefix}${sourceHash.toString('hex').slice(0, 16)}-${process.arch}.cache`) : undefined;
  const read = cacheFile ? readCache(cacheFile, sourceHash) : { outcome: 'off' as const };
  const script = new vm.Script(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, {
    filename: file,
    ...(read.data ? { cachedData: read.data } : {}),
  });
  const cache: CacheOutcome = read.data && script.cachedDataRejected ? 'rejected' : read.outcome;
  const module = { exports: {} as { main?: CommandMain } };
  (script.runInThisContext() as (...args: unknown[]) => void).call(module.exports, module.exports, createRequire(file), module, file, path.dirname(file));
  const main = module.exports.main;
  if (typeof main !== 'function') throw new Error(`${file} does not export a command's main`);
  return {
    main,
    cache,
    saveCache() {
      if (!cacheDir || !cacheFile || cache === 'used' || cache === 'unsafe') return false;
      try {
        // After the run: the data then also holds the functions the command compiled.
        writeCache(cacheDir, cacheFile, prefix, sourceHash, script.createCachedData());
        return true;
      } catch {
        // A cache is an optimisation; a folder that cannot be written costs only speed.
        return false;
      }
    },
  };
}
