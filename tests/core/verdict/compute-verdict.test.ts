import { describe, expect, it } from 'vitest';
import { computeVerdict, exitCodeFor } from '../../../src/core/verdict/compute-verdict.js';
import { makeFinding } from '../../../src/core/verdict/finding.js';
import type { Severity } from '../../../src/shared/scan.js';

const f = (severity: Severity, title: string) =>
  makeFinding({ category: 'install', severity, title, evidence: { path: title }, observedAt: new Date(0) });

describe('computeVerdict', () => {
  it('is ok with no findings or only info', () => {
    expect(computeVerdict([]).status).toBe('ok');
    expect(computeVerdict([f('info', 'cleared build')]).status).toBe('ok');
  });
  it('orders compromised > unknown > attention', () => {
    expect(computeVerdict([f('attention', 'a'), f('compromised', 'c'), f('unknown', 'u')]).status).toBe('compromised');
    expect(computeVerdict([f('attention', 'a'), f('unknown', 'u')]).status).toBe('unknown');
    expect(computeVerdict([f('attention', 'a'), f('info', 'i')]).status).toBe('attention');
  });
  it('counts and summarises in plain language', () => {
    const v = computeVerdict([f('compromised', '3CX 18.12.416 is a compromised build'), f('compromised', 'x'), f('attention', 'y')]);
    expect(v.counts).toEqual({ compromised: 2, attention: 1, unknown: 0, info: 0 });
    expect(v.summary).toContain('3CX 18.12.416 is a compromised build');
    const u = computeVerdict([f('unknown', 'Users/bob unreadable'), f('attention', 'old 3CX')]);
    expect(u.summary).toMatch(/could not complete.*also 1 item needs attention/);
  });
  it('maps statuses to the RMM exit codes', () => {
    expect([exitCodeFor('ok'), exitCodeFor('attention'), exitCodeFor('compromised'), exitCodeFor('unknown')]).toEqual([0, 1, 2, 3]);
  });
  it('gives the same finding the same id across scans', () => {
    const a = makeFinding({ category: 'hash', severity: 'compromised', title: 't', packId: 'p', ruleId: 'r', evidence: { path: '/x' }, observedAt: new Date(0) });
    const b = makeFinding({ category: 'hash', severity: 'compromised', title: 'other words', packId: 'p', ruleId: 'r', evidence: { path: '/x' }, observedAt: new Date(1e12) });
    const c = makeFinding({ category: 'hash', severity: 'compromised', title: 't', packId: 'p', ruleId: 'r', evidence: { path: '/y' } });
    expect(a.id).toBe(b.id);
    expect(a.id).not.toBe(c.id);
  });
});
