/**
 * Preload of the status window. It runs sandboxed (sandbox: true, contextIsolation:
 * true), where a preload cannot be an ES module and `require` knows only a few built-in
 * modules ('electron', 'events', 'timers', 'url'), not other files. So this file is
 * bundled by scripts/build-preload.ts (esbuild) into one CommonJS file,
 * dist/preload/preload.cjs, with the channel names of src/shared/ipc.ts inlined and
 * `electron` left as the only require.
 */
import { contextBridge, ipcRenderer } from 'electron';
import { createBridge } from './bridge.js';

contextBridge.exposeInMainWorld('vigil', createBridge(ipcRenderer));
