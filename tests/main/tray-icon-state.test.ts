import { describe, expect, it } from 'vitest';
import { TOOLTIP_MAX, trayIconFile, trayStatus, trayTooltip, truncate } from '../../src/main/tray-icon-state.js';
import { STATUS_LABEL } from '../../src/main/status-text.js';
import { STATUS_LABEL as RENDERER_LABEL } from '../../src/renderer/view-model.js';
import { findings, scannedState, states } from './fixtures/agent-states.js';

const hhmm = (iso: string) => iso.slice(11, 16);

describe('tray icon per status and platform', () => {
  it.each([
    ['win32', 'compromised', 'tray/compromised.ico'],
    ['darwin', 'ok', 'tray/okTemplate.png'],
    ['linux', 'attention', 'tray/attention-24.png'],
    ['freebsd', 'unknown', 'tray/unknown-24.png'],
  ] as const)('%s %s → %s', (platform, status, file) => {
    expect(trayIconFile(status, platform)).toBe(file);
  });

  it('no state is grey', () => {
    expect(trayStatus(null)).toBe('unknown');
    expect(trayStatus(states.compromised())).toBe('compromised');
  });
});

describe('tooltip', () => {
  it('says the verdict and the last check time', () => {
    expect(trayTooltip(states.ok(), hhmm)).toBe('Vigil: OK. Nothing found: no affected software or signs of compromise. Last check 09:30');
  });

  it('before the first scan', () => {
    expect(trayTooltip(states.unknown(), hhmm)).toBe('Vigil: Unknown. Not checked yet');
    expect(trayTooltip(null, hhmm)).toBe('Vigil: Unknown. Vigil has not finished checking this PC yet. Not checked yet');
  });

  it('while scanning', () => {
    expect(trayTooltip({ ...states.ok(), scanning: true }, hhmm)).toMatch(/Checking now…$/);
  });

  it('never exceeds 127 UTF-16 units (Windows szTip) and keeps status and time', () => {
    const long = scannedState([{ ...findings.compromisedInstall(), title: 'x'.repeat(400) }]);
    const t = trayTooltip(long, hhmm);
    expect(t.length).toBeLessThanOrEqual(TOOLTIP_MAX);
    expect(t.startsWith('Vigil: Compromised. ')).toBe(true);
    expect(t.endsWith('… Last check 09:30')).toBe(true);
    // Even with an absurd time format the whole string is capped.
    expect(trayTooltip(long, () => 'y'.repeat(300)).length).toBeLessThanOrEqual(TOOLTIP_MAX);
  });

  it('does not split a surrogate pair when shortening', () => {
    const s = 'ab' + '😀'.repeat(10);
    for (let max = 1; max < s.length; max++) {
      const t = truncate(s, max);
      expect(t.length).toBeLessThanOrEqual(max);
      expect(t).not.toMatch(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/);
    }
  });

  it('uses the same status words as the status window', () => {
    expect(STATUS_LABEL).toEqual(RENDERER_LABEL);
  });
});
