import { describe, expect, it } from 'vitest';
import { decideNotification, notificationContent, WorseNotifier, type KnownStatus } from '../../src/main/notify-on-worse.js';
import type { Status } from '../../src/shared/scan.js';
import { states } from './fixtures/agent-states.js';

describe('decideNotification', () => {
  it.each<[KnownStatus, Status, boolean, KnownStatus]>([
    ['ok', 'ok', false, 'ok'],
    ['ok', 'attention', true, 'attention'],
    ['ok', 'compromised', true, 'compromised'],
    ['attention', 'compromised', true, 'compromised'],
    ['attention', 'attention', false, 'attention'],
    ['compromised', 'attention', false, 'attention'],
    ['compromised', 'ok', false, 'ok'],
    ['ok', 'unknown', false, 'ok'],
    ['compromised', 'unknown', false, 'compromised'],
  ])('%s → %s: notify %s, baseline %s', (from, to, notify, baseline) => {
    expect(decideNotification(from, to)).toEqual({ notify, baseline });
  });
});

describe('WorseNotifier over a sequence', () => {
  const run = (seq: Status[]) => {
    const n = new WorseNotifier();
    const pick = { ok: states.ok, attention: states.attention, compromised: states.compromised, unknown: states.unknown };
    return seq.map((s) => n.observe(pick[s]())?.status ?? '-');
  };

  it('grey at start then red: one notification', () => {
    expect(run(['unknown', 'compromised', 'compromised', 'compromised'])).toEqual(['-', 'compromised', '-', '-']);
  });

  it('going offline and back does not repeat it', () => {
    expect(run(['compromised', 'unknown', 'compromised'])).toEqual(['compromised', '-', '-']);
  });

  it('a problem that comes back is a new change', () => {
    expect(run(['compromised', 'ok', 'compromised'])).toEqual(['compromised', '-', 'compromised']);
  });

  it('escalation notifies at each step up', () => {
    expect(run(['ok', 'attention', 'attention', 'compromised'])).toEqual(['-', 'attention', '-', 'compromised']);
  });
});

describe('notification text', () => {
  it('compromised is critical and says what to do', () => {
    const c = notificationContent(states.compromised());
    expect(c).toMatchObject({ status: 'compromised', title: 'This PC may be compromised', urgency: 'critical' });
    expect(c?.body).toMatch(/^3 signs of compromise found.*Open Vigil to see what to do\.$/);
  });

  it('nothing for ok or unknown', () => {
    expect(notificationContent(states.ok())).toBeNull();
    expect(notificationContent(states.unknown())).toBeNull();
  });
});
