/**
 * Whether to open the status window when the app starts, and first-run bookkeeping.
 *
 * A desktop may have no tray at all (Linux without a StatusNotifier host, e.g. stock
 * GNOME), and Electron cannot tell (electron/electron#5872). So:
 * - on first run the window opens, whatever started the app;
 * - when the user starts the app by hand (not at login) the window opens: with a single
 *   instance lock, "launch Vigil again" is how the window is reached without a tray;
 * - at login (the `--autostart` argument, which every autostart entry passes) it stays in
 *   the tray.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export const AUTOSTART_ARG = '--autostart';
export const FIRST_RUN_MARKER = 'first-run-done';

export function startedAtLogin(argv: readonly string[], macWasOpenedAtLogin = false): boolean {
  return macWasOpenedAtLogin || argv.includes(AUTOSTART_ARG);
}

export function shouldShowWindowAtStart(opts: { firstRun: boolean; atLogin: boolean }): boolean {
  return opts.firstRun || !opts.atLogin;
}

export interface FirstRunFs {
  existsSync(p: string): boolean;
  mkdirSync(p: string, o: { recursive: true }): unknown;
  writeFileSync(p: string, data: string): void;
}

/** True the first time; records that the first run happened. Never throws. */
export function consumeFirstRun(userDataDir: string, fsx: FirstRunFs = fs): boolean {
  const marker = path.join(userDataDir, FIRST_RUN_MARKER);
  try {
    if (fsx.existsSync(marker)) return false;
    fsx.mkdirSync(userDataDir, { recursive: true });
    fsx.writeFileSync(marker, new Date().toISOString() + '\n');
    return true;
  } catch {
    // Unwritable profile: better to show the window every time than never.
    return true;
  }
}
