/**
 * The headless agent: scan on a schedule (at start and every scanIntervalMs), watch live
 * connections, and report to the partner backend. Electron-free: `vigil run` drives it
 * from the CLI and the tray app drives the same object, showing `state()` and listening to
 * `subscribe()`.
 *
 * The scanner and the connection watcher are injected (the lead wires the real ones).
 * Reporting is optional: without a server the agent still scans and keeps its state.
 *
 * The agent never throws for what happens around it. A scan that fails, a watcher that
 * dies, a full disk or an unreachable backend all show up in `state().problems` and in
 * the next heartbeat.
 */
import * as os from 'node:os';
import type { Finding, HostFacts, Install, PackRef, ScanReport, Verdict } from '../shared/scan.js';
import { PROTOCOL_LIMITS, PROTOCOL_VERSION, type EnrollRequest } from '../shared/protocol.js';
import { silentLogger, type Logger } from './logging/logger.js';
import { computeVerdict } from './verdict/compute-verdict.js';
import { AGENT_VERSION } from './version.js';
import { hostPlatform } from './inventory/scan-target.js';
import { Outbox, type OutboxStats } from './report/outbox.js';
import { Reporter, type FlushOutcome, type ReporterStatus } from './report/reporter.js';
import { ProtocolClient } from './report/protocol-client.js';
import { FileCredentialStore, type CredentialStore } from './report/credential-store.js';
import { resolveStableId, type StableIdProbe } from './report/stable-id.js';
import { alertFromFinding, isAlertWorthy } from './report/alert-from-finding.js';
import { buildHeartbeatDraft } from './report/heartbeat-draft.js';
import type { BackoffPolicy } from './report/backoff.js';
import type { FetchLike } from './report/transport.js';
import type { FleetAgentHooks, FleetModule } from './fleet/directives.js';

export interface ConnectionWatcher {
  start(onMatch: (finding: Finding) => void): void;
  stop(): Promise<void>;
}

export interface AgentReportOptions {
  /** Checked with checkServerUrl() by whoever built these options. */
  serverUrl: URL;
  fetch: FetchLike;
  enrollToken?: string;
  stableIdProbe?: StableIdProbe;
  credentials?: CredentialStore;
  backoff?: BackoffPolicy;
  timeoutMs?: number;
  maxAlerts?: number;
}

/** What the agent gives the fleet module it composes (core/fleet/directives.ts). */
export interface FleetContext {
  hooks: FleetAgentHooks;
  /** Server clock minus ours, as the protocol client learnt it. */
  clockOffsetMs: () => number;
  signal: AbortSignal;
}

export interface AgentOptions {
  scan: () => Promise<ScanReport>;
  /**
   * Builds the fleet module (packs from the backend, check now) once reporting is open;
   * the agent hands it every heartbeat response and adds its fields to each heartbeat.
   */
  fleet?: (ctx: FleetContext) => Promise<FleetModule>;
  watcher?: ConnectionWatcher;
  stateDir: string;
  report?: AgentReportOptions;
  scanIntervalMs: number;
  heartbeatIntervalMs: number;
  logger?: Logger;
  now?: () => Date;
  random?: () => number;
}

export type AgentPhase = 'idle' | 'running' | 'stopping' | 'stopped';

export interface AgentBacklog {
  pendingAlerts: number;
  droppedAlerts: number;
  rejectedAlerts: number;
  heartbeatPending: boolean;
  /** False when the outbox could not write to disk: pending alerts are only in memory. */
  durable: boolean;
}

export interface AgentState {
  phase: AgentPhase;
  scanning: boolean;
  verdict: Verdict | null;
  /** Scan findings and live connection matches. */
  findings: Finding[];
  installs: Install[];
  packs: PackRef[];
  lastScanAt: string | null;
  lastScanError: string | null;
  connectionWatch: 'on' | 'off' | 'failed';
  /** null when no server is configured. */
  report: ReporterStatus | null;
  lastReportAt: string | null;
  backlog: AgentBacklog | null;
  problems: string[];
}

export interface OnceResult {
  scan: ScanReport | undefined;
  flush: FlushOutcome | undefined;
}

export interface Agent {
  /** Starts the schedule (scan now, then every interval), the watcher and reporting. */
  start(): Promise<void>;
  /** One cycle for `vigil run --once`: enrol, scan, heartbeat and alerts, flush, close. */
  runOnce(): Promise<OnceResult>;
  /** Scans now (waiting for a scan already running), then reports the result. */
  checkNow(): Promise<ScanReport | undefined>;
  state(): AgentState;
  subscribe(listener: (state: AgentState) => void): () => void;
  stop(): Promise<void>;
}

/** Live connection findings kept in state (most recent); all of them are still alerted. */
const MAX_LIVE_FINDINGS = 100;

export function createAgent(opts: AgentOptions): Agent {
  return new HeadlessAgent(opts);
}

class HeadlessAgent implements Agent {
  private phase: AgentPhase = 'idle';
  private lastReport: ScanReport | undefined;
  private lastScanAt: string | null = null;
  private lastScanError: string | null = null;
  private scanning: Promise<ScanReport | undefined> | undefined;
  private liveFindings: Finding[] = [];
  private connectionWatch: 'on' | 'off' | 'failed' = 'off';
  private outbox: Outbox | undefined;
  private reporter: Reporter | undefined;
  private fleet: FleetModule | undefined;
  private readonly abort = new AbortController();
  private scanTimer: NodeJS.Timeout | undefined;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private readonly listeners = new Set<(s: AgentState) => void>();
  private readonly log: Logger;
  private readonly now: () => Date;
  private readonly problems = new Map<string, string>();
  private pendingWork = new Set<Promise<unknown>>();
  /** False in runOnce(), which flushes once itself at the end. */
  private deliverOnQueue = true;

  constructor(private readonly opts: AgentOptions) {
    this.log = opts.logger ?? silentLogger;
    this.now = opts.now ?? (() => new Date());
  }

  // --- public API ----------------------------------------------------------------------

  async start(): Promise<void> {
    if (this.phase !== 'idle') return;
    this.phase = 'running';
    await this.openReporting();
    this.reporter?.trigger();
    this.startWatcher();
    this.scheduleScan(0);
    this.scheduleHeartbeat(this.heartbeatIntervalMs());
    this.emit();
  }

  async runOnce(): Promise<OnceResult> {
    if (this.phase !== 'idle') throw new Error('runOnce() is for an agent that has not been started');
    this.phase = 'running';
    this.deliverOnQueue = false;
    await this.openReporting();
    const scan = await this.scanAndQueue();
    let flush: FlushOutcome | undefined;
    if (this.reporter) {
      await this.queueHeartbeat();
      flush = await this.reporter.flushNow();
    }
    await this.stop();
    return { scan, flush };
  }

  async checkNow(): Promise<ScanReport | undefined> {
    if (this.phase !== 'running') return undefined;
    const report = await this.scanAndQueue();
    await this.queueHeartbeat();
    this.reporter?.trigger();
    return report;
  }

  state(): AgentState {
    const verdict = this.currentVerdict();
    const ob = this.outbox?.stats();
    const rep = this.reporter?.status() ?? null;
    return {
      phase: this.phase,
      scanning: this.scanning !== undefined,
      verdict,
      findings: this.allFindings(),
      installs: this.lastReport?.installs ?? [],
      packs: this.lastReport?.packs ?? [],
      lastScanAt: this.lastScanAt,
      lastScanError: this.lastScanError,
      connectionWatch: this.connectionWatch,
      report: rep,
      lastReportAt: rep?.lastSuccessAt ?? null,
      backlog: ob ? backlogOf(ob) : null,
      problems: this.currentProblems(ob, rep),
    };
  }

  subscribe(listener: (state: AgentState) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async stop(): Promise<void> {
    if (this.phase === 'stopped' || this.phase === 'stopping') return;
    this.phase = 'stopping';
    this.emit();
    if (this.scanTimer) clearTimeout(this.scanTimer);
    if (this.heartbeatTimer) clearTimeout(this.heartbeatTimer);
    if (this.opts.watcher && this.connectionWatch === 'on') {
      await this.opts.watcher.stop().catch((err) => this.log.warn('connection watcher did not stop cleanly', { error: err }));
    }
    this.connectionWatch = 'off';
    await this.fleet?.stop();
    // Queued alerts must reach the journal before it closes.
    await Promise.allSettled([...this.pendingWork]);
    this.abort.abort();
    await this.reporter?.stop();
    await this.outbox?.close();
    this.phase = 'stopped';
    this.emit();
  }

  // --- reporting -----------------------------------------------------------------------

  private async openReporting(): Promise<void> {
    const r = this.opts.report;
    if (!r) return;
    this.outbox = await Outbox.open({ dir: this.opts.stateDir, ...(r.maxAlerts !== undefined ? { maxAlerts: r.maxAlerts } : {}) });
    const ob = this.outbox.stats();
    if (ob.recoveredDamage) {
      this.log.warn('outbox journal had a damaged record (a write torn by a crash); it was dropped', { ...ob.recoveredDamage });
    }
    const client = new ProtocolClient({
      serverUrl: r.serverUrl,
      fetch: r.fetch,
      userAgent: `vigil-agent/${AGENT_VERSION}`,
      signal: this.abort.signal,
      ...(r.timeoutMs !== undefined ? { timeoutMs: r.timeoutMs } : {}),
    });
    this.reporter = new Reporter({
      client,
      outbox: this.outbox,
      credentials: r.credentials ?? new FileCredentialStore(this.opts.stateDir),
      enrolmentRequest: () => this.enrolmentRequest(),
      logger: this.log.child({ component: 'reporter' }),
      now: this.now,
      ...(r.backoff ? { backoff: r.backoff } : {}),
      ...(this.opts.random ? { random: this.opts.random } : {}),
      onHeartbeatResponse: (res, cred) => this.fleet?.onHeartbeatResponse(res, cred),
    });
    if (this.opts.fleet) {
      const hooks: FleetAgentHooks = { scanNow: () => this.freshScan(), heartbeatNow: () => this.heartbeatNow() };
      this.fleet = await this.opts.fleet({ hooks, clockOffsetMs: () => client.clockOffset, signal: this.abort.signal });
    }
    let lastInterval = this.reporter.status().serverHeartbeatIntervalSec;
    this.reporter.onChange(() => {
      const interval = this.reporter?.status().serverHeartbeatIntervalSec ?? null;
      if (interval !== lastInterval) {
        lastInterval = interval;
        if (this.phase === 'running' && this.heartbeatTimer) this.scheduleHeartbeat(this.heartbeatIntervalMs());
      }
      this.emit();
    });
  }

  private async enrolmentRequest(): Promise<EnrollRequest | undefined> {
    const r = this.opts.report;
    if (!r?.enrollToken) return undefined;
    const stable = await resolveStableId(this.opts.stateDir, r.stableIdProbe);
    return {
      protocol: PROTOCOL_VERSION,
      enrollToken: r.enrollToken,
      stableId: stable.stableId,
      stableIdSource: stable.source,
      host: this.host(),
      agentVersion: AGENT_VERSION,
    };
  }

  private heartbeatIntervalMs(): number {
    const fromServer = this.reporter?.status().serverHeartbeatIntervalSec;
    if (fromServer) {
      const sec = Math.min(Math.max(fromServer, PROTOCOL_LIMITS.minHeartbeatIntervalSec), PROTOCOL_LIMITS.maxHeartbeatIntervalSec);
      return sec * 1000;
    }
    return this.opts.heartbeatIntervalMs;
  }

  private scheduleHeartbeat(delayMs: number): void {
    if (this.heartbeatTimer) clearTimeout(this.heartbeatTimer);
    if (!this.reporter) return;
    this.heartbeatTimer = setTimeout(() => {
      void this.track(this.queueHeartbeat()).then(() => this.reporter?.trigger());
      if (this.phase === 'running') this.scheduleHeartbeat(this.heartbeatIntervalMs());
    }, delayMs);
  }

  /** A heartbeat soon, outside the schedule (the fleet module: new packs, a check-now answer). */
  private heartbeatNow(): void {
    if (this.phase !== 'running') return;
    void this.track(this.queueHeartbeat()).then(() => this.reporter?.trigger());
  }

  private async queueHeartbeat(): Promise<void> {
    if (!this.outbox) return;
    const ob = this.outbox.stats();
    const draft = {
      ...buildHeartbeatDraft({
        now: this.now(),
        agentVersion: AGENT_VERSION,
        host: this.host(),
        verdict: this.currentVerdict(),
        lastScanAt: this.lastScanAt,
        installs: this.lastReport?.installs ?? [],
        findings: this.allFindings(),
        packs: this.lastReport?.packs ?? [],
        connectionWatch: this.connectionWatch,
        problems: this.currentProblems(ob, this.reporter?.status() ?? null),
      }),
      ...this.fleet?.heartbeatFields(),
    };
    await this.outbox.setHeartbeat(draft);
    this.emit();
  }

  private async queueAlert(kind: 'connection' | 'finding', finding: Finding): Promise<void> {
    if (!this.outbox) return;
    const outcome = await this.outbox.enqueueAlert(alertFromFinding(kind, finding, this.now()));
    if (outcome === 'overflow') this.log.error('alert outbox is full; alert counted as dropped', { findingId: finding.id });
    if (outcome === 'queued' && this.deliverOnQueue) this.reporter?.trigger();
    this.emit();
  }

  // --- scanning ------------------------------------------------------------------------

  private scheduleScan(delayMs: number): void {
    if (this.scanTimer) clearTimeout(this.scanTimer);
    this.scanTimer = setTimeout(() => {
      void this.track(
        this.scanAndQueue().then(async () => {
          await this.queueHeartbeat();
          this.reporter?.trigger();
        }),
      ).finally(() => {
        if (this.phase === 'running') this.scheduleScan(this.opts.scanIntervalMs);
      });
    }, delayMs);
  }

  /** A scan that starts after this call: one already running began too early to count. */
  private async freshScan(): Promise<void> {
    if (this.phase !== 'running') return;
    if (this.scanning) await this.scanning;
    if (this.phase !== 'running') return;
    await this.track(this.scanAndQueue());
  }

  /** Runs one scan (or joins the one running) and queues alerts for compromised findings. */
  private scanAndQueue(): Promise<ScanReport | undefined> {
    if (this.scanning) return this.scanning;
    this.scanning = (async () => {
      this.emit();
      let report: ScanReport | undefined;
      try {
        report = await this.opts.scan();
        this.lastReport = report;
        this.lastScanAt = report.startedAt;
        this.lastScanError = null;
      } catch (err) {
        this.lastScanError = `the scan failed: ${(err as Error).message}`;
        this.log.error('scan failed', { error: err });
        return undefined;
      }
      for (const f of report.findings.filter(isAlertWorthy)) await this.queueAlert('finding', f);
      return report;
    })().finally(() => {
      this.scanning = undefined;
      this.emit();
    });
    return this.scanning;
  }

  // --- watching ------------------------------------------------------------------------

  private startWatcher(): void {
    const w = this.opts.watcher;
    if (!w) return;
    try {
      w.start((finding) => this.onConnectionMatch(finding));
      this.connectionWatch = 'on';
    } catch (err) {
      this.connectionWatch = 'failed';
      this.problems.set('watcher', `the connection watcher could not start: ${(err as Error).message}`);
      this.log.error('connection watcher failed to start', { error: err });
    }
  }

  private onConnectionMatch(finding: Finding): void {
    if (this.phase !== 'running') return;
    this.liveFindings = [...this.liveFindings.filter((f) => f.id !== finding.id), finding].slice(-MAX_LIVE_FINDINGS);
    this.log.warn('connection to an incident indicator', { findingId: finding.id, indicator: finding.evidence.indicator });
    void this.track(this.queueAlert('connection', finding));
  }

  // --- state ---------------------------------------------------------------------------

  private track<T>(p: Promise<T>): Promise<T> {
    this.pendingWork.add(p);
    void p.finally(() => this.pendingWork.delete(p)).catch(() => undefined);
    return p;
  }

  private allFindings(): Finding[] {
    const scan = this.lastReport?.findings ?? [];
    const seen = new Set(scan.map((f) => f.id));
    return [...scan, ...this.liveFindings.filter((f) => !seen.has(f.id))];
  }

  private currentVerdict(): Verdict | null {
    if (!this.lastReport && this.liveFindings.length === 0) return null;
    if (this.liveFindings.length === 0) return this.lastReport!.verdict;
    return computeVerdict(this.allFindings());
  }

  private host(): HostFacts {
    return this.lastReport?.host ?? { hostname: os.hostname(), platform: hostPlatform(), osRelease: os.release(), arch: os.arch() };
  }

  private currentProblems(ob: OutboxStats | undefined, rep: ReporterStatus | null): string[] {
    const out = [...this.problems.values(), ...(this.fleet?.problems() ?? [])];
    if (this.lastScanError) out.push(this.lastScanError);
    if (ob?.lastError) out.push(ob.lastError);
    if (ob?.recoveredDamage) out.push(`the outbox journal had ${ob.recoveredDamage.droppedBytes} damaged bytes after a crash; they were dropped`);
    if (ob && ob.droppedAlerts > 0) out.push(`${ob.droppedAlerts} alerts were dropped because the outbox was full`);
    if (rep?.blockedReason) out.push(`reporting is blocked: ${rep.blockedReason}`);
    return out;
  }

  private emit(): void {
    if (this.listeners.size === 0) return;
    const s = this.state();
    for (const l of this.listeners) {
      try {
        l(s);
      } catch (err) {
        this.log.warn('state listener failed', { error: err });
      }
    }
  }
}

function backlogOf(ob: OutboxStats): AgentBacklog {
  return {
    pendingAlerts: ob.pendingAlerts,
    droppedAlerts: ob.droppedAlerts,
    rejectedAlerts: ob.rejectedAlerts,
    heartbeatPending: ob.heartbeatPending,
    durable: ob.durable,
  };
}
