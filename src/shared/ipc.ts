/**
 * The IPC contract between the status window and the Electron main process.
 *
 * The preload bridge (src/preload) is the only code that talks IPC; it exposes the
 * `VigilBridge` below as `window.vigil`. The main process (src/main/ipc-handlers.ts)
 * validates every request against these schemas, after it has checked who sent it.
 *
 * Requests carry their arguments as a tuple (what `ipcRenderer.invoke(channel, ...args)`
 * delivers), so the schemas are tuples too. Responses are values, never thrown errors:
 * an exception crossing IPC loses its type and leaks main-process details into the page.
 */
import { z } from 'zod';
import type { AgentState } from './agent-state.js';

/** Channel names. Renderer → main calls use `invoke`; `state` is main → renderer. */
export const IPC = {
  getState: 'vigil:get-state',
  checkNow: 'vigil:check-now',
  openLogs: 'vigil:open-logs',
  openAdviceLink: 'vigil:open-advice-link',
  /** Pushed by the main process whenever the agent's state changes. */
  state: 'vigil:state',
} as const;
export type InvokeChannel = (typeof IPC)[Exclude<keyof typeof IPC, 'state'>];

/**
 * Arguments per invoke channel. Extra or wrong-typed arguments are refused.
 *
 * The schemas are built inside functions marked pure, so that a bundle that needs only
 * the channel names (the preload) drops them, and zod with them: the sandboxed preload
 * stays a few hundred bytes.
 */
export const IpcRequestSchemas = /* @__PURE__ */ requestSchemas();

function requestSchemas() {
  return {
    [IPC.getState]: z.tuple([]),
    [IPC.checkNow]: z.tuple([]),
    [IPC.openLogs]: z.tuple([]),
    /**
     * Opens one of the links that a pack's advice carries, named by finding id and link
     * index, never by URL: the page cannot make the main process open an arbitrary address.
     */
    [IPC.openAdviceLink]: z.tuple([z.string().regex(/^[0-9a-f]{16,64}$/), z.number().int().min(0).max(31)]),
  } satisfies Record<InvokeChannel, z.ZodType>;
}

/** The outcome of an action: ok, or a plain-language reason the window can show. */
export const ActionResultSchema = /* @__PURE__ */ z.discriminatedUnion('ok', [
  /* @__PURE__ */ z.object({ ok: /* @__PURE__ */ z.literal(true) }),
  /* @__PURE__ */ z.object({ ok: /* @__PURE__ */ z.literal(false), error: /* @__PURE__ */ z.string() }),
]);
export type ActionResult = z.infer<typeof ActionResultSchema>;

/** `getState` answers with the state, or with null when the agent has not started yet. */
export type GetStateResult = AgentState | null;

/** What the preload exposes as `window.vigil`. Nothing else crosses the boundary. */
export interface VigilBridge {
  getState(): Promise<GetStateResult>;
  /** Calls `cb` on every state change; returns the function that unsubscribes. */
  onState(cb: (state: AgentState) => void): () => void;
  checkNow(): Promise<ActionResult>;
  openLogs(): Promise<ActionResult>;
  openAdviceLink(findingId: string, linkIndex: number): Promise<ActionResult>;
}

/** A refusal, as the main process answers a call it would not serve. */
export const REFUSED: ActionResult = { ok: false, error: 'refused' };
