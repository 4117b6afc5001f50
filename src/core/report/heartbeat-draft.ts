/**
 * Builds the heartbeat the agent queues from what it knows now. Pure: the same inputs give
 * the same heartbeat, so it is tested without a clock or a network. Lists are cut to the
 * protocol's limits (most severe findings first), so a pathological scan never produces a
 * heartbeat the server must refuse.
 */
import { PROTOCOL_LIMITS, type InstallSummary } from '../../shared/protocol.js';
import type { Finding, HostFacts, Install, PackRef, Severity, Verdict } from '../../shared/scan.js';
import type { HeartbeatDraft } from './outbox.js';

export interface HeartbeatInput {
  now: Date;
  agentVersion: string;
  host: HostFacts;
  verdict: Verdict | null;
  lastScanAt: string | null;
  installs: readonly Install[];
  findings: readonly Finding[];
  packs: readonly PackRef[];
  connectionWatch: 'on' | 'off' | 'failed';
  problems: readonly string[];
}

const SEVERITY_ORDER: Record<Severity, number> = { compromised: 0, unknown: 1, attention: 2, info: 3 };

export function summariseInstall(i: Install): InstallSummary {
  const s: InstallSummary = {
    application: i.application,
    applicationName: i.applicationName,
    platform: i.platform,
    location: i.location,
    versionClass: i.versionClass,
  };
  if (i.user !== undefined) s.user = i.user;
  if (i.version !== undefined) s.version = i.version;
  return s;
}

export function buildHeartbeatDraft(input: HeartbeatInput): HeartbeatDraft {
  const findings = [...input.findings]
    .sort((a, b) => SEVERITY_ORDER[a.severity] - SEVERITY_ORDER[b.severity])
    .slice(0, PROTOCOL_LIMITS.maxFindingsPerHeartbeat);
  return {
    sentAt: input.now.toISOString(),
    agentVersion: input.agentVersion,
    host: input.host,
    status: input.verdict?.status ?? 'unknown',
    verdict: input.verdict,
    lastScanAt: input.lastScanAt,
    installs: input.installs.slice(0, PROTOCOL_LIMITS.maxInstallsPerHeartbeat).map(summariseInstall),
    findings,
    packs: input.packs.slice(0, PROTOCOL_LIMITS.maxPacksPerHeartbeat),
    connectionWatch: input.connectionWatch,
    problems: input.problems.slice(0, 20).map((p) => (p.length > 500 ? p.slice(0, 497) + '...' : p)),
  };
}
