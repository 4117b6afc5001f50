/**
 * The tray as a window onto the machine agent (the Vigil service): an AgentHandle over the
 * local channel (src/core/local-channel/channel-client.ts). It shows the service's state,
 * as redacted for this user by the service, asks it for "Check now" and for its recent log.
 * It never starts an agent of its own: when the service cannot be reached the tray is grey
 * and says what to tell IT, and it reconnects by itself when the service is back.
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import type { Logger } from '../core/logging/logger.js';
import { AGENT_VERSION } from '../core/version.js';
import { ChannelRequestError, ChannelUnavailableError, LocalChannelClient, type ChannelStatus } from '../core/local-channel/channel-client.js';
import type { MachineState, PeerClaim } from '../shared/local-channel.js';
import type { AgentState } from '../shared/agent-state.js';
import { AgentUnavailableError, type AgentFactory, type AgentHandle } from './agent-handle.js';
import { toTrayState, unavailableTrayState } from './agent-state-map.js';

export interface ServiceAgentOptions {
  endpoint: string;
  claim: () => Promise<PeerClaim>;
  readSecret: (file: string) => Promise<string>;
  hostname: string;
  tenant?: string;
  now?: () => Date;
  retryMs?: number;
  maxRetryMs?: number;
}

/** The sentence shown while the service cannot be reached. */
export function serviceDownReason(hostname: string, detail: string): string {
  return `Vigil is not checking this PC: ${detail}. Tell your IT provider “the Vigil service is not running on ${hostname}”.`;
}

export const SERVICE_LOG_FILE = 'vigil-service.log';

export function createServiceAgentFactory(o: ServiceAgentOptions): AgentFactory {
  return async ({ logger }) => {
    const handle = new ServiceAgentHandle(o, logger);
    await handle.start();
    return handle;
  };
}

class ServiceAgentHandle implements AgentHandle {
  private readonly client: LocalChannelClient;
  private readonly listeners = new Set<(s: AgentState) => void>();
  private down = 'connecting to the Vigil service';
  private readonly now: () => Date;

  constructor(
    private readonly o: ServiceAgentOptions,
    private readonly log: Logger,
  ) {
    this.now = o.now ?? (() => new Date());
    this.client = new LocalChannelClient({
      path: o.endpoint,
      claim: o.claim,
      readSecret: o.readSecret,
      logger: log.child({ component: 'service-client' }),
      onState: () => this.emit(),
      onStatus: (s) => this.onStatus(s),
      ...(o.retryMs !== undefined ? { retryMs: o.retryMs } : {}),
      ...(o.maxRetryMs !== undefined ? { maxRetryMs: o.maxRetryMs } : {}),
    });
  }

  start(): Promise<void> {
    return this.client.start();
  }

  getState(): AgentState {
    const s = this.client.state();
    if (!this.client.connected() || !s) return this.unavailable();
    try {
      return trayStateFromService(s, this.now());
    } catch (e) {
      this.log.error('the service state could not be mapped for the tray', { problem: (e as Error).message.slice(0, 500) });
      return unavailableTrayState('Vigil could not read the service’s state. Details are in the log.', { agentVersion: AGENT_VERSION, hostname: this.o.hostname, packs: [] });
    }
  }

  onState(cb: (state: AgentState) => void): () => void {
    this.listeners.add(cb);
    return () => this.listeners.delete(cb);
  }

  async checkNow(): Promise<void> {
    try {
      await this.client.checkNow();
    } catch (e) {
      if (e instanceof ChannelUnavailableError) throw new AgentUnavailableError(serviceDownReason(this.o.hostname, this.down));
      if (e instanceof ChannelRequestError) throw new AgentUnavailableError(`The Vigil service did not run the check: ${e.message}.`);
      throw e;
    }
  }

  /** Puts the service's recent log next to the tray's own before the folder opens. */
  async collectLogs(dir: string): Promise<void> {
    const entries = await this.client.openLogs();
    const text = entries.map((e) => `${e.at} ${e.level.toUpperCase()} ${e.msg}`).join('\n') + '\n';
    await fsp.mkdir(dir, { recursive: true });
    await fsp.writeFile(path.join(dir, SERVICE_LOG_FILE), text);
  }

  stop(): Promise<void> {
    return this.client.stop();
  }

  private unavailable(): AgentState {
    return unavailableTrayState(serviceDownReason(this.o.hostname, this.down), {
      agentVersion: AGENT_VERSION,
      hostname: this.o.hostname,
      packs: [],
      ...(this.o.tenant ? { tenant: this.o.tenant } : {}),
    });
  }

  private onStatus(s: ChannelStatus): void {
    if (!s.connected) this.down = s.reason;
    this.emit();
  }

  private emit(): void {
    const state = this.getState();
    for (const l of [...this.listeners]) l(state);
  }
}

/**
 * The service's state in the tray's terms: the same mapping as the in-process agent
 * (agent-state-map.ts), with the service's own facts as the context.
 */
export function trayStateFromService(s: MachineState, now: Date): AgentState {
  return toTrayState(s, {
    now,
    startedAt: new Date(s.service.startedAt),
    staleAfterMs: s.service.staleAfterMs,
    agentVersion: s.service.agentVersion,
    hostname: s.service.hostname,
    packs: s.packs,
    ...(s.service.tenant ? { tenant: s.service.tenant } : {}),
  });
}
