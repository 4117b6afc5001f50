/**
 * The machine agent's state for one viewer, as the channel sends it: the core state with
 * other profiles redacted (redact-for-viewer.ts) and the service facts the tray draws.
 * Validated with the channel's schema, so the service never sends what a client would
 * have to reject.
 */
import type { AgentState } from '../agent.js';
import { MachineStateSchema, type MachineState } from '../../shared/local-channel.js';
import { redactForViewer, type Viewer } from './redact-for-viewer.js';

export interface ServiceFacts {
  agentVersion: string;
  hostname: string;
  startedAt: string;
  staleAfterMs: number;
  tenant?: string;
}

export function machineStateFor(core: AgentState, facts: ServiceFacts, viewer: Viewer): MachineState {
  const { state, otherProfiles, scrub } = redactForViewer(
    { findings: core.findings, installs: core.installs, problems: core.problems, lastScanError: core.lastScanError },
    viewer,
  );
  return MachineStateSchema.parse({
    phase: core.phase,
    scanning: core.scanning,
    verdict: core.verdict ? { ...core.verdict, summary: scrub(core.verdict.summary) } : null,
    findings: state.findings,
    installs: state.installs,
    packs: core.packs,
    lastScanAt: core.lastScanAt,
    lastScanError: state.lastScanError,
    connectionWatch: core.connectionWatch,
    report: core.report,
    lastReportAt: core.lastReportAt,
    backlog: core.backlog,
    problems: state.problems,
    service: { ...facts, viewerProfile: viewer.profile, otherProfiles },
  });
}
