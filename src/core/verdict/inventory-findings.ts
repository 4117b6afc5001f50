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

/**
 * What a finding says about an indicator that rests on one public source: a title suffix
 * for people and `evidence.detail.singleSource` for the fleet page and scripts.
 */
function sourcing(indicator: { singleSource?: boolean | undefined }): { suffix: string; detail?: { singleSource: true } } {
  return indicator.singleSource ? { suffix: ' (one public source)', detail: { singleSource: true } } : { suffix: '' };
}

/** A file a distribution point (e.g. a 3CX PBX) hands out to clients. */
export interface ServedBy {
  applicationName: string;
  /** The application's servedAdvice id. */
  advice?: string;
}

/** Sets each install's version class and returns one finding per install. */
export function installFindings(pack: Pack, installs: Install[], now: Date): Finding[] {
  const findings: Finding[] = [];
  for (const inst of installs) {
    const app = pack.applications.find((a) => a.id === inst.application);
    if (!app) continue;
    if (app.role === 'distribution-point') {
      // Its own version is not judged; what it serves is (hash findings). Say what was hashed.
      const hashed = inst.files.filter((f) => f.sha256).length;
      const failed = inst.files.length - hashed;
      findings.push(
        makeFinding({
          category: 'install',
          severity: 'info',
          packId: pack.id,
          application: inst.application,
          ruleId: 'distribution-point',
          title: `${inst.applicationName} found at ${inst.location}: it serves ${inst.files.length} file${inst.files.length === 1 ? '' : 's'} to its clients; ${hashed} hashed and compared with the pack${failed ? `, ${failed} could not be read` : ''}.`,
          evidence: { path: inst.location, ...(inst.user ? { user: inst.user } : {}), detail: { servedFiles: inst.files.length, hashed } },
          observedAt: now,
        }),
      );
      continue;
    }
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
      const src = sourcing(rule);
      findings.push(
        makeFinding({
          ...base,
          severity,
          ruleId: rule.id,
          title: `${name}${whose(inst.user)}${where}: ${rule.summary}${src.suffix}`,
          ...(src.detail ? { evidence: { ...evidence, detail: src.detail } } : {}),
          advice: advice(pack, rule.advice),
        }),
      );
    }
  }
  return findings;
}

export function hashFindings(
  pack: Pack,
  platform: Platform,
  files: readonly (InstalledFile & { user?: string; servedBy?: ServedBy })[],
  now: Date,
): Finding[] {
  const findings: Finding[] = [];
  for (const f of files) {
    if (!f.sha256) continue;
    const bad = pack.hashes.find((h) => h.sha256 === f.sha256 && (!h.platform || h.platform === platform));
    if (!bad) continue;
    const src = sourcing(bad);
    // A served file is worse than a file on one PC: every client that installs or updates
    // from this server receives it, so it says so and takes the distribution point's advice.
    const title = f.servedBy
      ? `${f.servedBy.applicationName} hands a known malicious file to its clients: ${f.path} (${bad.description})${src.suffix}.`
      : `A known malicious file is on this PC: ${f.path} (${bad.description})${src.suffix}.`;
    const detail = { ...(f.servedBy ? { served: true } : {}), ...(src.detail ?? {}) };
    findings.push(
      makeFinding({
        category: 'hash',
        severity: 'compromised',
        packId: pack.id,
        ruleId: `sha256:${bad.sha256}`,
        title,
        evidence: {
          path: f.path,
          sha256: f.sha256,
          ...(f.size !== undefined ? { size: f.size } : {}),
          ...(f.user ? { user: f.user } : {}),
          indicator: bad.fileName,
          ...(Object.keys(detail).length ? { detail } : {}),
        },
        advice: advice(pack, f.servedBy?.advice ?? bad.advice) ?? advice(pack, bad.advice),
        observedAt: now,
      }),
    );
  }
  return findings;
}

export function artifactFindings(pack: Pack, hits: readonly ArtifactHit[], now: Date): Finding[] {
  return hits.map((h) => {
    const src = sourcing(h.artifact);
    return makeFinding({
      category: 'artifact',
      severity: h.artifact.class,
      packId: pack.id,
      ruleId: h.artifact.id,
      title: `${h.artifact.description}: found at ${h.path}${whose(h.user)}${src.suffix}.`,
      evidence: { path: h.path, ...(h.user ? { user: h.user } : {}), ...(src.detail ? { detail: src.detail } : {}) },
      advice: advice(pack, h.artifact.advice),
      observedAt: now,
    });
  });
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
