/**
 * The real entry point (src/main/main.ts) with `electron` and `electron-log/main`
 * replaced by fakes through vi.mock: it must import without Electron, read the settings
 * (VIGIL_CONFIG, honoured because the fake app is not packaged), start the real agent
 * with them, offer Quit as they say, stop the agent on quit, and log to a file in the
 * per-user log folder.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
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
const configFile = path.join(h.home, 'vigil.json');
writeFileSync(configFile, JSON.stringify({ allowQuit: true, stateDir: 'agent-state', logLevel: 'debug' }));
process.env.VIGIL_CONFIG = configFile;
afterAll(() => {
  process.env.HOME = h.restoreHome;
  delete process.env.VIGIL_CONFIG;
});

describe('main.ts under a fake Electron', () => {
  it('starts grey with the real agent bound to the settings file, and logs to the per-user log folder', async () => {
    await import('../../src/main/main.js');
    const fe = (globalThis as Record<string, unknown>).__fe as import('./fake-electron.js').FakeElectron;
    expect(fe.calls[0]).toMatchObject({ api: 'app', method: 'enableSandbox', args: [false] });
    fe.ready();
    for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
    expect(fe.trays).toHaveLength(1);
    // The tray is created grey, before the agent has scanned (the live scan may finish any time after).
    const created = fe.calls.find((c) => c.api === 'Tray' && c.method === 'new');
    expect(created?.args[0]).toBe(path.join('/tmp/vigil-fake/app', 'assets', 'tray', process.platform === 'win32' ? 'unknown.ico' : process.platform === 'darwin' ? 'unknownTemplate.png' : 'unknown-24.png'));
    expect(fe.calls.find((c) => c.api === 'Tray' && c.method === 'setToolTip')?.args[0]).toMatch(/^Vigil: Unknown/);
    expect([...fe.fake.ipcMain.handlers.keys()]).toHaveLength(4);
    expect(fe.fake.protocol.handlers.has('vigil')).toBe(true);

    const logs = path.join(h.home, '.config');
    expect(existsSync(logs)).toBe(true);
    const find = (dir: string): string[] => readdirSync(dir, { withFileTypes: true }).flatMap((d) => (d.isDirectory() ? find(path.join(dir, d.name)) : [path.join(dir, d.name)]));
    const mainLog = find(logs).find((f) => f.endsWith('main.log'));
    expect(mainLog).toBeDefined();
    // The agent starts after ready, once the packs are loaded: wait for the app to say it started.
    while (!readFileSync(mainLog!, 'utf8').includes('tray app started')) await new Promise((r) => setTimeout(r, 10));
    const text = readFileSync(mainLog!, 'utf8');
    const settingsLine = text.split('\n').find((l) => l.includes('settings {"source":'));
    expect(settingsLine).toContain(configFile);
    expect(text).toMatch(/agent started .*"packs":\["3cx-desktopapp-2023-03@2","x-trader-2023@1"\]/);
    expect(text).not.toContain('could not start');
    expect(text).toContain('tray app started');
    expect(text).toContain('"allowQuit":true');

    // The settings allow Quit: the menu offers it, and quitting stops the agent first.
    const quit = fe.trays[0]!.menu!.items.find((i) => i.id === 'quit') as { click: () => void } | undefined;
    expect(quit).toBeDefined();
    quit!.click();
    while (fe.calls.filter((c) => c.api === 'app' && c.method === 'quit').length < 2) await new Promise((r) => setTimeout(r, 10));
    expect(fe.trays[0]!.destroyed).toBe(true);
  });
});
