/**
 * The built preload, run the way Electron runs a sandboxed preload: as a CommonJS script
 * whose `require` knows only a few modules. It must require nothing but 'electron',
 * expose `vigil` and nothing else, and stay small (no zod or other library inlined).
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import vm from 'node:vm';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildPreload } from '../../scripts/build-preload.js';
import { IPC } from '../../src/shared/ipc.js';

let code = '';
beforeAll(async () => {
  const out = path.join(mkdtempSync(path.join(tmpdir(), 'vigil-preload-')), 'preload.cjs');
  await buildPreload({ outFile: out });
  code = readFileSync(out, 'utf8');
});

describe('preload bundle', () => {
  it('is one small CommonJS file', () => {
    expect(code.length).toBeLessThan(4096);
    expect(code).not.toMatch(/\bimport\s*[{*]|export\s/);
    expect(code).not.toContain('zod');
    expect([...code.matchAll(/require\(("[^"]*")\)/g)].map((m) => m[1])).toEqual(['"electron"']);
  });

  it('runs in a sandbox-like context and exposes only window.vigil', async () => {
    const exposed: Record<string, unknown> = {};
    const invoked: unknown[][] = [];
    const required: string[] = [];
    const electron = {
      contextBridge: {
        exposeInMainWorld: (key: string, api: unknown) => {
          exposed[key] = api;
        },
      },
      ipcRenderer: {
        invoke: async (...a: unknown[]) => {
          invoked.push(a);
          return null;
        },
        on: () => {},
        removeListener: () => {},
      },
    };
    const sandboxRequire = (name: string) => {
      required.push(name);
      if (name === 'electron') return electron;
      throw new Error(`module not found: ${name}`);
    };
    const module = { exports: {} };
    vm.runInNewContext(code, { require: sandboxRequire, module, exports: module.exports }, { filename: 'preload.cjs' });
    expect(required).toEqual(['electron']);
    expect(Object.keys(exposed)).toEqual(['vigil']);
    const vigil = exposed.vigil as Record<string, (...a: unknown[]) => unknown>;
    expect(Object.keys(vigil).sort()).toEqual(['checkNow', 'getState', 'onState', 'openAdviceLink', 'openLogs']);
    expect(Object.values(exposed)).not.toContain(electron.ipcRenderer);
    await vigil.checkNow!();
    expect(invoked).toEqual([[IPC.checkNow]]);
  });
});
