/**
 * Electron entry point (package.json "main": dist/main/main.js). The only module in
 * src/main that imports `electron` and `electron-log/main` at run time; it gathers the
 * real implementations and hands them to startTrayApp (app.ts), which is what the tests
 * drive with a fake Electron.
 */
import * as os from 'node:os';
import * as path from 'node:path';
import * as electron from 'electron';
import log from 'electron-log/main';
import { startTrayApp } from './app.js';
import { bindTrayAgent } from './agent-binding.js';
import { APP_CLI_COMMANDS, cliInvocation } from './cli-mode.js';
import { realConnectionWatcher } from '../core/agent-assembly.js';
import { selfIntegrityCheck } from '../core/self-integrity/self-integrity.js';
import { configureElectronLog, logFolder, loggerFromElectronLog, setFileLogLevel } from './log-setup.js';

// `Vigil.exe check --json` and friends: run the command and exit, no tray, no window, no
// single-instance lock (an RMM check must work while the tray app runs).
const cliArgs = cliInvocation(process.argv, electron.app.isPackaged);
if (cliArgs) {
  const { runCli } = await import('../cli/main.js');
  const code = await runCli(cliArgs, {
    stdout: (t) => process.stdout.write(t),
    stderr: (t) => process.stderr.write(t),
    env: process.env,
    cwd: process.cwd(),
    interrupted: new Promise<void>((resolve) => {
      process.once('SIGINT', () => resolve());
      process.once('SIGTERM', () => resolve());
    }),
  }, { only: APP_CLI_COMMANDS });
  process.stdout.write('', () => electron.app.exit(code));
} else {
  await startTray();
}

async function startTray(): Promise<void> {
  configureElectronLog(log);
  const logger = loggerFromElectronLog(log);

  // The app must not die on a bug somewhere in a callback: log it and carry on.
  process.on('uncaughtException', (e) => logger.error('uncaught exception', { error: e.message, stack: e.stack }));
  process.on('unhandledRejection', (e) => logger.error('unhandled rejection', { error: e instanceof Error ? e.message : String(e) }));

  // app.getAppPath() is the folder (or app.asar) holding package.json, dist/ and assets/.
  const appRoot = electron.app.getAppPath();

  // The settings are read before anything else. A top-level await in the entry module holds
  // Electron's `ready` back until it settles, so startTrayApp still does its before-ready
  // work in time. VIGIL_CONFIG points a development build at a settings file; a packaged
  // app reads only the per-machine file (the user must not be able to swap the policy).
  const devConfig = electron.app.isPackaged ? undefined : process.env.VIGIL_CONFIG;
  // The same agent as `vigil run`: the real connection watch, and in a packaged app the
  // check of its own signature (in development process.execPath is Electron's own binary,
  // whose signature says nothing about Vigil's code). On Windows that check also asks
  // Windows' own trust verdict (WindowsAuthenticodeTrust, the default there): a release
  // is "signed by its publisher" only when its pin matches and Windows trusts the chain.
  const binding = await bindTrayAgent({
    ...(devConfig ? { file: path.resolve(devConfig) } : {}),
    assembly: {
      watcher: realConnectionWatcher,
      ...(electron.app.isPackaged ? { extraChecks: [selfIntegrityCheck({ executable: process.execPath })] } : {}),
    },
  });
  if (binding.load.ok) setFileLogLevel(log, binding.load.config.logLevel);
  logger.info('settings', binding.load.ok ? { source: binding.load.source } : { source: binding.load.source, problems: binding.load.problems });

  startTrayApp({
    electron,
    agentFactory: binding.agentFactory,
    settings: binding.settings,
    ...(binding.load.ok ? { proxy: binding.load.config.proxy } : {}),
    logger,
    paths: {
      rendererDir: path.join(appRoot, 'dist', 'renderer'),
      preloadPath: path.join(appRoot, 'dist', 'preload', 'preload.cjs'),
      assetsDir: path.join(appRoot, 'assets'),
      logDir: () => logFolder(log),
    },
    platform: process.platform,
    argv: process.argv,
    env: process.env,
    homeDir: os.homedir(),
    appVersion: electron.app.getVersion(),
  }).catch((e: unknown) => {
    logger.error('tray app failed to start', { error: e instanceof Error ? e.message : String(e) });
  });
}
