/**
 * The core agent's state mapped onto the tray's schema: every field, the grey "not
 * reporting" rule (which never hides red), and validation with the shared schema.
 */
import { describe, expect, it } from 'vitest';
import type { AgentState as CoreState } from '../../src/core/agent.js';
import type { ReporterStatus } from '../../src/core/report/reporter.js';
import { computeVerdict } from '../../src/core/verdict/compute-verdict.js';
import { AgentStateSchema } from '../../src/shared/agent-state.js';
import { notReportingReason, toTrayState, unavailableTrayState, type AgentStateContext } from '../../src/main/agent-state-map.js';
import { trayTooltip } from '../../src/main/tray-icon-state.js';
import { buildStatusView } from '../../src/renderer/view-model.js';
import { findings } from './fixtures/agent-states.js';

const PACK = { id: '3cx-desktopapp-2023-03', version: 1, title: '3CX DesktopApp supply-chain compromise (March 2023)', origin: 'builtin' };
const START = new Date('2026-11-25T08:00:00.000Z');
const ctx = (over: Partial<AgentStateContext> = {}): AgentStateContext => ({
  now: new Date('2026-11-25T09:35:00.000Z'),
  startedAt: START,
  staleAfterMs: 15 * 60_000,
  agentVersion: '0.1.0',
  hostname: 'RECEPTION-PC',
  packs: [PACK],
  ...over,
});

function core(over: Partial<CoreState> = {}): CoreState {
  return {
    phase: 'running',
    scanning: false,
    verdict: null,
    findings: [],
    installs: [],
    packs: [],
    lastScanAt: null,
    lastScanError: null,
    connectionWatch: 'off',
    report: null,
    lastReportAt: null,
    backlog: null,
    problems: [],
    ...over,
  };
}

function reporter(over: Partial<ReporterStatus> = {}): ReporterStatus {
  return {
    enrolment: 'enrolled',
    deviceId: 'dev_AAAAAAAAAAAAAAAAAAAAAA',
    tenant: { id: 'ten_1', name: 'Acme IT Partners' },
    lastAttemptAt: '2026-11-25T09:30:00.000Z',
    lastSuccessAt: '2026-11-25T09:30:00.000Z',
    lastError: null,
    blockedReason: null,
    nextAttemptAt: null,
    serverHeartbeatIntervalSec: 60,
    ...over,
  };
}

const scanned = (fs = [findings.compromisedInstall(), findings.knownBadDll()]) =>
  core({ verdict: computeVerdict(fs), findings: fs, packs: [PACK], lastScanAt: '2026-11-25T09:30:00.000Z' });

describe('toTrayState', () => {
  it('before the first scan, unmanaged: grey, no verdict, the loaded packs, nothing reported', () => {
    const s = toTrayState(core({ scanning: true }), ctx({ tenant: 'Dental Practice' }));
    expect(s).toEqual({
      status: 'unknown',
      findings: [],
      installs: [],
      scanning: true,
      reporting: { configured: false, enrolled: false, backlog: 0, dropped: 0 },
      watch: { running: false },
      versions: { agent: '0.1.0', packs: [{ id: PACK.id, version: 1, title: PACK.title }] },
      device: { tenant: 'Dental Practice', hostname: 'RECEPTION-PC' },
    });
    expect(AgentStateSchema.safeParse(s).success).toBe(true);
  });

  it('after a compromised scan, enrolled: red, findings, device id and the backend’s tenant, the backlog', () => {
    const s = toTrayState(
      { ...scanned(), connectionWatch: 'on', report: reporter(), backlog: { pendingAlerts: 2, droppedAlerts: 1, rejectedAlerts: 0, heartbeatPending: true, durable: true } },
      ctx({ tenant: 'label from the settings' }),
    );
    expect(s.status).toBe('compromised');
    expect(s.verdict?.counts.compromised).toBe(2);
    expect(s.findings.map((f) => f.category)).toEqual(['install', 'hash']);
    expect(s.lastScanAt).toBe('2026-11-25T09:30:00.000Z');
    expect(s.reporting).toEqual({
      configured: true,
      enrolled: true,
      lastSuccessAt: '2026-11-25T09:30:00.000Z',
      lastAttemptAt: '2026-11-25T09:30:00.000Z',
      backlog: 3,
      dropped: 1,
    });
    expect(s.watch).toEqual({ running: true });
    expect(s.device).toEqual({ id: 'dev_AAAAAAAAAAAAAAAAAAAAAA', tenant: 'Acme IT Partners', hostname: 'RECEPTION-PC' });
    expect(s.statusReason).toBeUndefined();
  });

  it('a failed scan and a failed watcher are shown, not hidden', () => {
    const s = toTrayState(
      core({ lastScanError: 'the scan failed: EIO', connectionWatch: 'failed', problems: ['the connection watcher could not start: netstat missing', 'the scan failed: EIO'] }),
      ctx(),
    );
    expect(s.lastScanError).toBe('the scan failed: EIO');
    expect(s.watch).toEqual({ running: false, error: 'the connection watcher could not start: netstat missing' });
  });

  it('reporting failing for less than the limit: the verdict stands, the error is shown', () => {
    const s = toTrayState({ ...scanned([]), report: reporter({ lastError: 'the server could not be reached', lastSuccessAt: '2026-11-25T09:25:00.000Z' }) }, ctx());
    expect(s.status).toBe('ok');
    expect(s.reporting.lastError).toBe('the server could not be reached');
    expect(s.statusReason).toBeUndefined();
  });

  it('reporting failing for longer than the limit: green and amber turn grey, with the reason', () => {
    const failing = reporter({ lastError: 'the server could not be reached', lastSuccessAt: '2026-11-25T09:00:00.000Z' });
    for (const fs of [[], [findings.outdated()]]) {
      const s = toTrayState({ ...scanned(fs), report: failing }, ctx());
      expect(s.status).toBe('unknown');
      expect(s.verdict?.status).toBe(fs.length ? 'attention' : 'ok');
      expect(s.statusReason).toBe('Vigil has not been able to report to your IT provider for 35 minutes: the server could not be reached.');
      expect(trayTooltip(s, (iso) => iso.slice(11, 16))).toMatch(/^Vigil: Unknown\. Vigil has not been able to report .*Last check 09:30$/);
      expect(buildStatusView(s, (iso) => iso).why).toBe(s.statusReason);
    }
  });

  it('never enrolled and failing since the agent started counts from the start', () => {
    const never = reporter({ enrolment: 'not-enrolled', deviceId: null, tenant: null, lastSuccessAt: null, lastError: 'the server could not be reached' });
    expect(notReportingReason(core({ report: never }), ctx())).toMatch(/for 95 minutes/);
    expect(notReportingReason(core({ report: never }), ctx({ startedAt: new Date('2026-11-25T09:30:00.000Z') }))).toBeUndefined();
  });

  it('a blocked reporter turns green grey at once, and never hides red', () => {
    const blocked = reporter({ enrolment: 'blocked', blockedReason: 'this device was revoked by the partner; reinstall with a new token' });
    const green = toTrayState({ ...scanned([]), report: blocked }, ctx());
    expect(green.status).toBe('unknown');
    expect(green.statusReason).toBe('Vigil cannot report to your IT provider: this device was revoked by the partner; reinstall with a new token.');
    expect(green.reporting.lastError).toBe(blocked.blockedReason);
    expect(green.reporting.enrolled).toBe(false);

    const red = toTrayState({ ...scanned(), report: blocked }, ctx());
    expect(red.status).toBe('compromised');
    expect(red.statusReason).toBeUndefined();
  });

  it('live connection findings are carried with their evidence', () => {
    const fs = [findings.c2Connection()];
    const s = toTrayState(core({ verdict: computeVerdict(fs), findings: fs, connectionWatch: 'on' }), ctx());
    expect(s.status).toBe('compromised');
    expect(s.findings[0]!.evidence.process?.name).toBe('3CXDesktopApp.exe');
    expect(s.findings[0]!.evidence.remote?.host).toBe('sbmsa.wiki');
  });

  it('refuses a core state that does not fit the schema (a bug), rather than pass it on', () => {
    expect(() => toTrayState(core({ lastScanAt: 'yesterday' }), ctx())).toThrow();
  });
});

describe('unavailableTrayState', () => {
  it('is grey with the reason, valid, and the reason reaches the tooltip and the banner', () => {
    const reason = 'Vigil is not checking this PC because its settings cannot be used: /etc/vigil/config.json: not valid JSON. Contact your IT provider.';
    const s = unavailableTrayState(reason, { agentVersion: '0.1.0', hostname: 'PC', packs: [], tenant: 'Acme' });
    expect(AgentStateSchema.parse(s)).toEqual(s);
    expect(s.status).toBe('unknown');
    expect(s.statusReason).toBe(reason);
    expect(trayTooltip(s)).toMatch(/^Vigil: Unknown\. Vigil is not checking this PC because its settings cannot be used/);
    expect(trayTooltip(s).length).toBeLessThanOrEqual(127);
    expect(buildStatusView(s, (iso) => iso).why).toBe(reason);
  });
});
