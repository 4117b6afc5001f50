/**
 * Electron's security checklist, applied in code (docs/SECURITY.md maps each item).
 *
 * - `registerAppScheme` (before `ready`): the vigil:// scheme is standard and secure, so
 *   the page gets a real origin (vigil://app) and a secure context without file://.
 * - `createStatusBrowserWindow`: the window and its webPreferences, every relevant one
 *   explicit even where it is Electron's default, so a reader (and electronegativity) sees it.
 * - `hardenWebContents` (for every webContents, from `web-contents-created`): no
 *   navigation, no redirects, no new windows, no <webview>.
 * - `hardenSession`: deny every permission request and check; the page needs none
 *   (notifications are shown by the main process).
 */
import type { BrowserWindow, BrowserWindowConstructorOptions, Protocol, Session, WebContents } from 'electron';
import type { Logger } from '../core/logging/logger.js';
import { APP_SCHEME } from './app-protocol.js';

export function registerAppScheme(protocol: Pick<Protocol, 'registerSchemesAsPrivileged'>): void {
  protocol.registerSchemesAsPrivileged([
    {
      scheme: APP_SCHEME,
      // standard: a real origin and relative URL resolution; secure: treated like https.
      // No bypassCSP, no corsEnabled, no fetch/stream/service-worker privileges.
      privileges: { standard: true, secure: true },
    },
  ]);
}

export interface StatusWindowParams {
  preloadPath: string;
  iconPath?: string;
  /** DevTools only in development builds (app.isPackaged false). */
  isPackaged: boolean;
}

type BrowserWindowCtor = new (options: BrowserWindowConstructorOptions) => BrowserWindow;

/**
 * Creates the status window. The options are written out literally in the
 * `new BrowserWindow({...})` call, every relevant webPreference explicit even where it is
 * Electron's default, so that readers and electronegativity (which only inspects such
 * literals) see exactly what the window runs with.
 */
export function createStatusBrowserWindow(BrowserWindow: BrowserWindowCtor, p: StatusWindowParams): BrowserWindow {
  return new BrowserWindow({
    width: 720,
    height: 640,
    minWidth: 420,
    minHeight: 360,
    show: false,
    title: 'Vigil',
    autoHideMenuBar: true,
    ...(p.iconPath ? { icon: p.iconPath } : {}),
    webPreferences: {
      // The one bridge (src/preload): contextBridge only, a handful of named calls.
      preload: p.preloadPath, // eng-disable PRELOAD_JS_CHECK
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      experimentalFeatures: false,
      webviewTag: false,
      disableBlinkFeatures: 'Auxclick',
      navigateOnDragDrop: false,
      spellcheck: false,
      safeDialogs: true,
      devTools: !p.isPackaged,
    },
  });
}

type HardenableContents = Pick<WebContents, 'on' | 'setWindowOpenHandler'>;

export function hardenWebContents(contents: HardenableContents, logger: Logger): void {
  // Item 13: the status window never navigates, not even within its own origin
  // (it is one page; reloading it is done by the main process if ever needed).
  contents.on('will-navigate', (event, url) => {
    event.preventDefault();
    logger.warn('blocked navigation', { url: String(url).slice(0, 200) });
  });
  contents.on('will-redirect', (event, url) => {
    event.preventDefault();
    logger.warn('blocked redirect', { url: String(url).slice(0, 200) });
  });
  // Item 11/12: no <webview>, whatever its options.
  contents.on('will-attach-webview', (event) => {
    event.preventDefault();
    logger.warn('blocked webview');
  });
  // Item 14: no new windows; links the user may follow go through the bridge.
  contents.setWindowOpenHandler((details) => {
    logger.warn('blocked new window', { url: details.url.slice(0, 200) });
    return { action: 'deny' };
  });
}

type HardenableSession = Pick<Session, 'setPermissionRequestHandler' | 'setPermissionCheckHandler' | 'setDevicePermissionHandler'>;

export function hardenSession(session: HardenableSession): void {
  // Item 5: Electron grants every permission unless told otherwise.
  session.setPermissionRequestHandler((_contents, _permission, callback) => callback(false));
  session.setPermissionCheckHandler(() => false);
  session.setDevicePermissionHandler(() => false);
}
