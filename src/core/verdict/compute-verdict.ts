/**
 * From findings to the device status the tray shows and the exit code RMM scripts read.
 *
 * Precedence: compromised > unknown > attention > ok. A definite compromise is always
 * shown. A scan that could not look where it matters (grey) outranks amber, because what
 * it could not see may be worse than the outdated client it did see; the summary still
 * names both, and the findings list keeps every item.
 */
import type { Finding, Status, Verdict } from '../../shared/scan.js';

export function computeVerdict(findings: readonly Finding[]): Verdict {
  const counts = { compromised: 0, attention: 0, unknown: 0, info: 0 };
  for (const f of findings) counts[f.severity]++;
  const status: Status =
    counts.compromised > 0 ? 'compromised' : counts.unknown > 0 ? 'unknown' : counts.attention > 0 ? 'attention' : 'ok';
  return { status, summary: summarise(status, findings, counts), counts };
}

function plural(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}

function summarise(status: Status, findings: readonly Finding[], counts: Verdict['counts']): string {
  const first = (sev: Finding['severity']) => findings.find((f) => f.severity === sev)?.title;
  switch (status) {
    case 'compromised':
      return counts.compromised === 1
        ? `Signs of compromise found: ${first('compromised')}`
        : `${plural(counts.compromised, 'sign', 'signs')} of compromise found, first: ${first('compromised')}`;
    case 'unknown':
      return `The check could not complete: ${first('unknown')}${counts.attention ? ` (also ${plural(counts.attention, 'item needs', 'items need')} attention)` : ''}`;
    case 'attention':
      return counts.attention === 1 ? `Action recommended: ${first('attention')}` : `Action recommended on ${counts.attention} items, first: ${first('attention')}`;
    case 'ok':
      return 'Nothing found: no affected software or signs of compromise.';
  }
}

/** Exit codes for `vigil check`: 0 ok, 1 attention, 2 compromised, 3 could not complete. */
export function exitCodeFor(status: Status): number {
  return { ok: 0, attention: 1, compromised: 2, unknown: 3 }[status];
}
