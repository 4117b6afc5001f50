/**
 * The slice of the headless agent (src/core/agent.ts) that the tray app consumes.
 *
 * The main process is written against this interface only, so that it can be tested
 * with a small in-memory agent and bound to the real one in one place (main.ts).
 */
import type { AgentState } from '../shared/agent-state.js';
import type { FetchLike } from '../core/report/transport.js';
import type { SecretSealer } from '../core/report/credential-store.js';
import type { Logger } from '../core/logging/logger.js';

export interface AgentHandle {
  getState(): AgentState;
  /** Calls `cb` with every new state; returns the function that unsubscribes. */
  onState(cb: (state: AgentState) => void): () => void;
  /**
   * Runs a scan now (coalesced with one already running). Rejects with
   * AgentUnavailableError when there is no agent to run, otherwise only on a bug.
   */
  checkNow(): Promise<void>;
  /** Stops the schedule, the connection watch and the reporter; flushes the outbox. */
  stop(): Promise<void>;
  /**
   * Puts what this agent has to show into the log folder before it is opened (the
   * machine service's recent log, which the user cannot read where it is kept).
   */
  collectLogs?(dir: string): Promise<void>;
}

/** The fetch-shaped transport the reporter uses; the tray app passes Electron's net.fetch. */
export type Transport = (input: string | Request, init?: RequestInit) => Promise<Response>;

export interface AgentStartOptions {
  transport: Transport;
  /** Replaces the transport for the reporter (a proxy URL with credentials: proxy-session.ts). */
  fetch?: FetchLike;
  /** Seals the device secret (Electron's safeStorage: safe-storage-sealer.ts). */
  credentialSealer?: SecretSealer;
  logger: Logger;
}

/** Creates and starts the agent. Called once, after Electron's `ready` (net.fetch needs it). */
export type AgentFactory = (opts: AgentStartOptions) => AgentHandle | Promise<AgentHandle>;

/**
 * Thrown by `checkNow` when there is no agent to run (settings that cannot be used, an
 * agent that could not start). `userMessage` is a plain sentence for the status window.
 */
export class AgentUnavailableError extends Error {
  constructor(readonly userMessage: string) {
    super(userMessage);
    this.name = 'AgentUnavailableError';
  }
}
