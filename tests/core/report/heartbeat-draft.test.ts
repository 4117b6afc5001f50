import { describe, expect, it } from 'vitest';
import { buildHeartbeatDraft } from '../../../src/core/report/heartbeat-draft.js';
import { HeartbeatSchema } from '../../../src/shared/protocol.js';
import { compromisedFindings, compromisedInstall, connectionFinding, scanReport } from '../../server/helpers/sample-reports.js';

const base = () => {
  const r = scanReport();
  return {
    now: new Date('2026-11-20T10:00:00Z'),
    agentVersion: '0.1.0',
    host: r.host,
    verdict: r.verdict,
    lastScanAt: r.startedAt,
    installs: r.installs,
    findings: r.findings,
    packs: r.packs,
    connectionWatch: 'on' as const,
    problems: [],
  };
};

describe('buildHeartbeatDraft', () => {
  it('summarises installs and carries the verdict, which the protocol schema accepts', () => {
    const d = buildHeartbeatDraft(base());
    expect(d.status).toBe('compromised');
    expect(d.installs).toEqual([{ application: '3cx-desktopapp', applicationName: '3CX Desktop App', platform: 'windows', user: 'reception', location: compromisedInstall().location, version: '18.12.416', versionClass: 'compromised' }]);
    expect(HeartbeatSchema.safeParse({ ...d, deviceId: 'dev_AAAAAAAAAAAAAAAAAAAAAA', outbox: { pendingAlerts: 0, droppedAlerts: 0, rejectedAlerts: 0, oldestPendingAt: null } }).success).toBe(true);
  });

  it('reports unknown before the first scan', () => {
    const d = buildHeartbeatDraft({ ...base(), verdict: null, lastScanAt: null, installs: [], findings: [], packs: [] });
    expect(d.status).toBe('unknown');
    expect(d.verdict).toBeNull();
  });

  it('cuts pathological lists to the protocol limits, most severe findings first', () => {
    const many = [...Array.from({ length: 700 }, (_, i) => ({ ...compromisedFindings()[3]!, id: i.toString(16).padStart(32, '0') })), connectionFinding(1)];
    const d = buildHeartbeatDraft({ ...base(), findings: many, installs: Array.from({ length: 300 }, () => compromisedInstall()), problems: Array.from({ length: 30 }, () => 'x'.repeat(900)) });
    expect(d.findings).toHaveLength(500);
    expect(d.findings[0]!.severity).toBe('compromised');
    expect(d.installs).toHaveLength(200);
    expect(d.problems).toHaveLength(20);
    expect(d.problems[0]!.length).toBe(500);
    expect(HeartbeatSchema.safeParse({ ...d, deviceId: 'dev_AAAAAAAAAAAAAAAAAAAAAA', outbox: { pendingAlerts: 0, droppedAlerts: 0, rejectedAlerts: 0, oldestPendingAt: null } }).success).toBe(true);
  });
});
