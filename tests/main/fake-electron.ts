/**
 * A recording stand-in for the `electron` module, for tests that run the main process
 * under plain Node (Electron's binary cannot be downloaded on the test machine).
 *
 * It implements just what src/main uses, with Electron's observable behaviour where the
 * shell depends on it: `whenReady` resolves when the test says so, creating a
 * BrowserWindow emits `web-contents-created`, loading a URL sets the main frame's URL
 * and then emits `ready-to-show`, `ipcMain.handle` stores handlers the test can invoke
 * with a chosen sender frame, `app.quit()` emits `before-quit` (which may be prevented).
 * Every call is appended to `calls`, in order.
 */
import { aesSealer } from '../helpers/aes-sealer.js';
import { EventEmitter } from 'node:events';
import { existsSync } from 'node:fs';
import type { ElectronApi } from '../../src/main/electron-api.js';

export interface Call {
  api: string;
  method: string;
  args: unknown[];
}

export interface FakeFrame {
  url: string;
  parent: FakeFrame | null;
  processId: number;
  routingId: number;
}

let nextRouting = 1;
export function makeFrame(url: string, parent: FakeFrame | null = null, processId = 100): FakeFrame {
  return { url, parent, processId, routingId: nextRouting++ };
}

export interface FakeEvent {
  defaultPrevented: boolean;
  preventDefault(): void;
}
export const makeEvent = (): FakeEvent => ({
  defaultPrevented: false,
  preventDefault() {
    this.defaultPrevented = true;
  },
});

export interface FakeElectronOptions {
  singleInstanceLock?: boolean;
  isPackaged?: boolean;
  paths?: Record<string, string>;
  trayThrows?: boolean;
  notificationsSupported?: boolean;
  /**
   * What net.fetch does after recording the call (e.g. the real fetch to a loopback
   * backend); by default every request gets 200 {"ok":true}.
   */
  netFetch?: (input: string | Request, init?: RequestInit) => Promise<Response>;
  /** session.setProxy rejects (a proxy rule Chromium does not accept). */
  setProxyFails?: boolean;
  /**
   * safeStorage: seals with AES-GCM under `key` (one key per user and machine), available
   * unless said otherwise; `backend` is what Linux reports.
   */
  safeStorage?: { key?: Buffer; available?: boolean; backend?: 'basic_text' | 'gnome_libsecret' | 'unknown' };
}

export function createFakeElectron(opts: FakeElectronOptions = {}) {
  const calls: Call[] = [];
  const record = (api: string, method: string, args: unknown[]) => calls.push({ api, method, args });

  let readyResolve!: () => void;
  const readyPromise = new Promise<void>((r) => (readyResolve = r));
  let isReady = false;

  const app = Object.assign(new EventEmitter(), {
    isPackaged: opts.isPackaged ?? false,
    dock: undefined,
    enableSandbox: () => record('app', 'enableSandbox', [isReady]),
    requestSingleInstanceLock: () => {
      record('app', 'requestSingleInstanceLock', []);
      return opts.singleInstanceLock ?? true;
    },
    whenReady: () => readyPromise,
    isReady: () => isReady,
    quit: () => {
      record('app', 'quit', []);
      const e = makeEvent();
      app.emit('before-quit', e);
      if (!e.defaultPrevented) app.emit('will-quit-done');
    },
    exit: (code = 0) => record('app', 'exit', [code]),
    getPath: (name: string) => opts.paths?.[name] ?? `/tmp/vigil-fake/${name}`,
    getVersion: () => '0.1.0',
    getAppPath: () => '/tmp/vigil-fake/app',
    setAppUserModelId: (id: string) => record('app', 'setAppUserModelId', [id]),
    setLoginItemSettings: (s: unknown) => record('app', 'setLoginItemSettings', [s]),
    getLoginItemSettings: () => ({ wasOpenedAtLogin: false, openAtLogin: false }),
  });

  class FakeWebContents extends EventEmitter {
    mainFrame: FakeFrame = makeFrame('about:blank');
    sent: { channel: string; args: unknown[] }[] = [];
    windowOpenHandler: ((d: { url: string }) => { action: string }) | null = null;
    send(channel: string, ...args: unknown[]) {
      this.sent.push({ channel, args });
      record('webContents', 'send', [channel, ...args]);
    }
    setWindowOpenHandler(h: (d: { url: string }) => { action: string }) {
      this.windowOpenHandler = h;
    }
  }

  class FakeBrowserWindow extends EventEmitter {
    static instances: FakeBrowserWindow[] = [];
    webContents = new FakeWebContents();
    destroyed = false;
    visible = false;
    minimized = false;
    loadedUrl: string | null = null;
    constructor(public options: Record<string, unknown>) {
      super();
      FakeBrowserWindow.instances.push(this);
      record('BrowserWindow', 'new', [options]);
      app.emit('web-contents-created', makeEvent(), this.webContents);
    }
    loadURL(url: string) {
      record('BrowserWindow', 'loadURL', [url]);
      this.loadedUrl = url;
      this.webContents.mainFrame = makeFrame(url);
      setImmediate(() => this.emit('ready-to-show'));
      return Promise.resolve();
    }
    show() {
      this.visible = true;
      record('BrowserWindow', 'show', []);
    }
    focus() {}
    isMinimized() {
      return this.minimized;
    }
    restore() {
      this.minimized = false;
    }
    isDestroyed() {
      return this.destroyed;
    }
    close() {
      this.destroyed = true;
      this.emit('closed');
    }
  }

  class FakeTray extends EventEmitter {
    static instances: FakeTray[] = [];
    image: { path: string };
    tooltip = '';
    menu: { items: Record<string, unknown>[] } | null = null;
    destroyed = false;
    constructor(image: { path: string }) {
      super();
      if (opts.trayThrows) throw new Error('no StatusNotifierWatcher on the session bus');
      this.image = image;
      FakeTray.instances.push(this);
      record('Tray', 'new', [image.path]);
    }
    setImage(image: { path: string }) {
      this.image = image;
      record('Tray', 'setImage', [image.path]);
    }
    setToolTip(t: string) {
      this.tooltip = t;
      record('Tray', 'setToolTip', [t]);
    }
    setContextMenu(menu: { items: Record<string, unknown>[] }) {
      this.menu = menu;
      record('Tray', 'setContextMenu', [menu.items.map((i) => i.label ?? `(${String(i.type)})`)]);
    }
    isDestroyed() {
      return this.destroyed;
    }
    destroy() {
      this.destroyed = true;
      record('Tray', 'destroy', []);
    }
  }

  const Menu = {
    buildFromTemplate: (items: Record<string, unknown>[]) => {
      record('Menu', 'buildFromTemplate', [items.length]);
      return { items };
    },
  };

  class FakeNotification extends EventEmitter {
    static instances: FakeNotification[] = [];
    static isSupported = () => opts.notificationsSupported ?? true;
    shown = false;
    constructor(public options: { title: string; body: string; urgency?: string }) {
      super();
      FakeNotification.instances.push(this);
      record('Notification', 'new', [options]);
    }
    show() {
      this.shown = true;
      record('Notification', 'show', [this.options.title]);
    }
    close() {
      this.emit('close');
    }
  }

  type Handler = (event: { senderFrame: FakeFrame | null }, ...args: unknown[]) => unknown;
  const handlers = new Map<string, Handler>();
  const ipcMain = {
    handle: (channel: string, fn: Handler) => {
      record('ipcMain', 'handle', [channel]);
      handlers.set(channel, fn);
    },
    removeHandler: (channel: string) => {
      record('ipcMain', 'removeHandler', [channel]);
      handlers.delete(channel);
    },
    /** Test helper: what Electron does when a renderer invokes `channel`. */
    invoke: async (channel: string, senderFrame: FakeFrame | null, ...args: unknown[]) => {
      const h = handlers.get(channel);
      if (!h) throw new Error(`No handler registered for '${channel}'`);
      return h({ senderFrame }, ...args);
    },
    handlers,
  };

  const nativeImage = {
    createFromPath: (p: string) => ({
      path: p,
      isEmpty: () => !existsSync(p),
      setTemplateImage: (_t: boolean) => {},
    }),
  };

  const shell = {
    openPath: async (p: string) => {
      record('shell', 'openPath', [p]);
      return '';
    },
    openExternal: async (u: string) => {
      record('shell', 'openExternal', [u]);
    },
  };

  const protocolHandlers = new Map<string, (req: Request) => Promise<Response> | Response>();
  const protocol = {
    registerSchemesAsPrivileged: (schemes: unknown) => record('protocol', 'registerSchemesAsPrivileged', [schemes, isReady]),
    handle: (scheme: string, h: (req: Request) => Promise<Response> | Response) => {
      record('protocol', 'handle', [scheme]);
      protocolHandlers.set(scheme, h);
    },
    handlers: protocolHandlers,
  };

  const sessionHandlers: Record<string, (...a: unknown[]) => unknown> = {};
  const defaultSession = {
    setPermissionRequestHandler: (h: (...a: unknown[]) => unknown) => (sessionHandlers.request = h),
    setPermissionCheckHandler: (h: (...a: unknown[]) => unknown) => (sessionHandlers.check = h),
    setDevicePermissionHandler: (h: (...a: unknown[]) => unknown) => (sessionHandlers.device = h),
    setProxy: async (config: unknown) => {
      record('session', 'setProxy', [config]);
      if (opts.setProxyFails) throw new Error('invalid proxy rules');
    },
  };

  const fetched: { url: string; init?: RequestInit }[] = [];
  const net = {
    fetch: async (input: string | Request, init?: RequestInit) => {
      const url = typeof input === 'string' ? input : input.url;
      fetched.push({ url, ...(init ? { init } : {}) });
      record('net', 'fetch', [url]);
      if (opts.netFetch) return opts.netFetch(input, init);
      return new Response('{"ok":true}', { status: 200, headers: { 'content-type': 'application/json' } });
    },
  };

  const dialogs: unknown[] = [];
  const dialog = {
    showMessageBox: async (o: unknown) => {
      dialogs.push(o);
      record('dialog', 'showMessageBox', [o]);
      return { response: 0, checkboxChecked: false };
    },
  };

  const sealer = aesSealer(opts.safeStorage?.key);
  const safeStorage = {
    isAsyncEncryptionAvailable: async () => opts.safeStorage?.available ?? true,
    getSelectedStorageBackend: () => opts.safeStorage?.backend ?? 'gnome_libsecret',
    encryptStringAsync: async (plain: string) => {
      record('safeStorage', 'encryptStringAsync', []);
      return sealer.seal(plain);
    },
    decryptStringAsync: async (sealed: Buffer) => {
      record('safeStorage', 'decryptStringAsync', []);
      return { result: sealer.open(sealed), shouldReEncrypt: false };
    },
  };

  const fake = {
    app,
    BrowserWindow: FakeBrowserWindow,
    Tray: FakeTray,
    Menu,
    Notification: FakeNotification,
    ipcMain,
    nativeImage,
    shell,
    protocol,
    session: { defaultSession },
    net,
    dialog,
    safeStorage,
  };

  return {
    fake,
    /** The fake typed as what src/main expects; tsc checks src/main against the real types. */
    electron: fake as unknown as ElectronApi,
    calls,
    fetched,
    dialogs,
    sessionHandlers,
    ready: () => {
      isReady = true;
      readyResolve();
    },
    windows: FakeBrowserWindow.instances,
    trays: FakeTray.instances,
    notifications: FakeNotification.instances,
  };
}

export type FakeElectron = ReturnType<typeof createFakeElectron>;
