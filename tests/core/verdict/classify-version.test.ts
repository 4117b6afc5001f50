import { describe, expect, it } from 'vitest';
import { classifyVersion, compareVersions, parseVersion } from '../../../src/core/verdict/classify-version.js';
import type { VersionRule } from '../../../src/core/pack/schema.js';

const rule = (r: Partial<VersionRule> & Pick<VersionRule, 'id' | 'class'>): VersionRule => ({
  application: 'app',
  platform: 'windows',
  summary: r.id,
  advice: 'a',
  sources: ['s'],
  ...r,
});

// Mirrors the 3CX Windows situation: two compromised builds, everything else before the
// cleared build at risk, the cleared build and later safe.
const rules: VersionRule[] = [
  rule({ id: 'safe', class: 'safe', atLeast: '18.12.425' }),
  rule({ id: 'old', class: 'at-risk', below: '18.12.425' }),
  rule({ id: 'bad', class: 'compromised', versions: ['18.12.407', '18.12.416'] }),
  rule({ id: 'mac-bad', class: 'compromised', platform: 'macos', versions: ['18.11.1213'] }),
];

describe('parseVersion / compareVersions', () => {
  it('parses dotted numeric versions and rejects others', () => {
    expect(parseVersion('18.12.416')).toEqual([18, 12, 416]);
    expect(parseVersion('v18.12.416.0')).toEqual([18, 12, 416, 0]);
    expect(parseVersion('18.12.416-beta')).toBeUndefined();
    expect(parseVersion('')).toBeUndefined();
    expect(parseVersion('1.2.3.4.5')).toBeUndefined();
  });
  it('compares numerically, not as text', () => {
    expect(compareVersions([18, 11, 1213], [18, 12, 402])).toBe(-1);
    expect(compareVersions([18, 12, 416], [18, 12, 416, 0])).toBe(0);
    expect(compareVersions([18, 12, 425], [18, 12, 99])).toBe(1);
  });
});

describe('classifyVersion', () => {
  it('gives the most severe matching rule, whatever the rule order', () => {
    expect(classifyVersion(rules, 'app', 'windows', '18.12.416')).toMatchObject({ class: 'compromised', rule: { id: 'bad' } });
    expect(classifyVersion([...rules].reverse(), 'app', 'windows', '18.12.407.0')).toMatchObject({ class: 'compromised' });
    expect(classifyVersion(rules, 'app', 'windows', '18.12.422')).toMatchObject({ class: 'at-risk', rule: { id: 'old' } });
    expect(classifyVersion(rules, 'app', 'windows', '18.12.425')).toMatchObject({ class: 'safe' });
    expect(classifyVersion(rules, 'app', 'windows', '20.0.1')).toMatchObject({ class: 'safe' });
  });
  it('keeps platforms and applications apart', () => {
    expect(classifyVersion(rules, 'app', 'macos', '18.12.416')).toEqual({ class: 'unclassified' });
    expect(classifyVersion(rules, 'other', 'windows', '18.12.416')).toEqual({ class: 'unclassified' });
    expect(classifyVersion(rules, 'app', 'macos', '18.11.1213')).toMatchObject({ class: 'compromised' });
  });
  it('says unknown for a missing or non-numeric version', () => {
    expect(classifyVersion(rules, 'app', 'windows', undefined)).toEqual({ class: 'unknown' });
    expect(classifyVersion(rules, 'app', 'windows', 'garbage')).toEqual({ class: 'unknown' });
  });
});
