/**
 * The bundled CLI's CommonJS commands run with V8's code cache (src/cli/command-script.ts):
 * a cache is written after a run into a folder only this user can use, used by the next
 * run, and refused (the script compiled from source instead, with the same result) when it
 * was made for another bundle, was changed or cut short on disk, is writable by others, or
 * is data V8 will not take. Real files, a real vm.Script, real V8 cached data.
 */
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadCommandScript } from '../../src/cli/command-script.js';
import { scriptCacheDir } from '../../src/cli/compile-cache.js';
import type { CliIo } from '../../src/cli/io.js';

let dir: string;
let cacheDir: string;
let file: string;
const posix = process.platform !== 'win32';

const source = (answer: number) => `'use strict';
const path = require('node:path');
function work(n) { let s = 0; for (let i = 0; i < n; i++) s += i % 7; return s; }
exports.main = async (argv, io) => { io.stdout(path.basename(__filename) + ' ' + argv.join(',') + ' ' + work(1000) + ' ${answer}'); return ${answer}; };
`;

/**
 * Loads and runs the command. V8 keeps scripts it compiled in this process by source and
 * file name, and then never looks at the cached data: `copyTo` loads the same text from a
 * new folder (same file name, so the same cache entry) so that V8 really reads the data.
 */
async function run(cache: string | null = cacheDir, copyTo?: string) {
  let target = file;
  if (copyTo) {
    mkdirSync(path.join(dir, copyTo), { recursive: true });
    target = path.join(dir, copyTo, path.basename(file));
    writeFileSync(target, readFileSync(file));
  }
  const loaded = loadCommandScript(target, cache ?? undefined);
  let out = '';
  const io: CliIo = { stdout: (t) => (out += t), stderr: () => {}, env: {}, cwd: dir, interrupted: new Promise(() => {}) };
  const code = await loaded.main(['a', 'b'], io);
  return { loaded, code, out, saved: loaded.saveCache() };
}

const cacheFiles = () => readdirSync(cacheDir).filter((n) => n.endsWith('.cache'));

beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'vigil-cmd-script-'));
  cacheDir = path.join(dir, 'cache', 'v8-scripts');
  file = path.join(dir, 'check.cjs');
  writeFileSync(file, source(3));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('loadCommandScript', () => {
  it('runs the command, writes the cache after the run, and the next run uses it', async () => {
    const first = await run();
    expect(first).toMatchObject({ code: 3, out: 'check.cjs a,b 2997 3', saved: true });
    expect(first.loaded.cache).toBe('absent');
    const [name] = cacheFiles();
    expect(name).toMatch(/^check-[0-9a-f]{16}-[a-z0-9]+\.cache$/);
    if (posix) {
      expect(statSync(path.join(cacheDir, name!)).mode & 0o777).toBe(0o600);
      expect(statSync(cacheDir).mode & 0o777).toBe(0o700);
    }
    const second = await run(cacheDir, 'fresh');
    expect(second.loaded.cache).toBe('used');
    expect(second).toMatchObject({ code: 3, out: first.out, saved: false });
  });

  it('without a cache folder (the Electron app) compiles from source and writes nothing', async () => {
    const r = await run(null);
    expect(r).toMatchObject({ code: 3, saved: false });
    expect(r.loaded.cache).toBe('off');
  });

  it('a new bundle gets its own cache, and the old one is removed once the new one is written', async () => {
    await run();
    const old = cacheFiles();
    writeFileSync(file, source(4));
    const r = await run();
    expect(r.loaded.cache).toBe('absent');
    expect(r.code).toBe(4);
    expect(cacheFiles()).toHaveLength(1);
    expect(cacheFiles()).not.toEqual(old);
  });

  it('a cache made for other source under this name is stale, and not used', async () => {
    await run();
    const oldData = readFileSync(path.join(cacheDir, cacheFiles()[0]!));
    writeFileSync(file, source(5));
    await run(); // writes the new bundle's cache (and removes the old one)
    const [newName] = cacheFiles();
    // The old bundle's data under the new bundle's name.
    writeFileSync(path.join(cacheDir, newName!), oldData, { mode: 0o600 });
    const r = await run();
    expect(r.loaded.cache).toBe('stale');
    expect(r.code).toBe(5);
    expect(r.saved).toBe(true);
    expect((await run()).loaded.cache).toBe('used');
  });

  it('a cache changed or cut short on disk is corrupt: not used, and replaced', async () => {
    await run();
    const cache = path.join(cacheDir, cacheFiles()[0]!);
    const bytes = readFileSync(cache);
    bytes[bytes.length - 10] = bytes[bytes.length - 10]! ^ 0xff;
    writeFileSync(cache, bytes);
    let r = await run();
    expect(r.loaded.cache).toBe('corrupt');
    expect(r.code).toBe(3);
    expect(r.saved).toBe(true);
    writeFileSync(cache, readFileSync(cache).subarray(0, 40));
    r = await run();
    expect(r.loaded.cache).toBe('corrupt');
    expect((await run()).loaded.cache).toBe('used');
  });

  it('data V8 does not take (well-formed header, foreign payload) is rejected and replaced', async () => {
    await run();
    const cache = path.join(cacheDir, cacheFiles()[0]!);
    const bytes = readFileSync(cache);
    const payload = Buffer.alloc(bytes.length - 72, 0x5a);
    writeFileSync(cache, Buffer.concat([bytes.subarray(0, 40), createHash('sha256').update(payload).digest(), payload]));
    const r = await run(cacheDir, 'fresh1');
    expect(r.loaded.cache).toBe('rejected');
    expect(r.code).toBe(3);
    expect(r.saved).toBe(true);
    expect((await run(cacheDir, 'fresh2')).loaded.cache).toBe('used');
  });

  it.runIf(posix)('a cache or folder others can write is not ours to trust: not used, not rewritten', async () => {
    await run();
    const cache = path.join(cacheDir, cacheFiles()[0]!);
    chmodSync(cache, 0o666);
    let r = await run();
    expect(r.loaded.cache).toBe('unsafe');
    expect(r.saved).toBe(false);
    expect(r.code).toBe(3);
    chmodSync(cache, 0o600);
    chmodSync(cacheDir, 0o777);
    r = await run();
    expect(r.loaded.cache).toBe('unsafe');
    chmodSync(cacheDir, 0o700);
    expect((await run()).loaded.cache).toBe('used');
  });

  it('refuses a file that is not a command', () => {
    writeFileSync(file, 'exports.other = 1;');
    expect(() => loadCommandScript(file, undefined)).toThrow(/does not export a command's main/);
  });
});

describe('scriptCacheDir', () => {
  it('is a subfolder of the per-user compile-cache folder, and none inside Electron or when the user turned caching off', () => {
    const env = { XDG_CACHE_HOME: '/home/u/.cache' };
    if (process.platform === 'linux') expect(scriptCacheDir(env, process.versions)).toBe('/home/u/.cache/vigil/compile-cache/v8-scripts');
    expect(scriptCacheDir(env, { ...process.versions, electron: '33.0.0' })).toBeUndefined();
    expect(scriptCacheDir({ ...env, NODE_DISABLE_COMPILE_CACHE: '1' }, process.versions)).toBeUndefined();
  });
});
