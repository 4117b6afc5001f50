/**
 * The real entry point (src/main/main.ts) with `electron` and `electron-log/main`
 * replaced by fakes through vi.mock: it must import without Electron, wire the real
 * modules together, survive the (not yet bound) agent failing to start, and log to a
 * file in the per-user log folder.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';

const h = vi.hoisted(() => ({ home: '', restoreHome: undefined as string | undefined }));

vi.mock('electron', async () => {
  const { createFakeElectron } = await import('./fake-electron.js');
  const fe = createFakeElectron({ paths: { userData: path.join(h.home, 'userData'), exe: '/opt/Vigil/vigil' } });
  (globalThis as Record<string, unknown>).__fe = fe;
  return { ...fe.fake, default: fe.fake };
});

vi.mock('electron-log/main', async () => {
  // electron-log/node has the same API and file transport, without Electron.
  const log = (await import('electron-log/node')).default;
  return { default: log.create({ logId: 'main-entry-test' }) };
});

h.restoreHome = process.env.HOME;
h.home = mkdtempSync(path.join(tmpdir(), 'vigil-home-'));
process.env.HOME = h.home;
afterAll(() => {
  process.env.HOME = h.restoreHome;
});

describe('main.ts under a fake Electron', () => {
  it('starts grey with no agent bound, and logs to the per-user log folder', async () => {
    await import('../../src/main/main.js');
    const fe = (globalThis as Record<string, unknown>).__fe as import('./fake-electron.js').FakeElectron;
    expect(fe.calls[0]).toMatchObject({ api: 'app', method: 'enableSandbox', args: [false] });
    fe.ready();
    for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
    expect(fe.trays).toHaveLength(1);
    expect(fe.trays[0]!.image.path).toBe(path.join('/tmp/vigil-fake/app', 'assets', 'tray', process.platform === 'win32' ? 'unknown.ico' : process.platform === 'darwin' ? 'unknownTemplate.png' : 'unknown-24.png'));
    expect(fe.trays[0]!.tooltip).toMatch(/^Vigil: Unknown/);
    expect([...fe.fake.ipcMain.handlers.keys()]).toHaveLength(4);
    expect(fe.fake.protocol.handlers.has('vigil')).toBe(true);

    const logs = path.join(h.home, '.config');
    expect(existsSync(logs)).toBe(true);
    const find = (dir: string): string[] => readdirSync(dir, { withFileTypes: true }).flatMap((d) => (d.isDirectory() ? find(path.join(dir, d.name)) : [path.join(dir, d.name)]));
    const mainLog = find(logs).find((f) => f.endsWith('main.log'));
    expect(mainLog).toBeDefined();
    const text = readFileSync(mainLog!, 'utf8');
    expect(text).toContain('the agent could not start');
    expect(text).toContain('is not bound in src/main/agent-binding.ts');
    expect(text).toContain('tray app started');
  });
});
