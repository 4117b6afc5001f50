/**
 * `Vigil.exe check --json`: the packaged app answers the RMM commands. The entry point
 * (src/main/main.ts) runs under a fake Electron whose app is packaged, with argv as
 * Windows gives it to an RMM script; it must print the check's JSON, exit with its code,
 * and start no tray, window or single-instance lock.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { cliInvocation } from '../../src/main/cli-mode.js';
import { makePe } from '../helpers/make-pe.js';
import { electronAppVersionSpec, makeVersionResource } from '../helpers/make-version-resource.js';

describe('cliInvocation', () => {
  it('finds the command after the executable (packaged) or after the app path (development)', () => {
    expect(cliInvocation(['C:\\Program Files\\Vigil\\Vigil.exe', 'check', '--json'], true)).toEqual(['check', '--json']);
    expect(cliInvocation(['/usr/bin/electron', '.', 'verify', 'a.exe'], false)).toEqual(['verify', 'a.exe']);
    expect(cliInvocation(['/opt/Vigil/vigil', 'config', 'show'], true)).toEqual(['config', 'show']);
  });

  it('is the tray app for no arguments, launcher switches, and commands the app does not offer', () => {
    expect(cliInvocation(['C:\\Program Files\\Vigil\\Vigil.exe'], true)).toBeUndefined();
    expect(cliInvocation(['C:\\Program Files\\Vigil\\Vigil.exe', '--autostart'], true)).toBeUndefined();
    expect(cliInvocation(['/usr/bin/electron', '.'], false)).toBeUndefined();
    expect(cliInvocation(['Vigil.exe', 'server', 'start'], true)).toBeUndefined();
    expect(cliInvocation(['Vigil.exe', 'run'], true)).toBeUndefined();
  });

  it('runs the machine agent for the service host: run --machine', () => {
    expect(cliInvocation(['C:\\Program Files\\Vigil\\Vigil.exe', 'run', '--machine'], true)).toEqual(['run', '--machine']);
    // The systemd unit (as root) adds Chromium's --no-sandbox; the command does not see it.
    expect(cliInvocation(['/opt/Vigil/vigil', 'run', '--machine', '--no-sandbox'], true)).toEqual(['run', '--machine']);
  });
});

const h = vi.hoisted(() => ({ root: '' }));

vi.mock('electron', async () => {
  const { createFakeElectron } = await import('./fake-electron.js');
  const fe = createFakeElectron({ isPackaged: true });
  (globalThis as Record<string, unknown>).__feCli = fe;
  return { ...fe.fake, default: fe.fake };
});
vi.mock('electron-log/main', async () => ({ default: (await import('electron-log/node')).default.create({ logId: 'cli-mode-test' }) }));

h.root = mkdtempSync(path.join(tmpdir(), 'vigil-appcli-'));
const app = path.join(h.root, 'Users/alice/AppData/Local/Programs/3CXDesktopApp');
mkdirSync(app, { recursive: true });
mkdirSync(path.join(h.root, 'Windows/System32'), { recursive: true });
writeFileSync(path.join(app, '3CXDesktopApp.exe'), makePe({ resources: (rva) => makeVersionResource(rva, { languages: [{ id: 0x0409, info: electronAppVersionSpec('18.12.416') }] }) }));

const savedArgv = process.argv;
afterAll(() => {
  process.argv = savedArgv;
});

describe('Vigil.exe check under a fake, packaged Electron', () => {
  it('prints the JSON report, exits 2 for the compromised build, and starts no tray', async () => {
    process.argv = ['C:\\Program Files\\Vigil\\Vigil.exe', 'check', '--json', '--root', h.root];
    let out = '';
    const write = vi.spyOn(process.stdout, 'write').mockImplementation(((chunk: string | Uint8Array, cb?: unknown) => {
      out += String(chunk);
      if (typeof cb === 'function') (cb as () => void)();
      return true;
    }) as typeof process.stdout.write);
    try {
      await import('../../src/main/main.js');
      const fe = (globalThis as Record<string, unknown>).__feCli as import('./fake-electron.js').FakeElectron;
      for (let i = 0; i < 50 && !fe.calls.some((c) => c.api === 'app' && c.method === 'exit'); i++) await new Promise((r) => setTimeout(r, 20));
      expect(fe.calls.filter((c) => c.api === 'app').map((c) => [c.method, c.args])).toEqual([['exit', [2]]]);
      expect(fe.trays).toHaveLength(0);
      const report = JSON.parse(out);
      expect(report.verdict.status).toBe('compromised');
      expect(report.installs[0]).toMatchObject({ version: '18.12.416', user: 'alice' });
    } finally {
      write.mockRestore();
    }
  });
});
