/**
 * A tiny, real, in-memory implementation of AgentHandle: what the headless agent does,
 * minus the disk and the network. It starts grey (no scan yet); each checkNow runs the
 * next scripted "scan" (a list of findings, turned into a verdict by the core's
 * computeVerdict), reports the result through the injected transport (in the app that
 * is Electron's net.fetch), and publishes every state change. `poll()` re-publishes the
 * current state, as the agent does on every connection-watch poll.
 */
import type { AgentState } from '../../src/shared/agent-state.js';
import type { Finding } from '../../src/shared/scan.js';
import type { AgentHandle, AgentStartOptions } from '../../src/main/agent-handle.js';
import { initialState, scannedState, T1 } from './fixtures/agent-states.js';

export class FixtureAgent implements AgentHandle {
  private state: AgentState = initialState();
  private readonly listeners = new Set<(s: AgentState) => void>();
  readonly reports: { status: number; body: string }[] = [];
  scans = 0;
  stopped = false;
  private clock = T1.getTime();

  constructor(
    private readonly opts: AgentStartOptions,
    private readonly script: Finding[][],
  ) {}

  getState(): AgentState {
    return this.state;
  }

  onState(cb: (state: AgentState) => void): () => void {
    this.listeners.add(cb);
    return () => this.listeners.delete(cb);
  }

  private publish(next: AgentState): void {
    this.state = next;
    for (const l of [...this.listeners]) l(next);
  }

  poll(): void {
    this.publish({ ...this.state });
  }

  /** Publishes an arbitrary (possibly invalid) value, as a buggy agent might. */
  publishRaw(raw: unknown): void {
    for (const l of [...this.listeners]) l(raw as AgentState);
  }

  async checkNow(): Promise<void> {
    if (this.stopped) throw new Error('agent stopped');
    this.publish({ ...this.state, scanning: true });
    const findings = this.script[Math.min(this.scans, this.script.length - 1)] ?? [];
    this.scans++;
    this.clock += 60_000;
    const scanned = scannedState(findings, new Date(this.clock));
    const res = await this.opts.transport('https://vigil.example.net/api/v1/reports', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ status: scanned.status, findings: scanned.findings.length }),
    });
    this.reports.push({ status: res.status, body: await res.text() });
    this.opts.logger.info('scan reported', { status: scanned.status, http: res.status });
    this.publish(scanned);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.listeners.clear();
  }
}
