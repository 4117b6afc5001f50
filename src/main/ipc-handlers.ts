/**
 * The main side of the bridge. Every call is checked twice before it is served:
 *
 * 1. who sent it (Electron checklist item 17): `event.senderFrame` must exist (it is
 *    null once the frame navigated or was destroyed), be the status window's main frame
 *    (not a subframe, not another window), and show a page of the app's own origin
 *    (vigil://app);
 * 2. what it carries: the arguments must match the shared zod schema (src/shared/ipc.ts).
 *
 * A refused or malformed call is logged and answered with a refusal value; it never
 * throws into Electron and never reaches the agent.
 */
import type { IpcMain, IpcMainInvokeEvent, WebFrameMain } from 'electron';
import { IPC, IpcRequestSchemas, REFUSED, type ActionResult, type GetStateResult, type InvokeChannel } from '../shared/ipc.js';
import type { AgentState } from '../shared/agent-state.js';
import type { Logger } from '../core/logging/logger.js';
import { isAppOriginUrl } from './app-protocol.js';

type FrameLike = Pick<WebFrameMain, 'url' | 'parent' | 'processId' | 'routingId'>;

/** Null when the sender may call the bridge; otherwise the reason for the log. */
export function senderProblem(senderFrame: FrameLike | null, statusFrame: FrameLike | null): string | null {
  if (!senderFrame) return 'no sender frame (navigated or destroyed)';
  if (!statusFrame) return 'no status window is open';
  if (senderFrame.parent !== null) return 'sender is a subframe';
  const same = senderFrame === statusFrame || (senderFrame.processId === statusFrame.processId && senderFrame.routingId === statusFrame.routingId);
  if (!same) return 'sender is not the status window';
  if (!isAppOriginUrl(senderFrame.url)) return 'sender is not on the app origin';
  return null;
}

export interface IpcServices {
  statusFrame(): WebFrameMain | null;
  getState(): AgentState | null;
  checkNow(): Promise<ActionResult>;
  openLogs(): Promise<ActionResult>;
  openAdviceLink(findingId: string, linkIndex: number): Promise<ActionResult>;
  logger: Logger;
}

type Handler = (args: unknown[]) => Promise<unknown> | unknown;

/** Registers the handlers; returns the function that removes them. */
export function registerIpcHandlers(ipcMain: Pick<IpcMain, 'handle' | 'removeHandler'>, svc: IpcServices): () => void {
  const { logger } = svc;
  const register = (channel: InvokeChannel, refusal: unknown, serve: Handler) => {
    ipcMain.handle(channel, async (event: IpcMainInvokeEvent, ...args: unknown[]) => {
      let frame: WebFrameMain | null = null;
      try {
        frame = event.senderFrame;
      } catch {
        frame = null;
      }
      const problem = senderProblem(frame, svc.statusFrame());
      if (problem) {
        logger.warn('ipc call refused', { channel, reason: problem, url: frame?.url?.slice(0, 200) });
        return refusal;
      }
      const parsed = IpcRequestSchemas[channel].safeParse(args);
      if (!parsed.success) {
        logger.warn('ipc call with invalid arguments refused', { channel, issues: parsed.error.issues.length });
        return refusal;
      }
      try {
        return await serve(parsed.data as unknown[]);
      } catch (e) {
        logger.error('ipc handler failed', { channel, error: e instanceof Error ? e.message : String(e) });
        return refusal === null ? null : ({ ok: false, error: 'internal error' } satisfies ActionResult);
      }
    });
  };

  const refusedState: GetStateResult = null;
  register(IPC.getState, refusedState, () => svc.getState());
  register(IPC.checkNow, REFUSED, () => svc.checkNow());
  register(IPC.openLogs, REFUSED, () => svc.openLogs());
  register(IPC.openAdviceLink, REFUSED, ([id, index]) => svc.openAdviceLink(String(id), Number(index)));

  return () => {
    for (const ch of [IPC.getState, IPC.checkNow, IPC.openLogs, IPC.openAdviceLink]) ipcMain.removeHandler(ch);
  };
}
