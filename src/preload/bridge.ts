/**
 * The bridge object the status window gets as `window.vigil`.
 *
 * It is built from named functions over a handful of fixed channels; `ipcRenderer`
 * itself, the IPC event (whose `sender` is ipcRenderer) and channel names chosen by the
 * page never cross into the renderer (Electron checklist item 20). Arguments are coerced
 * to the expected primitive types here, and validated again on the main side, which is
 * the check that counts.
 */
import type { IpcRenderer, IpcRendererEvent } from 'electron';
import type { AgentState } from '../shared/agent-state.js';
import { IPC, type ActionResult, type GetStateResult, type VigilBridge } from '../shared/ipc.js';

export type BridgeIpc = Pick<IpcRenderer, 'invoke' | 'on' | 'removeListener'>;

export function createBridge(ipc: BridgeIpc): VigilBridge {
  const bridge: VigilBridge = {
    getState: () => ipc.invoke(IPC.getState) as Promise<GetStateResult>,
    onState: (cb) => {
      if (typeof cb !== 'function') return () => {};
      const listener = (_event: IpcRendererEvent, state: AgentState) => {
        cb(state);
      };
      ipc.on(IPC.state, listener);
      let subscribed = true;
      return () => {
        if (!subscribed) return;
        subscribed = false;
        ipc.removeListener(IPC.state, listener);
      };
    },
    checkNow: () => ipc.invoke(IPC.checkNow) as Promise<ActionResult>,
    openLogs: () => ipc.invoke(IPC.openLogs) as Promise<ActionResult>,
    openAdviceLink: (findingId, linkIndex) => ipc.invoke(IPC.openAdviceLink, String(findingId), Number(linkIndex)) as Promise<ActionResult>,
  };
  return Object.freeze(bridge);
}
