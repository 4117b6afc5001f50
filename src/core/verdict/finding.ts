/**
 * Building findings. A finding's id is a hash of what makes it the same finding from one
 * scan to the next (pack, rule, and the identifying evidence), so a backend can
 * de-duplicate alerts and a UI can tell a new finding from one it has already shown.
 */
import { createHash } from 'node:crypto';
import type { Advice, Evidence, Finding, FindingCategory, Severity } from '../../shared/scan.js';
import type { PackAdvice } from '../pack/schema.js';

export interface FindingInput {
  category: FindingCategory;
  severity: Severity;
  title: string;
  packId?: string;
  ruleId?: string;
  application?: string;
  evidence: Evidence;
  advice?: PackAdvice | Advice;
  /** Parts that identify this finding across scans; defaults to category, pack, rule, path, indicator. */
  identity?: readonly (string | number | undefined)[];
  observedAt?: Date;
}

export function findingId(parts: readonly (string | number | undefined)[]): string {
  return createHash('sha256')
    .update(parts.map((p) => (p === undefined ? '' : String(p))).join('\u0000'))
    .digest('hex')
    .slice(0, 32);
}

export function makeFinding(input: FindingInput): Finding {
  const identity = input.identity ?? [
    input.category,
    input.packId,
    input.ruleId,
    input.evidence.path,
    input.evidence.indicator,
    input.evidence.user,
  ];
  const finding: Finding = {
    id: findingId(identity),
    category: input.category,
    severity: input.severity,
    title: input.title,
    evidence: input.evidence,
    observedAt: (input.observedAt ?? new Date()).toISOString(),
  };
  if (input.packId !== undefined) finding.packId = input.packId;
  if (input.ruleId !== undefined) finding.ruleId = input.ruleId;
  if (input.application !== undefined) finding.application = input.application;
  if (input.advice) {
    finding.advice = {
      id: input.advice.id,
      title: input.advice.title,
      text: input.advice.text,
      steps: input.advice.steps ?? [],
      links: input.advice.links ?? [],
    };
  }
  return finding;
}
