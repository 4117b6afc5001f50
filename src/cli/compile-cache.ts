/**
 * Node's on-disk compile cache for the CLI process (`module.enableCompileCache`, Node 22.1
 * and later): V8's compiled code for the bundle is kept between runs, so a `vigil check`
 * an RMM script starts every hour compiles its modules once, not every time. Node 20 (this
 * project's minimum) has no such API: there it is a no-op.
 *
 * Where: a folder only this user can write (the per-user cache folder of the OS), never
 * the shared temp folder Node would default to: a cache another user can write is code
 * that user gets to run as us (the agent may run as root or SYSTEM). Never inside the
 * Electron app, whose code is covered by its signature and asar integrity check; a cache
 * outside the asar would not be. NODE_COMPILE_CACHE and NODE_DISABLE_COMPILE_CACHE keep
 * the meaning Node gives them.
 */
import * as nodeModule from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';

type EnableCompileCache = (dir?: string) => { status: number; message?: string; directory?: string };

/** The per-user cache folder for the compile cache, or undefined when there is none. Pure. */
export function compileCacheDir(platform: NodeJS.Platform, env: NodeJS.ProcessEnv, home: string): string | undefined {
  if (platform === 'win32') return env.LOCALAPPDATA && path.win32.isAbsolute(env.LOCALAPPDATA) ? path.win32.join(env.LOCALAPPDATA, 'Vigil', 'compile-cache') : undefined;
  if (!home || !path.posix.isAbsolute(home)) return undefined;
  if (platform === 'darwin') return path.posix.join(home, 'Library/Caches/Vigil/compile-cache');
  const xdg = env.XDG_CACHE_HOME && path.posix.isAbsolute(env.XDG_CACHE_HOME) ? env.XDG_CACHE_HOME : path.posix.join(home, '.cache');
  return path.posix.join(xdg, 'vigil', 'compile-cache');
}

export type CompileCacheOutcome = 'enabled' | 'unavailable' | 'not-here' | 'failed';

/** Turns the cache on for this process where it is safe to; never throws. */
export function enableCompileCache(
  env: NodeJS.ProcessEnv = process.env,
  enable: EnableCompileCache | undefined = (nodeModule as { enableCompileCache?: EnableCompileCache }).enableCompileCache,
  versions: NodeJS.ProcessVersions = process.versions,
): CompileCacheOutcome {
  if (typeof enable !== 'function') return 'unavailable';
  if (versions.electron !== undefined) return 'not-here';
  // Set by the user: Node has already applied it (or been told not to).
  if (env.NODE_COMPILE_CACHE !== undefined || env.NODE_DISABLE_COMPILE_CACHE !== undefined) return 'not-here';
  let home = '';
  try {
    home = os.homedir();
  } catch {
    return 'not-here';
  }
  const dir = compileCacheDir(process.platform, env, home);
  if (!dir) return 'not-here';
  try {
    enable(dir);
    return 'enabled';
  } catch {
    // A cache is an optimisation; a folder that cannot be made costs only speed.
    return 'failed';
  }
}

/**
 * Where the bundled CLI keeps V8 code caches of its CommonJS command files (command-script.ts),
 * or undefined where no cache may be used: inside the Electron app, or when the user turned
 * Node's compile cache off (NODE_DISABLE_COMPILE_CACHE). Same per-user folder, own subfolder.
 */
export function scriptCacheDir(env: NodeJS.ProcessEnv = process.env, versions: NodeJS.ProcessVersions = process.versions): string | undefined {
  if (versions.electron !== undefined || env.NODE_DISABLE_COMPILE_CACHE !== undefined) return undefined;
  let home = '';
  try {
    home = os.homedir();
  } catch {
    return undefined;
  }
  const dir = compileCacheDir(process.platform, env, home);
  return dir ? path.join(dir, 'v8-scripts') : undefined;
}
