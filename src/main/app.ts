/**
 * The tray app: wires Electron to the headless agent. Everything it decides is in the
 * small modules it imports; this file only connects them, in the order Electron needs:
 *
 * before `ready` (synchronously, in the first tick): sandbox every renderer, register the
 *   vigil:// scheme, take the single-instance lock, install the global handlers;
 * after `ready`: harden the session, serve vigil://, start the agent with net.fetch as
 *   its transport (system proxy, PAC, OS certificate store), create the tray, register
 *   the IPC handlers, apply autostart, open the window when the user needs it.
 *
 * Nothing here lets an error escape into Electron: a failing agent, tray, notification
 * or IPC call is logged and the app carries on (grey icon, window still reachable).
 */
import type { ProxySetting } from '../core/config/schema.js';
import { applyProxySetting } from './proxy-session.js';
import { safeStorageSealer } from './safe-storage-sealer.js';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import type { AgentState } from '../shared/agent-state.js';
import type { ActionResult } from '../shared/ipc.js';
import type { Logger } from '../core/logging/logger.js';
import { AgentUnavailableError, type AgentFactory, type AgentHandle } from './agent-handle.js';
import type { ElectronApi } from './electron-api.js';
import type { TraySettings } from './settings.js';
import { adviceLinkUrl } from './advice-links.js';
import { APP_SCHEME, STATUS_PAGE_URL, createAppProtocolHandler } from './app-protocol.js';
import { applyAutostart, nodeAutostartFs, planAutostart, type AutostartIo } from './autostart.js';
import { registerIpcHandlers } from './ipc-handlers.js';
import { AUTOSTART_ARG, consumeFirstRun, shouldShowWindowAtStart, startedAtLogin, type FirstRunFs } from './launch-intent.js';
import { WorseNotifier, type NotificationContent } from './notify-on-worse.js';
import { createStateGuard } from './state-guard.js';
import { aboutText, type MenuAction } from './status-menu.js';
import { StatusWindow } from './status-window.js';
import { TrayController } from './tray-controller.js';
import type { TimeFormatter } from './tray-icon-state.js';
import { createStatusBrowserWindow, hardenSession, hardenWebContents, registerAppScheme } from './window-security.js';

export const APP_ID = 'com.vigil.agent';
const STOP_TIMEOUT_MS = 5000;

export interface TrayAppPaths {
  /** Folder served as vigil://app/ (the built renderer). */
  rendererDir: string;
  /** The sandboxed preload, compiled to CommonJS. */
  preloadPath: string;
  /** Folder holding tray/ and app icons. */
  assetsDir: string;
  /** Where "Open log folder" goes; resolved lazily (electron-log knows it after ready). */
  logDir: () => string;
}

export interface TrayAppOptions {
  electron: ElectronApi;
  agentFactory: AgentFactory;
  settings: TraySettings;
  /** The agent settings' proxy (default `system`), applied to the session before the agent starts. */
  proxy?: ProxySetting;
  logger: Logger;
  paths: TrayAppPaths;
  platform: NodeJS.Platform;
  argv: readonly string[];
  env: Record<string, string | undefined>;
  homeDir: string;
  appVersion: string;
  readFile?: (file: string) => Promise<Uint8Array>;
  autostartFs?: Pick<AutostartIo, 'writeFile' | 'removeFile'>;
  firstRunFs?: FirstRunFs;
  formatTime?: TimeFormatter;
}

export interface TrayApp {
  readonly window: StatusWindow;
  readonly tray: TrayController;
  /** False when the tray could not be created (the window is then the way in). */
  readonly trayAvailable: boolean;
  state(): AgentState | null;
  checkNow(): Promise<ActionResult>;
}

const message = (e: unknown) => (e instanceof Error ? e.message : String(e));

/**
 * Starts the app. Resolves to null when another instance already runs (this one then
 * quits after handing its launch to the first, which shows its window).
 */
export async function startTrayApp(o: TrayAppOptions): Promise<TrayApp | null> {
  const { electron, logger, settings } = o;
  const { app } = electron;

  // ---- before ready -------------------------------------------------------------
  app.enableSandbox();
  registerAppScheme(electron.protocol);
  if (!app.requestSingleInstanceLock()) {
    logger.info('another instance is running; handing over and quitting');
    app.quit();
    return null;
  }

  const window = new StatusWindow({
    url: STATUS_PAGE_URL,
    logger,
    create: () =>
      createStatusBrowserWindow(electron.BrowserWindow, {
        preloadPath: o.paths.preloadPath,
        iconPath: path.join(o.paths.assetsDir, o.platform === 'win32' ? 'app/vigil.ico' : 'app/vigil-256.png'),
        isPackaged: app.isPackaged,
      }),
  });

  app.on('second-instance', (_event, argv) => {
    // Launching Vigil again is how the window is reached where there is no tray. A
    // duplicate autostart entry at login (per-user + per-machine) must not pop it up.
    if (!argv.includes(AUTOSTART_ARG)) window.show();
  });
  app.on('web-contents-created', (_event, contents) => hardenWebContents(contents, logger));
  // A tray app keeps running with no window open.
  app.on('window-all-closed', () => {});

  let agent: AgentHandle | null = null;
  let current: AgentState | null = null;
  let unsubscribe: () => void = () => {};
  let removeIpc: () => void = () => {};
  let stopped = false;
  let stopping = false;

  const tray = new TrayController({
    electron,
    assetsDir: o.paths.assetsDir,
    platform: o.platform,
    policy: { allowQuit: settings.allowQuit },
    onAction: (a) => onMenu(a),
    onClick: () => window.show(),
    ...(o.formatTime ? { formatTime: o.formatTime } : {}),
    logger,
  });

  let closeProxy: () => Promise<void> = async () => {};
  const shutdown = async () => {
    unsubscribe();
    removeIpc();
    tray.destroy();
    if (agent) {
      const a = agent;
      await Promise.race([
        a.stop().catch((e: unknown) => logger.error('agent stop failed', { error: message(e) })),
        new Promise((r) => setTimeout(r, STOP_TIMEOUT_MS)),
      ]);
    }
    // After the agent's last flush: the proxy connections it may have used.
    await closeProxy().catch(() => undefined);
  };
  app.on('before-quit', (event) => {
    if (stopped) return;
    event.preventDefault();
    if (stopping) return;
    stopping = true;
    logger.info('quitting');
    void shutdown().finally(() => {
      stopped = true;
      app.quit();
    });
  });

  const checkNow = async (): Promise<ActionResult> => {
    if (!agent) return { ok: false, error: 'The checker is not running. Details are in the log.' };
    try {
      await agent.checkNow();
      return { ok: true };
    } catch (e) {
      if (e instanceof AgentUnavailableError) return { ok: false, error: e.userMessage };
      logger.error('check now failed', { error: message(e) });
      return { ok: false, error: 'The check could not run. Details are in the log.' };
    }
  };

  const openLogs = async (): Promise<ActionResult> => {
    try {
      // The service's log is not readable by the user: fetch its recent entries first. The
      // folder opens anyway if that fails (the tray's own log is there).
      await agent?.collectLogs?.(o.paths.logDir()).catch((e: unknown) => logger.warn('the service log could not be fetched', { error: message(e) }));
      const err = await electron.shell.openPath(o.paths.logDir());
      if (err) {
        logger.warn('could not open the log folder', { error: err });
        return { ok: false, error: 'The log folder could not be opened.' };
      }
      return { ok: true };
    } catch (e) {
      logger.warn('could not open the log folder', { error: message(e) });
      return { ok: false, error: 'The log folder could not be opened.' };
    }
  };

  const openAdviceLink = async (findingId: string, index: number): Promise<ActionResult> => {
    const url = adviceLinkUrl(current, findingId, index);
    if (!url) return { ok: false, error: 'That link cannot be opened.' };
    try {
      // Only an https address from the pack's own advice (advice-links.ts).
      await electron.shell.openExternal(url); // eng-disable OPEN_EXTERNAL_JS_CHECK
      return { ok: true };
    } catch (e) {
      logger.warn('could not open advice link', { error: message(e) });
      return { ok: false, error: 'The link could not be opened.' };
    }
  };

  const showAbout = () => {
    const { message: msg, detail } = aboutText(current, o.appVersion);
    electron.dialog
      .showMessageBox({ type: 'info', title: 'About Vigil', message: msg, detail, buttons: ['OK'], noLink: true })
      .catch((e: unknown) => logger.warn('about dialog failed', { error: message(e) }));
  };

  function onMenu(action: MenuAction): void {
    switch (action) {
      case 'check-now':
        void checkNow();
        break;
      case 'open-status':
        window.show();
        break;
      case 'open-logs':
        void openLogs();
        break;
      case 'about':
        showAbout();
        break;
      case 'quit':
        // The entry exists only when policy allows it; check again all the same.
        if (settings.allowQuit) app.quit();
        break;
    }
  }

  const notifier = new WorseNotifier();
  // Shown notifications stay referenced until closed, or their click handler is collected.
  const live = new Set<{ close(): void }>();
  const notify = (n: NotificationContent) => {
    try {
      if (!electron.Notification.isSupported()) {
        logger.info('desktop notifications not supported here', { status: n.status });
        return;
      }
      const notification = new electron.Notification({
        title: n.title,
        body: n.body,
        urgency: n.urgency,
        icon: path.join(o.paths.assetsDir, `tray/${n.status}-48@2x.png`),
        timeoutType: n.status === 'compromised' ? 'never' : 'default',
      });
      notification.on('click', () => window.show());
      notification.on('close', () => live.delete(notification));
      notification.show();
      live.add(notification);
      logger.info('notified', { status: n.status });
    } catch (e) {
      logger.warn('notification failed', { error: message(e) });
    }
  };

  const guard = createStateGuard(logger);
  const onState = (raw: unknown) => {
    const next = guard(raw);
    const before = current?.status;
    current = next;
    tray.update(next);
    if (next) window.send(next);
    if (next && next.status !== before) logger.info('status changed', { from: before ?? 'none', to: next.status });
    if (next && settings.notifications) {
      const n = notifier.observe(next);
      if (n) notify(n);
    }
  };

  // ---- after ready --------------------------------------------------------------
  await app.whenReady();
  if (o.platform === 'win32') app.setAppUserModelId(APP_ID);
  if (o.platform === 'darwin') app.dock?.hide();

  hardenSession(electron.session.defaultSession);
  const readFile = o.readFile ?? ((f: string) => fsp.readFile(f));
  electron.protocol.handle(APP_SCHEME, createAppProtocolHandler({ rendererDir: o.paths.rendererDir, readFile, logger }));

  const trayAvailable = tray.create(null);

  removeIpc = registerIpcHandlers(electron.ipcMain, {
    statusFrame: () => window.mainFrame(),
    getState: () => current,
    checkNow,
    openLogs,
    openAdviceLink,
    logger,
  });

  try {
    const proxy = await applyProxySetting(electron.session.defaultSession, o.proxy ?? 'system', logger);
    closeProxy = proxy.close;
    const sealing = await safeStorageSealer(electron.safeStorage, o.platform);
    if (!sealing.sealer) logger.info('device credential kept as an owner-only file', { why: sealing.why });
    agent = await o.agentFactory({
      transport: (input, init) => electron.net.fetch(input, init),
      ...(proxy.fetch ? { fetch: proxy.fetch } : {}),
      ...(sealing.sealer ? { credentialSealer: sealing.sealer } : {}),
      logger: logger.child({ component: 'agent' }),
    });
    const a = agent;
    unsubscribe = a.onState((s) => onState(s));
    onState(a.getState());
  } catch (e) {
    logger.error('the agent could not start', { error: message(e) });
    agent = null;
    onState(null);
  }

  const autostart = applyAutostart(
    planAutostart({
      platform: o.platform,
      mode: settings.autostart,
      isPackaged: app.isPackaged,
      execPath: app.getPath('exe'),
      env: o.env,
      homeDir: o.homeDir,
    }),
    { setLoginItemSettings: (s) => app.setLoginItemSettings(s), ...(o.autostartFs ?? nodeAutostartFs) },
  );
  if (autostart.ok) logger.info('autostart', { plan: autostart.plan });
  else logger.warn('autostart could not be set', { plan: autostart.plan, error: autostart.error });

  const firstRun = consumeFirstRun(app.getPath('userData'), o.firstRunFs);
  const atLogin = startedAtLogin(o.argv, o.platform === 'darwin' ? app.getLoginItemSettings().wasOpenedAtLogin : false);
  if (!trayAvailable || shouldShowWindowAtStart({ firstRun, atLogin })) window.show();
  logger.info('tray app started', { version: o.appVersion, firstRun, atLogin, trayAvailable, allowQuit: settings.allowQuit });

  return {
    window,
    tray,
    trayAvailable,
    state: () => current,
    checkNow,
  };
}
