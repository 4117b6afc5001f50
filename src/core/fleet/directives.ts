/**
 * The agent's side of the backend's directives (heartbeat response) and their answers
 * (next heartbeat): new packs (through the PackUpdater) and check-now requests. The agent
 * (core/agent.ts) hands every heartbeat response here and asks for the fields to add to
 * the next heartbeat; it knows nothing of packs or requests itself.
 *
 * - A change of the running packs triggers a scan at once (and, through the PackSet, a
 *   refresh of the connection watch), then a heartbeat that carries the new pack list.
 * - A check-now request triggers a scan that starts after it was received; the heartbeat
 *   queued after that scan names the request in `answeredScanRequest`.
 */
import type { HeartbeatResponse } from '../../shared/protocol.js';
import type { PackProblem } from '../../shared/fleet-protocol.js';
import type { DeviceCredential } from '../report/hmac-auth.js';
import type { Logger } from '../logging/logger.js';
import type { PackUpdater } from './pack-updater.js';

export interface FleetHeartbeatFields {
  packProblems?: PackProblem[];
  answeredScanRequest?: string;
}

/** What the agent gives the fleet module: a fresh scan, and "queue a heartbeat now". */
export interface FleetAgentHooks {
  /** Runs a scan that starts after this call (waiting out one already running). */
  scanNow(reason: string): Promise<void>;
  heartbeatNow(): void;
}

/** The fleet module as the agent sees it. */
export interface FleetModule {
  onHeartbeatResponse(res: HeartbeatResponse, cred: DeviceCredential): void;
  heartbeatFields(): FleetHeartbeatFields;
  /** Plain statements for the agent's problems list (status window, heartbeat). */
  problems(): string[];
  stop(): Promise<void>;
}

export interface FleetDirectivesOptions {
  updater: PackUpdater;
  hooks: FleetAgentHooks;
  logger: Logger;
  /** Problems with the kept packs found at start (a damaged file, a withdrawn key). */
  startupProblems?: readonly string[];
}

export class FleetDirectives implements FleetModule {
  private answered: string | undefined;
  /** Requests seen (being scanned for, or answered): a request is acted on once. */
  private readonly seen = new Set<string>();
  private readonly work = new Set<Promise<unknown>>();
  private stopped = false;

  constructor(private readonly o: FleetDirectivesOptions) {}

  onHeartbeatResponse(res: HeartbeatResponse, cred: DeviceCredential): void {
    if (this.stopped) return;
    const before = JSON.stringify(this.o.updater.currentProblems());
    this.track(
      this.o.updater.reconcile(res.packs, cred).then(async (changed) => {
        if (this.stopped) return;
        if (changed) await this.o.hooks.scanNow('a new pack set from the backend');
        if (changed || JSON.stringify(this.o.updater.currentProblems()) !== before) this.o.hooks.heartbeatNow();
      }),
    );
    const req = res.scanRequest;
    if (req && !this.seen.has(req.id)) {
      this.seen.add(req.id);
      this.o.logger.info('the backend asked for a scan now', { requestId: req.id });
      this.track(
        this.o.hooks.scanNow(`check-now request ${req.id}`).then(() => {
          if (this.stopped) return;
          this.answered = req.id;
          this.o.hooks.heartbeatNow();
        }),
      );
    }
  }

  heartbeatFields(): FleetHeartbeatFields {
    const problems = this.o.updater.currentProblems();
    return { ...(problems.length ? { packProblems: [...problems] } : {}), ...(this.answered ? { answeredScanRequest: this.answered } : {}) };
  }

  problems(): string[] {
    return [...(this.o.startupProblems ?? []), ...this.o.updater.currentProblems().map((p) => `pack ${p.id} v${p.version} from the backend: ${p.problem}`)];
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.allSettled([...this.work]);
  }

  private track(p: Promise<unknown>): void {
    const t = p.catch((err: unknown) => this.o.logger.error('a fleet directive failed', { error: err }));
    this.work.add(t);
    void t.finally(() => this.work.delete(t));
  }
}
