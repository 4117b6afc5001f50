/**
 * One scan: inventory of every pack application, known-bad hashes on the files the packs
 * name, artefacts in every profile, then the verdict. Used by `vigil check`, the headless
 * agent and the tray app alike. It never throws for what it finds on disk: unreadable
 * places and malformed files become findings.
 */
import * as os from 'node:os';
import type { Finding, Install, InstalledFile, ScanReport } from '../shared/scan.js';
import type { LoadedPack } from './pack/load.js';
import { hostPlatform, type ScanTarget } from './inventory/scan-target.js';
import { listUserProfiles } from './inventory/user-profiles.js';
import { findInstalls, hashCandidateFiles, type InventoryReaders } from './inventory/find-installs.js';
import { findArtifacts } from './inventory/find-artifacts.js';
import type { LocationProblem } from './inventory/resolve-location.js';
import { artifactFindings, hashFindings, installFindings, problemFindings, type ServedBy } from './verdict/inventory-findings.js';
import { computeVerdict } from './verdict/compute-verdict.js';
import { makeFinding } from './verdict/finding.js';
import { platformReaders } from './inventory/platform-readers.js';
import { AGENT_VERSION } from './version.js';
import { ImageDigestCache } from './signing/image-digest-cache.js';

export interface ScanOptions {
  target: ScanTarget;
  /**
   * Scan only this user's profile (plus the machine-wide places): the per-user install,
   * which runs as that user and has no right to read the others. The scan then says, as
   * `info`, that the other profiles were not checked, rather than `unknown` for each.
   */
  onlyProfile?: string;
  packs: readonly LoadedPack[];
  readers?: InventoryReaders;
  /** Extra findings from other checks (signatures, self-integrity) to fold into the verdict. */
  extraChecks?: ReadonlyArray<(ctx: ScanContext) => Promise<Finding[]>>;
  now?: () => Date;
}

export interface ScanContext {
  target: ScanTarget;
  packs: readonly LoadedPack[];
  installs: readonly Install[];
  now: Date;
  /** Image digests inventory computed while hashing signed executables (one read per file). */
  imageDigests?: ImageDigestCache;
}

function onlyProfile(listed: Awaited<ReturnType<typeof listUserProfiles>>, name: string, caseInsensitive: boolean): Awaited<ReturnType<typeof listUserProfiles>> {
  const same = (a: string) => (caseInsensitive ? a.toLowerCase() === name.toLowerCase() : a === name);
  return { profiles: listed.profiles.filter((p) => same(p.name)), problems: [] };
}

export async function runScan(opts: ScanOptions): Promise<ScanReport> {
  const now = opts.now ?? (() => new Date());
  const started = now();
  // process.hrtime, not performance.now(): the `performance` global loads perf_hooks and
  // its eight internal modules, about 2 ms of a clean-PC `vigil check` (issue 11).
  const t0 = process.hrtime.bigint();
  const { target } = opts;
  const readers = opts.readers ?? platformReaders;
  const findings: Finding[] = [];
  const installs: Install[] = [];
  const problems: LocationProblem[] = [];
  const notes: string[] = [];

  const imageDigests = new ImageDigestCache();
  const listed = await listUserProfiles(target.fs, target.platform);
  const profiles = opts.onlyProfile === undefined ? listed : onlyProfile(listed, opts.onlyProfile, target.platform !== 'linux');
  problems.push(...listed.problems);
  if (opts.onlyProfile !== undefined) {
    const skipped = listed.profiles.length - profiles.profiles.length;
    findings.push(
      makeFinding({
        category: 'scan',
        severity: 'info',
        ruleId: 'other-profiles-not-checked',
        title:
          skipped > 0
            ? `Other profiles on this PC are not checked (${skipped}): this Vigil is installed for one user only. Ask your IT provider for the per-machine install to check every profile.`
            : 'Other profiles on this PC are not checked: this Vigil is installed for one user only.',
        evidence: { detail: { otherProfiles: skipped } },
        observedAt: started,
      }),
    );
  }

  for (const { pack } of opts.packs) {
    const ctx = {
      fs: target.fs,
      platform: target.platform,
      profiles: profiles.profiles,
      readers,
      live: target.live,
      imageDigests,
      ...(target.runner ? { runner: target.runner } : {}),
    };
    for (const app of pack.applications) {
      const why = app.notApplicable?.[target.platform];
      if (!app.platforms[target.platform]) notes.push(`${app.name}: not applicable on ${target.platform}${why ? `: ${why}` : ''}`);
    }
    const inv = await findInstalls(ctx, pack);
    problems.push(...inv.problems);
    notes.push(...inv.notes);
    installs.push(...inv.installs);
    findings.push(...installFindings(pack, inv.installs, started));

    const candidates = await hashCandidateFiles(ctx, pack);
    problems.push(...candidates.problems);
    const hashed: (InstalledFile & { user?: string; servedBy?: ServedBy })[] = [
      ...inv.installs.flatMap((i) => {
        const app = pack.applications.find((a) => a.id === i.application);
        const servedBy: ServedBy | undefined =
          app?.role === 'distribution-point' ? { applicationName: app.name, ...(app.servedAdvice ? { advice: app.servedAdvice } : {}) } : undefined;
        return i.files.map((f) => ({ ...f, ...(i.user ? { user: i.user } : {}), ...(servedBy ? { servedBy } : {}) }));
      }),
      ...candidates.files,
    ];
    findings.push(...hashFindings(pack, target.platform, hashed, started));

    const art = await findArtifacts(target.fs, target.platform, profiles.profiles, pack);
    problems.push(...art.problems);
    findings.push(...artifactFindings(pack, art.hits, started));
  }
  findings.push(...problemFindings(problems, started));

  for (const check of opts.extraChecks ?? []) {
    try {
      findings.push(...(await check({ target, packs: opts.packs, installs, now: started, imageDigests })));
    } catch (err) {
      findings.push(
        makeFinding({
          category: 'scan',
          severity: 'unknown',
          ruleId: 'check-failed',
          title: `One of the checks could not run: ${(err as Error).message}`,
          evidence: { error: (err as Error).message },
          observedAt: started,
        }),
      );
    }
  }

  if (opts.packs.length === 0) {
    findings.push(
      makeFinding({
        category: 'scan',
        severity: 'unknown',
        ruleId: 'no-packs',
        title: 'No incident packs are loaded, so nothing could be checked.',
        evidence: {},
        observedAt: started,
      }),
    );
  }

  return {
    agentVersion: AGENT_VERSION,
    host: { hostname: os.hostname(), platform: hostPlatform(), osRelease: os.release(), arch: os.arch() },
    target: { platform: target.platform, root: target.fs.root, live: target.live },
    startedAt: started.toISOString(),
    durationMs: Math.round(Number(process.hrtime.bigint() - t0) / 1e6),
    packs: opts.packs.map((p) => p.ref),
    installs,
    findings,
    notes: [...new Set(notes)],
    verdict: computeVerdict(findings),
  };
}
