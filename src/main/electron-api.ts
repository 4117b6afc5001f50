/**
 * The parts of Electron the shell uses, as one injectable object.
 *
 * main.ts passes the real `electron` module (so tsc checks every use against
 * electron.d.ts); tests pass a recording fake. No module in src/main other than main.ts
 * imports `electron` at run time: type-only imports are erased, which is what lets the
 * whole shell run under Node in tests, where Electron's binary does not exist.
 */
export type ElectronApi = Pick<
  typeof import('electron'),
  'app' | 'BrowserWindow' | 'Tray' | 'Menu' | 'Notification' | 'ipcMain' | 'nativeImage' | 'shell' | 'protocol' | 'session' | 'net' | 'dialog' | 'safeStorage'
>;
