/**
 * Start at login, per user, unless the installer already did it per machine.
 *
 * | settings.autostart | Windows / macOS                         | Linux                                   |
 * |--------------------|-----------------------------------------|-----------------------------------------|
 * | user               | app.setLoginItemSettings(openAtLogin)   | write ~/.config/autostart/vigil.desktop |
 * | off                | app.setLoginItemSettings(!openAtLogin)  | remove that file                        |
 * | machine            | nothing: HKLM Run / LaunchAgent exists  | nothing: /etc/xdg/autostart exists      |
 *
 * With `machine`, a per-user entry would start the app twice at login (the single
 * instance lock would absorb it, but the registry would show two entries and Task
 * Manager's Startup tab would let the user disable the wrong one). Development builds
 * (not packaged) never register: that would start the bare Electron binary at login.
 *
 * `planAutostart` is pure; `applyAutostart` does the side effects it plans.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Settings } from 'electron';
import { AUTOSTART_ARG } from './launch-intent.js';
import type { TraySettings } from './settings.js';

export const XDG_FILE_NAME = 'vigil.desktop';

export type AutostartPlan =
  | { kind: 'login-item'; settings: Settings }
  | { kind: 'xdg-write'; file: string; contents: string }
  | { kind: 'xdg-remove'; file: string }
  | { kind: 'none'; reason: string };

export interface AutostartContext {
  platform: NodeJS.Platform;
  mode: TraySettings['autostart'];
  isPackaged: boolean;
  execPath: string;
  env: Record<string, string | undefined>;
  homeDir: string;
}

export function planAutostart(ctx: AutostartContext): AutostartPlan {
  if (ctx.mode === 'machine') return { kind: 'none', reason: 'the installer registered a per-machine autostart entry' };
  if (!ctx.isPackaged) return { kind: 'none', reason: 'development build' };
  const enable = ctx.mode === 'user';
  if (ctx.platform === 'win32') {
    return { kind: 'login-item', settings: { openAtLogin: enable, path: ctx.execPath, args: [AUTOSTART_ARG] } };
  }
  if (ctx.platform === 'darwin') {
    // macOS passes no arguments to login items; main.ts asks wasOpenedAtLogin instead.
    return { kind: 'login-item', settings: { openAtLogin: enable } };
  }
  if (ctx.platform === 'linux') {
    const configHome = ctx.env.XDG_CONFIG_HOME && path.isAbsolute(ctx.env.XDG_CONFIG_HOME) ? ctx.env.XDG_CONFIG_HOME : path.join(ctx.homeDir, '.config');
    const file = path.join(configHome, 'autostart', XDG_FILE_NAME);
    if (!enable) return { kind: 'xdg-remove', file };
    // An AppImage's execPath is inside a temporary mount; the image itself is in APPIMAGE.
    const exec = ctx.env.APPIMAGE && path.isAbsolute(ctx.env.APPIMAGE) ? ctx.env.APPIMAGE : ctx.execPath;
    return { kind: 'xdg-write', file, contents: xdgAutostartEntry(exec) };
  }
  return { kind: 'none', reason: `no autostart support on ${ctx.platform}` };
}

/**
 * Quotes one Exec argument per the Desktop Entry Specification: inside double quotes,
 * `"`, `` ` ``, `$` and `\` are escaped with a backslash; then the string-value escape
 * doubles every backslash; `%` becomes `%%` (field codes).
 */
export function quoteExecArg(arg: string): string {
  const quoted = '"' + arg.replace(/["`$\\]/g, (c) => '\\' + c) + '"';
  return quoted.replace(/\\/g, '\\\\').replace(/%/g, '%%');
}

export function xdgAutostartEntry(execPath: string): string {
  return [
    '[Desktop Entry]',
    'Type=Application',
    'Version=1.0',
    'Name=Vigil',
    'Comment=Shows whether this PC is affected by a known software supply-chain incident',
    `Exec=${quoteExecArg(execPath)} ${AUTOSTART_ARG}`,
    'Icon=vigil',
    'Terminal=false',
    'Categories=Utility;Security;',
    'X-GNOME-Autostart-enabled=true',
    '',
  ].join('\n');
}

export interface AutostartIo {
  setLoginItemSettings(settings: Settings): void;
  writeFile(file: string, contents: string): void;
  removeFile(file: string): void;
}

export const nodeAutostartFs = {
  writeFile(file: string, contents: string): void {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const tmp = `${file}.tmp-${process.pid}`;
    fs.writeFileSync(tmp, contents, { mode: 0o644 });
    fs.renameSync(tmp, file);
  },
  removeFile(file: string): void {
    fs.rmSync(file, { force: true });
  },
};

export type AutostartOutcome = { ok: true; plan: AutostartPlan['kind'] } | { ok: false; plan: AutostartPlan['kind']; error: string };

/** Applies a plan; failures are returned (and logged by the caller), never thrown. */
export function applyAutostart(plan: AutostartPlan, io: AutostartIo): AutostartOutcome {
  try {
    switch (plan.kind) {
      case 'login-item':
        io.setLoginItemSettings(plan.settings);
        break;
      case 'xdg-write':
        io.writeFile(plan.file, plan.contents);
        break;
      case 'xdg-remove':
        io.removeFile(plan.file);
        break;
      case 'none':
        break;
    }
    return { ok: true, plan: plan.kind };
  } catch (e) {
    return { ok: false, plan: plan.kind, error: e instanceof Error ? e.message : String(e) };
  }
}
