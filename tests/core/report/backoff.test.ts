import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { backoffDelayMs, DEFAULT_BACKOFF, parseRetryAfter } from '../../../src/core/report/backoff.js';

const policy = { baseMs: 1000, capMs: 60_000, floorMs: 100 };

describe('backoffDelayMs', () => {
  it('grows exponentially up to the cap with a maximal draw', () => {
    const max = () => 0.999999;
    expect([0, 1, 2, 3, 4, 5, 6, 7].map((a) => backoffDelayMs(a, policy, max))).toEqual([999, 1999, 3999, 7999, 15_999, 31_999, 59_999, 59_999]);
  });

  it('uses full jitter: the draw scales the delay, never below the floor', () => {
    expect(backoffDelayMs(3, policy, () => 0.5)).toBe(4000);
    expect(backoffDelayMs(3, policy, () => 0)).toBe(100);
    expect(backoffDelayMs(0, policy, () => 0.05)).toBe(100);
  });

  it('stays within [floor, cap] for any attempt and any draw, including absurd ones', () => {
    fc.assert(
      fc.property(fc.integer({ min: -5, max: 10_000 }), fc.double({ min: -1, max: 2, noNaN: true }), (attempt, r) => {
        const d = backoffDelayMs(attempt, DEFAULT_BACKOFF, () => r);
        return d >= DEFAULT_BACKOFF.floorMs && d <= DEFAULT_BACKOFF.capMs && Number.isInteger(d);
      }),
    );
  });

  it('honours a longer Retry-After, capped', () => {
    expect(backoffDelayMs(0, policy, () => 0.5, 30_000)).toBe(30_000);
    expect(backoffDelayMs(6, policy, () => 0.9, 1000)).toBe(54_000);
    expect(backoffDelayMs(0, policy, () => 0.5, 10 * 60_000)).toBe(60_000);
    expect(backoffDelayMs(0, policy, () => 0.5, Number.NaN)).toBe(500);
  });
});

describe('parseRetryAfter', () => {
  const now = Date.parse('2026-01-01T00:00:00Z');
  it('reads delta-seconds and HTTP dates', () => {
    expect(parseRetryAfter('120', now)).toBe(120_000);
    expect(parseRetryAfter(' 0 ', now)).toBe(0);
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter('Wed, 31 Dec 2025 23:00:00 GMT', now)).toBe(0);
  });
  it('ignores malformed values', () => {
    for (const v of [null, undefined, '', 'soon', '-5', '1.5', '99999999999']) expect(parseRetryAfter(v, now)).toBeUndefined();
  });
});
