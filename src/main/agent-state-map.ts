/**
 * The headless agent's state (src/core/agent.ts) as the tray and the status window see it
 * (src/shared/agent-state.ts). Pure: everything that is not in the core state (the clock,
 * the host name, the packs loaded before the first scan, the configured tenant label) is
 * an argument, so the mapping is tested on its own.
 *
 * The one judgement made here is the tray colour. It is the scan's verdict, except that a
 * PC whose agent cannot report to its IT provider is shown grey ("unknown / not
 * reporting"): reporting blocked by the backend, or failing for longer than `staleAfterMs`.
 * Grey only ever replaces green or amber: a compromised verdict stays red whatever the
 * network does (the verdict order is compromised > unknown > attention > ok).
 */
import { AgentStateSchema, type AgentState } from '../shared/agent-state.js';
import type { PackRef, Status } from '../shared/scan.js';
import type { AgentState as CoreAgentState } from '../core/agent.js';

export interface AgentStateContext {
  now: Date;
  /** When this agent started: "reporting has failed since" when it never succeeded. */
  startedAt: Date;
  /** How long reporting may fail before the tray turns grey. */
  staleAfterMs: number;
  agentVersion: string;
  hostname: string;
  /** The packs the agent loaded, shown before the first scan has named them. */
  packs: readonly PackRef[];
  /** The tenant label from the settings, shown until the backend names the tenant. */
  tenant?: string;
}

const RANK: Record<Status, number> = { ok: 0, attention: 1, unknown: 2, compromised: 3 };
const worst = (a: Status, b: Status): Status => (RANK[a] >= RANK[b] ? a : b);

const WATCHER_PROBLEM = /connection watcher/i;

/** Why the agent counts as "not reporting", or undefined while it reports normally. */
export function notReportingReason(core: CoreAgentState, ctx: Pick<AgentStateContext, 'now' | 'startedAt' | 'staleAfterMs'>): string | undefined {
  const r = core.report;
  if (!r) return undefined;
  if (r.enrolment === 'blocked' || r.blockedReason) {
    return `Vigil cannot report to your IT provider: ${r.blockedReason ?? 'the backend refused this PC'}.`;
  }
  if (!r.lastError) return undefined;
  const since = r.lastSuccessAt ? Date.parse(r.lastSuccessAt) : ctx.startedAt.getTime();
  if (!Number.isFinite(since) || ctx.now.getTime() - since < ctx.staleAfterMs) return undefined;
  const minutes = Math.round((ctx.now.getTime() - since) / 60_000);
  return `Vigil has not been able to report to your IT provider for ${minutes} minutes: ${r.lastError}.`;
}

/** The core state in the tray's terms, validated with the shared schema (throws on a bug). */
export function toTrayState(core: CoreAgentState, ctx: AgentStateContext): AgentState {
  const verdictStatus: Status = core.verdict?.status ?? 'unknown';
  const stale = notReportingReason(core, ctx);
  const status = stale ? worst(verdictStatus, 'unknown') : verdictStatus;
  const r = core.report;
  const watcherProblem = core.problems.find((p) => WATCHER_PROBLEM.test(p));
  const packs = core.packs.length > 0 ? core.packs : ctx.packs;
  const tenant = r?.tenant?.name ?? ctx.tenant;
  const reportingError = r ? (r.blockedReason ?? r.lastError ?? undefined) : undefined;

  const draft: AgentState = {
    status,
    ...(core.verdict ? { verdict: core.verdict } : {}),
    ...(stale && status !== verdictStatus ? { statusReason: stale } : {}),
    findings: core.findings,
    installs: core.installs,
    scanning: core.scanning,
    ...(core.lastScanAt ? { lastScanAt: core.lastScanAt } : {}),
    ...(core.lastScanError ? { lastScanError: core.lastScanError } : {}),
    reporting: {
      configured: r !== null,
      enrolled: r?.enrolment === 'enrolled',
      ...(r?.lastSuccessAt ? { lastSuccessAt: r.lastSuccessAt } : {}),
      ...(r?.lastAttemptAt ? { lastAttemptAt: r.lastAttemptAt } : {}),
      ...(reportingError ? { lastError: reportingError } : {}),
      backlog: core.backlog ? core.backlog.pendingAlerts + (core.backlog.heartbeatPending ? 1 : 0) : 0,
      dropped: core.backlog?.droppedAlerts ?? 0,
    },
    watch: {
      running: core.connectionWatch === 'on',
      ...(core.connectionWatch === 'failed' ? { error: watcherProblem ?? 'the connection watcher stopped' } : {}),
    },
    versions: {
      agent: ctx.agentVersion,
      packs: packs.map((p) => ({ id: p.id, version: p.version, title: p.title, ...(p.receivedAt ? { receivedAt: p.receivedAt } : {}) })),
    },
    device: {
      ...(r?.deviceId ? { id: r.deviceId } : {}),
      ...(tenant ? { tenant } : {}),
      hostname: ctx.hostname,
    },
  };
  return AgentStateSchema.parse(draft);
}

/**
 * The state shown when there is no agent to run: settings that cannot be used, or an
 * agent that could not start. Grey, with the reason in the window and the tooltip.
 */
export function unavailableTrayState(reason: string, ctx: Pick<AgentStateContext, 'agentVersion' | 'hostname' | 'packs' | 'tenant'>): AgentState {
  return AgentStateSchema.parse({
    status: 'unknown',
    statusReason: reason,
    available: false,
    findings: [],
    installs: [],
    scanning: false,
    reporting: { configured: false, enrolled: false, backlog: 0, dropped: 0 },
    watch: { running: false },
    versions: { agent: ctx.agentVersion, packs: ctx.packs.map((p) => ({ id: p.id, version: p.version, title: p.title })) },
    device: { ...(ctx.tenant ? { tenant: ctx.tenant } : {}), hostname: ctx.hostname },
  } satisfies AgentState);
}
