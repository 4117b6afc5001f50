/**
 * Version classes from a pack's rules. Pure: the same version and rules always give the
 * same answer, and the most severe matching rule wins (compromised > at-risk > safe), so a
 * pack can say "everything below 18.12.425 is at risk" and "18.12.416 is compromised"
 * without caring about rule order.
 */
import type { Platform } from '../../shared/scan.js';
import type { VersionClass, VersionRule } from '../pack/schema.js';

/** Parses "18.12.416" (or "18.12.416.0", "v18.12.416") into numbers; undefined if not dotted numeric. */
export function parseVersion(v: string): number[] | undefined {
  const m = /^v?(\d+(?:\.\d+){0,3})$/.exec(v.trim());
  if (!m) return undefined;
  return m[1]!.split('.').map((n) => Number.parseInt(n, 10));
}

/** Compares dotted versions numerically; missing trailing parts count as 0 (18.12 = 18.12.0). */
export function compareVersions(a: readonly number[], b: readonly number[]): number {
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  return 0;
}

export function ruleMatches(rule: VersionRule, version: readonly number[]): boolean {
  if (rule.versions?.length) {
    // Exact versions: "18.12.416" matches 18.12.416 and 18.12.416.0 alike.
    return rule.versions.some((v) => compareVersions(parseVersion(v)!, version) === 0);
  }
  if (rule.atLeast && compareVersions(version, parseVersion(rule.atLeast)!) < 0) return false;
  if (rule.below && compareVersions(version, parseVersion(rule.below)!) >= 0) return false;
  return true;
}

const RANK: Record<VersionClass, number> = { compromised: 3, 'at-risk': 2, safe: 1 };

export type VersionClassification =
  | { class: VersionClass; rule: VersionRule }
  | { class: 'unclassified'; rule?: undefined }
  | { class: 'unknown'; rule?: undefined };

export function classifyVersion(
  rules: readonly VersionRule[],
  application: string,
  platform: Platform,
  version: string | undefined,
): VersionClassification {
  if (version === undefined) return { class: 'unknown' };
  const parsed = parseVersion(version);
  if (!parsed) return { class: 'unknown' };
  let best: VersionRule | undefined;
  for (const rule of rules) {
    if (rule.application !== application || rule.platform !== platform) continue;
    if (!ruleMatches(rule, parsed)) continue;
    if (!best || RANK[rule.class] > RANK[best.class]) best = rule;
  }
  return best ? { class: best.class, rule: best } : { class: 'unclassified' };
}
