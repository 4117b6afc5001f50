/**
 * `Vigil.exe check --json` (and verify, config, watch): the installed app answers the
 * commands IT's RMM scripts run, so a managed PC needs no separate Node.js install for
 * `vigil check`. The packaged app cannot be run as Node (the RunAsNode fuse is off, by
 * design), so the CLI runs inside the app's main process, before any window or tray.
 *
 * Only the headless, Electron-free commands that make sense on an endpoint are offered:
 * `server` (a native database) is not. `run` only as `run --machine`: how the Windows
 * service host (WinSW, packaging/msi/VigilService.xml) starts the machine agent; a plain
 * `run` would be a second agent beside the service, so it stays the tray app.
 */
export const APP_CLI_COMMANDS = ['check', 'verify', 'config', 'watch', 'run'] as const;

/** Chromium switches a service definition passes (the systemd unit runs as root: --no-sandbox). */
const CHROMIUM_SWITCHES: readonly string[] = ['--no-sandbox'];

/**
 * The CLI arguments when this process was started as a command, else undefined (the
 * tray app). A packaged app's argv is [exe, ...args]; a development one's is
 * [electron, appPath, ...args]. Electron and Chromium switches the OS or a launcher may add
 * (`--autostart`, `--no-sandbox`, `--inspect`...) come first and are not commands.
 */
export function cliInvocation(argv: readonly string[], isPackaged: boolean): string[] | undefined {
  const args = argv.slice(isPackaged ? 1 : 2);
  const first = args[0];
  if (first === 'run' && !args.includes('--machine')) return undefined;
  if (first === undefined || !(APP_CLI_COMMANDS as readonly string[]).includes(first)) return undefined;
  // Chromium reads its switches anywhere on the line; the command must not see them.
  return args.filter((a) => !CHROMIUM_SWITCHES.includes(a));
}
