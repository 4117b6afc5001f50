/**
 * Where the CLI keeps Node's compile cache (a per-user folder, never the shared temp
 * folder), and when it does not turn it on: Node without the API (20), inside Electron,
 * or when the user set Node's own variables.
 */
import * as nodeModule from 'node:module';
import * as os from 'node:os';
import { describe, expect, it } from 'vitest';
import { compileCacheDir, enableCompileCache } from '../../src/cli/compile-cache.js';

describe('compileCacheDir', () => {
  it('is the per-user cache folder of each OS', () => {
    expect(compileCacheDir('win32', { LOCALAPPDATA: 'C:\\Users\\alice\\AppData\\Local' }, 'C:\\Users\\alice')).toBe('C:\\Users\\alice\\AppData\\Local\\Vigil\\compile-cache');
    expect(compileCacheDir('darwin', {}, '/Users/alice')).toBe('/Users/alice/Library/Caches/Vigil/compile-cache');
    expect(compileCacheDir('linux', {}, '/home/alice')).toBe('/home/alice/.cache/vigil/compile-cache');
    expect(compileCacheDir('linux', { XDG_CACHE_HOME: '/var/cache/alice' }, '/home/alice')).toBe('/var/cache/alice/vigil/compile-cache');
  });

  it('has none rather than a relative or shared folder', () => {
    expect(compileCacheDir('win32', {}, 'C:\\Users\\alice')).toBeUndefined();
    expect(compileCacheDir('win32', { LOCALAPPDATA: 'AppData' }, 'C:\\Users\\alice')).toBeUndefined();
    expect(compileCacheDir('linux', {}, '')).toBeUndefined();
    expect(compileCacheDir('linux', { XDG_CACHE_HOME: 'relative' }, '/home/alice')).toBe('/home/alice/.cache/vigil/compile-cache');
  });
});

describe('enableCompileCache', () => {
  const node = { node: '22.12.0' } as NodeJS.ProcessVersions;

  it('says unavailable on a Node without module.enableCompileCache, and matches this Node', () => {
    expect(enableCompileCache({}, undefined, node)).toBe('unavailable');
    const real = (nodeModule as { enableCompileCache?: unknown }).enableCompileCache;
    if (typeof real !== 'function') expect(enableCompileCache({ HOME: os.homedir() })).toBe('unavailable');
  });

  it('enables it in the per-user folder, and never inside Electron or against the user\'s own setting', () => {
    const dirs: (string | undefined)[] = [];
    const enable = (dir?: string) => {
      dirs.push(dir);
      return { status: 1 };
    };
    expect(enableCompileCache({}, enable, node)).toBe('enabled');
    expect(dirs[0]).toMatch(/[\\/][Vv]igil[\\/]compile-cache$/);
    expect(dirs[0]!.startsWith(os.tmpdir())).toBe(false);
    expect(enableCompileCache({}, enable, { ...node, electron: '38.0.0' } as NodeJS.ProcessVersions)).toBe('not-here');
    expect(enableCompileCache({ NODE_COMPILE_CACHE: '/x' }, enable, node)).toBe('not-here');
    expect(enableCompileCache({ NODE_DISABLE_COMPILE_CACHE: '1' }, enable, node)).toBe('not-here');
    expect(dirs).toHaveLength(1);
  });

  it('costs only speed when the folder cannot be made', () => {
    expect(
      enableCompileCache({}, () => {
        throw new Error('EACCES');
      }, node),
    ).toBe('failed');
  });
});
