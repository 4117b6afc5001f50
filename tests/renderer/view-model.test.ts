import { describe, expect, it } from 'vitest';
import { announcement, buildStatusView, STATUS_GLYPH } from '../../src/renderer/view-model.js';
import { findings, scannedState, states } from '../main/fixtures/agent-states.js';

const fmt = (iso: string) => `@${iso.slice(11, 16)}`;

describe('buildStatusView', () => {
  it('no state: unknown, with a sentence that says what to do', () => {
    const v = buildStatusView(null, fmt);
    expect(v).toMatchObject({ status: 'unknown', label: 'Unknown', glyph: '?', findings: [], connections: [] });
    expect(v.why).toMatch(/not running yet/);
  });

  it('every status has a distinct glyph (status is never colour alone)', () => {
    expect(new Set(Object.values(STATUS_GLYPH)).size).toBe(4);
  });

  it('compromised: findings sorted, connection alerts apart, advice once', () => {
    const v = buildStatusView(states.compromised(), fmt);
    expect(v.status).toBe('compromised');
    expect(v.findings.map((f) => f.title)).toEqual([
      '3CX Desktop App 18.12.416 (for alice) is a compromised build.',
      'A known malicious file is on this PC: C:/Users/alice/AppData/Local/Programs/3CXDesktopApp/ffmpeg.dll (trojanized ffmpeg.dll).',
    ]);
    expect(v.findings[0]).toMatchObject({ severityLabel: 'Compromised', adviceTitle: 'Remove the 3CX Desktop App now' });
    expect(v.findings[0]!.adviceRepeat).toBeUndefined();
    expect(v.findings[1]!.adviceRepeat).toBe(true);
    expect(v.connections).toHaveLength(1);
    expect(v.connections[0]!.connection).toBe('3CXDesktopApp.exe (process id 4242) contacted sbmsa.wiki (203.0.113.7:443)');
    expect(v.findings[0]!.evidence).toContainEqual({ label: 'Version', value: '18.12.416' });
    expect(v.findings[0]!.links.map((l) => l.index)).toEqual([0, 1, 2, 3, 4]);
  });

  it('severity order: compromised, could-not-check, attention, info', () => {
    const s = scannedState([
      { ...findings.outdated(), severity: 'info', id: 'aaaaaaaaaaaaaaaa' },
      findings.outdated(),
      findings.unreadableProfile(),
      findings.knownBadDll(),
    ]);
    expect(buildStatusView(s, fmt).findings.map((f) => f.severity)).toEqual(['compromised', 'unknown', 'attention', 'info']);
  });

  it('reporting facts: last report, backlog, not configured', () => {
    const v = buildStatusView(states.unknownScan(), fmt);
    expect(v.facts).toContainEqual({ label: 'Last report to your IT provider', value: '@09:00' });
    expect(v.facts).toContainEqual({ label: 'Waiting to be sent', value: '3 items' });
    expect(v.notices).toContain('Reporting to your IT provider is failing: The server could not be reached.');
    const unmanaged = buildStatusView({ ...states.ok(), reporting: { configured: false, enrolled: false, backlog: 0, dropped: 0 } }, fmt);
    expect(unmanaged.facts).toContainEqual({ label: 'Reporting to your IT provider', value: 'Not set up on this PC' });
  });

  it('checker out of reach (service not running): says what it does not know, and offers no Check now', async () => {
    const { unavailableTrayState } = await import('../../src/main/agent-state-map.js');
    const v = buildStatusView(unavailableTrayState('Vigil is not checking this PC: the Vigil service is not running.', { agentVersion: '0.1.0', hostname: 'RECEPTION-PC', packs: [], tenant: 'Acme IT Partners' }), fmt);
    expect(v.canCheck).toBe(false);
    expect(v.facts).toEqual([
      { label: 'Last check', value: 'Unknown: Vigil’s checker cannot be reached' },
      { label: 'Reporting to your IT provider', value: 'Unknown while the checker cannot be reached' },
      { label: 'Connection watch', value: 'Unknown while the checker cannot be reached' },
    ]);
    expect(JSON.stringify(v)).not.toMatch(/Not set up|Not yet/);
    expect(buildStatusView(states.ok(), fmt).canCheck).toBe(true);
  });

  it('scanning', () => {
    const v = buildStatusView({ ...states.ok(), scanning: true }, fmt);
    expect(v.scanning).toBe(true);
    expect(v.facts[0]).toEqual({ label: 'Last check', value: 'Checking now…' });
  });

  it('only https advice links are offered', () => {
    const s = states.compromised();
    s.findings[0]!.advice!.links = [
      { label: 'bad', url: 'javascript:alert(1)' },
      { label: 'ok', url: 'https://www.3cx.com/' },
    ];
    expect(buildStatusView(s, fmt).findings[0]!.links).toEqual([{ index: 1, label: 'ok', url: 'https://www.3cx.com/' }]);
  });

  it('garbage in, something sensible out', () => {
    const v = buildStatusView({ status: 'purple', findings: [null, 3, { title: 5 }], reporting: null, watch: 'x', versions: 7, device: null } as never, fmt);
    expect(v.status).toBe('unknown');
    expect(v.findings).toHaveLength(1);
    expect(v.findings[0]!.title).toBe('A finding without a description.');
  });

  it('announcement', () => {
    expect(announcement(buildStatusView(states.ok(), fmt))).toBe('Status: OK. Nothing found: no affected software or signs of compromise.');
  });
});
