/**
 * Pure rules from what inventory saw to findings: version classes, known-bad hashes,
 * artefacts, and places that could not be read. The words a person reads come from the
 * pack (rule summaries, advice); only the sentence frame is here.
 */
import type { Finding, Install, InstalledFile, Platform } from '../../shared/scan.js';
import type { Pack, PackAdvice } from '../pack/schema.js';
import type { ArtifactHit } from '../inventory/find-artifacts.js';
import type { LocationProblem } from '../inventory/resolve-location.js';
import { classifyVersion } from './classify-version.js';
import { makeFinding } from './finding.js';

function advice(pack: Pack, id: string): PackAdvice | undefined {
  return pack.advice.find((a) => a.id === id);
}

/** The pack's advice for an install it cannot classify: its fallbackAdvice, else its first. */
function fallbackAdvice(pack: Pack): PackAdvice | undefined {
  return (pack.fallbackAdvice !== undefined ? advice(pack, pack.fallbackAdvice) : undefined) ?? pack.advice[0];
}

function whose(user: string | undefined): string {
  return user ? ` for user ${user}` : '';
}

/** Sets each install's version class and returns one finding per install. */
export function installFindings(pack: Pack, installs: Install[], now: Date): Finding[] {
  const findings: Finding[] = [];
  for (const inst of installs) {
    if (!pack.applications.some((a) => a.id === inst.application)) continue;
    const c = classifyVersion(pack.versionRules, inst.application, inst.platform, inst.version);
    inst.versionClass = c.class;
    const registryOnly = inst.files.length === 0 && inst.versionSource === 'registry';
    const evidence = {
      path: inst.location,
      ...(inst.version ? { version: inst.version } : {}),
      ...(inst.versionSource ? { versionSource: inst.versionSource } : {}),
      ...(inst.user ? { user: inst.user } : {}),
    };
    const base = { category: 'install' as const, packId: pack.id, application: inst.application, evidence, observedAt: now };
    const name = `${inst.applicationName}${inst.version ? ` ${inst.version}` : ''}`;
    if (c.class === 'unknown') {
      findings.push(
        makeFinding({
          ...base,
          severity: 'attention',
          ruleId: 'version-unreadable',
          title: `${inst.applicationName} is installed${whose(inst.user)} but its version could not be read, so it may be an affected build.`,
          evidence: { ...evidence, ...(inst.versionSource?.startsWith('unreadable') ? { error: inst.versionSource.replace(/^unreadable: /, '') } : {}) },
          advice: fallbackAdvice(pack),
        }),
      );
    } else if (c.class === 'unclassified') {
      findings.push(
        makeFinding({
          ...base,
          severity: 'attention',
          ruleId: 'version-unclassified',
          title: `${name} is installed${whose(inst.user)}; the ${pack.title} pack has no rule for this version, so check it with IT.`,
          advice: fallbackAdvice(pack),
        }),
      );
    } else {
      const rule = c.rule;
      // Files gone but the uninstall entry remains: real evidence, but not proof the code is on disk.
      const severity = c.class === 'compromised' ? (registryOnly ? 'attention' : 'compromised') : c.class === 'at-risk' ? 'attention' : 'info';
      const where = registryOnly ? ` (per its uninstall entry; its files were not found at ${inst.location})` : '';
      findings.push(
        makeFinding({
          ...base,
          severity,
          ruleId: rule.id,
          title: `${name}${whose(inst.user)}${where}: ${rule.summary}`,
          advice: advice(pack, rule.advice),
        }),
      );
    }
  }
  return findings;
}

export function hashFindings(pack: Pack, platform: Platform, files: readonly (InstalledFile & { user?: string })[], now: Date): Finding[] {
  const findings: Finding[] = [];
  for (const f of files) {
    if (!f.sha256) continue;
    const bad = pack.hashes.find((h) => h.sha256 === f.sha256 && (!h.platform || h.platform === platform));
    if (!bad) continue;
    findings.push(
      makeFinding({
        category: 'hash',
        severity: 'compromised',
        packId: pack.id,
        ruleId: `sha256:${bad.sha256}`,
        title: `A known malicious file is on this PC: ${f.path} (${bad.description}).`,
        evidence: { path: f.path, sha256: f.sha256, ...(f.size !== undefined ? { size: f.size } : {}), ...(f.user ? { user: f.user } : {}), indicator: bad.fileName },
        advice: advice(pack, bad.advice),
        observedAt: now,
      }),
    );
  }
  return findings;
}

export function artifactFindings(pack: Pack, hits: readonly ArtifactHit[], now: Date): Finding[] {
  return hits.map((h) =>
    makeFinding({
      category: 'artifact',
      severity: h.artifact.class,
      packId: pack.id,
      ruleId: h.artifact.id,
      title: `${h.artifact.description}: found at ${h.path}${whose(h.user)}.`,
      evidence: { path: h.path, ...(h.user ? { user: h.user } : {}) },
      advice: advice(pack, h.artifact.advice),
      observedAt: now,
    }),
  );
}

/**
 * Places that could not be read where the pack needed to look. "Missing" is not a
 * problem (most PCs have no 3CX folder); "permission denied" is, because it hides what
 * may be there.
 */
export function problemFindings(problems: readonly (LocationProblem & { packId?: string })[], now: Date): Finding[] {
  const seen = new Set<string>();
  const findings: Finding[] = [];
  for (const p of problems) {
    const key = `${p.path}\u0000${p.code}`;
    if (seen.has(key)) continue;
    seen.add(key);
    findings.push(
      makeFinding({
        category: 'scan',
        severity: 'unknown',
        ruleId: `unreadable:${p.code}`,
        title: `Could not check ${p.path}${whose(p.user)}: ${p.code === 'EACCES' || p.code === 'EPERM' ? 'permission denied' : p.message}. Run the check with administrator rights.`,
        evidence: { path: p.path, error: p.message, ...(p.user ? { user: p.user } : {}) },
        identity: ['scan', p.path, p.code],
        observedAt: now,
      }),
    );
  }
  return findings;
}
