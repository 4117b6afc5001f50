/**
 * Builds the agent from its effective settings: the one place that decides which scanner,
 * which connection watcher and which reporting options a running agent gets. `vigil run`
 * and the tray app's main process both call it, so the tray app cannot drift from the
 * headless agent that IT tests with RMM scripts. Only the transport differs (Node's fetch
 * in the CLI, Electron's net.fetch in the app), and it is passed in.
 */
import { FileCredentialStore, type SecretSealer } from './report/credential-store.js';
import type { Finding, ScanReport } from '../shared/scan.js';
import type { AgentConfig } from './config/schema.js';
import { defaultStateDir } from './config/state-dir.js';
import { createAgent, type Agent, type AgentReportOptions, type ConnectionWatcher } from './agent.js';
import type { ScanContext } from './scan.js';
import type { Logger } from './logging/logger.js';
import type { LoadedPack, PackRefusal } from './pack/load.js';
import { packRefusalFinding } from './pack/refusal-finding.js';
import { checkServerUrl } from './report/server-url.js';
import type { FetchLike } from './report/transport.js';
import type { StableIdProbe } from './report/stable-id.js';
import { makeFinding } from './verdict/finding.js';
import { createAgentConnectionWatcher } from './netwatch/agent-connection-watcher.js';
import { PackSet } from './fleet/pack-set.js';
import { packFollowingWatcher } from './fleet/pack-following-watcher.js';
import { fleetModuleFactory } from './fleet/fleet-assembly.js';

export type Scanner = () => Promise<ScanReport>;
export type ExtraCheck = (ctx: ScanContext) => Promise<Finding[]>;

export interface AssemblyDeps {
  /** The reporter's transport. Required when the settings name a server. */
  fetch?: FetchLike;
  logger: Logger;
  stableIdProbe?: StableIdProbe;
  /**
   * Replaces the real scan of this PC (tests, fixture trees). `packs` gives the packs
   * running at the moment of each scan (they change when the backend delivers one).
   */
  scanner?: (config: AgentConfig, log: Logger, packs: () => readonly LoadedPack[]) => Promise<Scanner>;
  /** Builds the connection watcher from the loaded packs; none when absent. */
  watcher?: (packs: readonly LoadedPack[], config: AgentConfig, log: Logger) => ConnectionWatcher | undefined;
  /** Checks folded into every scan: install signatures, the agent's own integrity. */
  extraChecks?: readonly ExtraCheck[];
  /**
   * Settings that were ignored while loading (each names the source and the key). They
   * become `info` findings, so the partner sees a misconfigured PC on the fleet page
   * without the user's tray changing colour.
   */
  settingProblems?: readonly string[];
  /**
   * The `packs` setting came from machine policy: those packs must be signed by a trusted
   * pack key. (Settings-file packs may be plain: an administrator wrote that file.)
   */
  packsFromPolicy?: boolean;
  /**
   * Seals the device secret in the state folder (the tray app: Electron's safeStorage).
   * Without it the secret is a 0600 file (`vigil run`).
   */
  credentialSealer?: SecretSealer;
  /** Scan this folder as the target instead of the live system (`vigil run --root`: an image, a fixture tree). */
  targetRoot?: string;
  /** Scan only this profile (the per-user install); the scan says the others were not checked. */
  onlyProfile?: string;
}

export class AssemblyError extends Error {
  constructor(
    readonly setting: string,
    message: string,
  ) {
    super(`${setting}: ${message}`);
    this.name = 'AssemblyError';
  }
}

export interface AssembledAgent {
  agent: Agent;
  stateDir: string;
  /** The packs the scanner and watcher start with (built-in plus configured ones that loaded). */
  packs: readonly LoadedPack[];
  /** The packs running now, including those the backend delivers later. */
  packSet: PackSet;
}

/**
 * Loads the built-in packs and the configured pack files. A configured pack that does not
 * load is not fatal: the agent keeps the others and every scan carries an `unknown`
 * finding that names the file and the problem, so the fleet page shows it. A configured
 * pack that loads but is unsigned never replaces a built-in or signed pack of the same id
 * (mergePacks): it is returned in `refused`, and every scan carries an `attention` finding
 * saying why.
 */
export async function loadConfiguredPacks(
  config: AgentConfig,
  log: Logger,
  opts: { packsFromPolicy?: boolean } = {},
): Promise<{ packs: LoadedPack[]; problems: string[]; refused: PackRefusal[] }> {
  const { builtinPacks, mergePacks } = await import('./pack/load.js');
  const packs: LoadedPack[] = [...(await builtinPacks())];
  const problems: string[] = [];
  // Signed envelopes verify against the trusted pack keys; packs named by machine policy
  // must be signed (docs/PACKS.md), packs named in the settings file may be plain.
  const loadOpts = { trustedKeys: config.packKeys, requireSignature: opts.packsFromPolicy === true };
  for (const file of config.packs) {
    try {
      // The pack schema (and zod) load only when the settings name packs.
      const { loadPackFile } = await import('./pack/parse-pack.js');
      packs.push(await loadPackFile(file, loadOpts));
    } catch (err) {
      problems.push((err as Error).message);
      log.error('configured pack not loaded', { pack: file, problem: (err as Error).message });
    }
  }
  const merged = mergePacks(packs);
  for (const r of merged.refused) log.warn('configured pack refused', { pack: r.pack.file ?? r.pack.pack.id, problem: r.reason });
  return { packs: merged.packs, problems, refused: merged.refused };
}

function packProblemCheck(problems: readonly string[]): ExtraCheck {
  return async () =>
    problems.map((p) =>
      makeFinding({ category: 'scan', severity: 'unknown', ruleId: 'pack-not-loaded', title: `A configured incident pack could not be loaded: ${p}`, evidence: { error: p } }),
    );
}

function packRefusalCheck(refused: readonly PackRefusal[]): ExtraCheck {
  return async (ctx) => refused.map((r) => packRefusalFinding(r, ctx.now));
}

function settingProblemCheck(problems: readonly string[]): ExtraCheck {
  return async () =>
    problems.map((p) =>
      makeFinding({ category: 'scan', severity: 'info', ruleId: 'setting-ignored', title: `A setting was ignored and its fallback used: ${p}`, evidence: { error: p } }),
    );
}

/**
 * The real scan of this PC over the given packs, as `vigil check` does it: inventory, the
 * install signatures against the packs' signer rules (with Windows' own trust verdict on
 * Windows), and the extra checks folded in.
 */
export function realScanner(packs: readonly LoadedPack[] | (() => readonly LoadedPack[]), extraChecks: readonly ExtraCheck[], targetRoot?: string, onlyProfile?: string): Scanner {
  const current = typeof packs === 'function' ? packs : () => packs;
  return async () => {
    const [{ runScan }, { openTarget }, { installSignatureCheck }, { WindowsAuthenticodeTrust }] = await Promise.all([
      import('./scan.js'),
      import('./inventory/scan-target.js'),
      import('./signing/install-signature-check.js'),
      import('./signing/windows-authenticode-trust.js'),
    ]);
    const target = await openTarget(targetRoot !== undefined ? { root: targetRoot } : {});
    const signatures = installSignatureCheck(target.platform === 'windows' && target.runner ? { osTrust: new WindowsAuthenticodeTrust(target.runner) } : {});
    return runScan({ target, packs: current(), extraChecks: [signatures, ...extraChecks], ...(onlyProfile !== undefined ? { onlyProfile } : {}) });
  };
}

/**
 * The connection watch a running agent gets: the platform's source (/proc on Linux,
 * netstat/tasklist on Windows, lsof on macOS) polled every `watchIntervalSec`, matched
 * against the packs' hosts (src/core/netwatch). `vigil run` and the tray app pass it;
 * tests that must stay off the host's sockets leave it out.
 */
export const realConnectionWatcher: NonNullable<AssemblyDeps['watcher']> = (packs, config, log) =>
  createAgentConnectionWatcher({ packs, intervalMs: config.watchIntervalSec * 1000, logger: log });

/** Report options for the settings, or undefined when no server is configured. */
export function reportOptions(
  config: AgentConfig,
  deps: Pick<AssemblyDeps, 'fetch' | 'stableIdProbe' | 'logger' | 'credentialSealer'>,
  stateDir: string = config.stateDir ?? defaultStateDir(),
): AgentReportOptions | undefined {
  if (config.serverUrl === undefined) {
    deps.logger.info('no serverUrl configured: scanning only, nothing is reported');
    return undefined;
  }
  const url = checkServerUrl(config.serverUrl, { allowInsecureHttp: config.allowInsecureHttp });
  if (!url.ok) throw new AssemblyError('serverUrl', url.reason);
  if (!deps.fetch) throw new AssemblyError('serverUrl', 'a server is configured but no transport was given');
  return {
    serverUrl: url.url,
    fetch: deps.fetch,
    ...(config.enrollToken !== undefined ? { enrollToken: config.enrollToken } : {}),
    ...(deps.stableIdProbe ? { stableIdProbe: deps.stableIdProbe } : {}),
    credentials: new FileCredentialStore(stateDir, {
      ...(deps.credentialSealer ? { sealer: deps.credentialSealer } : {}),
      onSealFailure: (problem) => deps.logger.warn('device credential not sealed', { problem }),
    }),
  };
}

export async function assembleAgent(config: AgentConfig, deps: AssemblyDeps): Promise<AssembledAgent> {
  const log = deps.logger;
  const stateDir = config.stateDir ?? defaultStateDir();
  const report = reportOptions(config, deps, stateDir);
  const { packs, problems, refused } = await loadConfiguredPacks(config, log, { packsFromPolicy: deps.packsFromPolicy === true });
  const checks = [packProblemCheck(problems), packRefusalCheck(refused), settingProblemCheck(deps.settingProblems ?? []), ...(deps.extraChecks ?? [])];
  const packSet = new PackSet(packs);
  const scan = deps.scanner ? await deps.scanner(config, log, () => packSet.current()) : realScanner(() => packSet.current(), checks, deps.targetRoot, deps.onlyProfile);
  const first = deps.watcher?.(packSet.current(), config, log);
  const watcher = first && deps.watcher ? packFollowingWatcher(packSet, { watcher: first, packs: packSet.current() }, (p) => deps.watcher!(p, config, log), log) : undefined;
  const agent = createAgent({
    scan,
    ...(watcher ? { watcher } : {}),
    ...(report ? { fleet: fleetModuleFactory({ stateDir, report, packSet, trustedKeys: config.packKeys, logger: log }) } : {}),
    stateDir,
    ...(report ? { report } : {}),
    scanIntervalMs: config.scanIntervalSec * 1000,
    heartbeatIntervalMs: config.heartbeatIntervalSec * 1000,
    logger: log,
  });
  return { agent, stateDir, packs: packSet.current(), packSet };
}
