import { existsSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { applyAutostart, nodeAutostartFs, planAutostart, quoteExecArg, xdgAutostartEntry, type AutostartContext } from '../../src/main/autostart.js';

const ctx = (o: Partial<AutostartContext> = {}): AutostartContext => ({
  platform: 'linux',
  mode: 'user',
  isPackaged: true,
  execPath: '/opt/Vigil/vigil',
  env: {},
  homeDir: '/home/alice',
  ...o,
});

describe('planAutostart', () => {
  it('Windows per user: login item with --autostart', () => {
    expect(planAutostart(ctx({ platform: 'win32', execPath: 'C:\\Program Files\\Vigil\\Vigil.exe' }))).toEqual({
      kind: 'login-item',
      settings: { openAtLogin: true, path: 'C:\\Program Files\\Vigil\\Vigil.exe', args: ['--autostart'] },
    });
  });
  it('Windows off: removes the login item', () => {
    expect(planAutostart(ctx({ platform: 'win32', mode: 'off' }))).toMatchObject({ kind: 'login-item', settings: { openAtLogin: false } });
  });
  it('macOS: login item, no args', () => {
    expect(planAutostart(ctx({ platform: 'darwin' }))).toEqual({ kind: 'login-item', settings: { openAtLogin: true } });
  });
  it('per-machine entry from the installer: nothing, on every OS', () => {
    for (const platform of ['win32', 'darwin', 'linux'] as const) expect(planAutostart(ctx({ platform, mode: 'machine' })).kind).toBe('none');
  });
  it('development build: nothing', () => {
    expect(planAutostart(ctx({ isPackaged: false })).kind).toBe('none');
  });
  it('Linux: ~/.config/autostart, or $XDG_CONFIG_HOME when absolute', () => {
    expect(planAutostart(ctx())).toMatchObject({ kind: 'xdg-write', file: '/home/alice/.config/autostart/vigil.desktop' });
    expect(planAutostart(ctx({ env: { XDG_CONFIG_HOME: '/cfg' } }))).toMatchObject({ file: '/cfg/autostart/vigil.desktop' });
    expect(planAutostart(ctx({ env: { XDG_CONFIG_HOME: 'relative' } }))).toMatchObject({ file: '/home/alice/.config/autostart/vigil.desktop' });
    expect(planAutostart(ctx({ mode: 'off' }))).toEqual({ kind: 'xdg-remove', file: '/home/alice/.config/autostart/vigil.desktop' });
  });
  it('Linux AppImage: the image, not its temporary mount', () => {
    const p = planAutostart(ctx({ execPath: '/tmp/.mount_VigilX/vigil', env: { APPIMAGE: '/home/alice/Apps/Vigil.AppImage' } }));
    expect(p.kind === 'xdg-write' && p.contents).toContain('Exec="/home/alice/Apps/Vigil.AppImage" --autostart');
  });
});

describe('desktop entry', () => {
  it('quotes Exec per the Desktop Entry Specification', () => {
    expect(quoteExecArg('/opt/My Apps/vigil')).toBe('"/opt/My Apps/vigil"');
    expect(quoteExecArg('/opt/a"b')).toBe('"/opt/a\\\\"b"');
    expect(quoteExecArg('/opt/$x`y')).toBe('"/opt/\\\\$x\\\\`y"');
    expect(quoteExecArg('/opt/50%')).toBe('"/opt/50%%"');
    expect(quoteExecArg('/opt/back\\slash')).toBe('"/opt/back\\\\\\\\slash"');
  });
  it('has the keys an autostart entry needs', () => {
    const e = xdgAutostartEntry('/opt/Vigil/vigil');
    expect(e.split('\n')[0]).toBe('[Desktop Entry]');
    expect(e).toContain('Type=Application\n');
    expect(e).toContain('Name=Vigil\n');
    expect(e).toContain('Exec="/opt/Vigil/vigil" --autostart\n');
    expect(e).toContain('X-GNOME-Autostart-enabled=true\n');
  });
});

describe('applyAutostart', () => {
  it('writes and removes the XDG file for real', () => {
    const home = mkdtempSync(path.join(tmpdir(), 'vigil-xdg-'));
    const io = { setLoginItemSettings: vi.fn(), ...nodeAutostartFs };
    const write = planAutostart(ctx({ homeDir: home }));
    expect(applyAutostart(write, io)).toEqual({ ok: true, plan: 'xdg-write' });
    const file = path.join(home, '.config/autostart/vigil.desktop');
    expect(readFileSync(file, 'utf8')).toBe(xdgAutostartEntry('/opt/Vigil/vigil'));
    expect(statSync(file).mode & 0o777).toBe(0o644);
    expect(applyAutostart(planAutostart(ctx({ homeDir: home, mode: 'off' })), io)).toEqual({ ok: true, plan: 'xdg-remove' });
    expect(existsSync(file)).toBe(false);
    // Removing again is fine.
    expect(applyAutostart(planAutostart(ctx({ homeDir: home, mode: 'off' })), io).ok).toBe(true);
    expect(io.setLoginItemSettings).not.toHaveBeenCalled();
  });

  it('returns failures instead of throwing', () => {
    const io = {
      setLoginItemSettings: () => {
        throw new Error('access denied');
      },
      writeFile: () => {},
      removeFile: () => {},
    };
    expect(applyAutostart(planAutostart(ctx({ platform: 'win32' })), io)).toEqual({ ok: false, plan: 'login-item', error: 'access denied' });
  });
});
