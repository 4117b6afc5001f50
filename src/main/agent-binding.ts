/**
 * Where the tray app meets the headless agent and its settings.
 *
 * - `loadAgentSettings` is the ONE place the tray app gets the agent's settings: the same
 *   machine-policy precedence loader as `vigil run` (src/core/config/effective.ts);
 *   nothing else in src/main reads settings.
 * - `createAgentFactory` builds the agent with the same `assembleAgent` as `vigil run`,
 *   with Electron's net.fetch as the reporter's transport (system proxy, PAC, OS
 *   certificate store), starts it, and adapts its state to the tray's schema
 *   (agent-state-map.ts).
 *
 * Nothing here may stop the app: settings that cannot be used, or an agent that cannot be
 * built or started, give an agent handle that stays grey and says why.
 */
import * as os from 'node:os';
import * as path from 'node:path';
import { channelPaths } from '../core/local-channel/channel-paths.js';
import { ownClaim, readChallenge } from '../core/local-channel/peer-proof.js';
import { createServiceAgentFactory, type ServiceAgentOptions } from './service-agent.js';
import type { AgentConfig } from '../core/config/schema.js';
import { formatConfigProblem, loadEffectiveConfig, packsNamedByPolicy, type LoadEffectiveConfigOptions } from '../core/config/effective.js';
import { machineSettingsFile } from '../core/config/sources.js';
import { assembleAgent, type AssemblyDeps } from '../core/agent-assembly.js';
import type { Agent } from '../core/agent.js';
import type { Logger } from '../core/logging/logger.js';
import type { FetchLike } from '../core/report/transport.js';
import { AGENT_VERSION } from '../core/version.js';
import type { AgentState } from '../shared/agent-state.js';
import type { PackRef } from '../shared/scan.js';
import { AgentUnavailableError, type AgentFactory, type AgentHandle, type Transport } from './agent-handle.js';
import { toTrayState, unavailableTrayState, type AgentStateContext } from './agent-state-map.js';
import { parseTraySettings, type TraySettings } from './settings.js';

// ---- settings -------------------------------------------------------------------------

export type SettingsLoad =
  | {
      ok: true;
      config: AgentConfig;
      /** Where the settings came from, for the log ("defaults" when no source had any). */
      source: string;
      /** Values that were ignored (each names the source and the key); the agent runs on the fallback. */
      problems: string[];
      /** True when machine policy is present: a managed install (no Quit unless policy allows it). */
      managed: boolean;
      /** Whether allowQuit came from a source, rather than the schema's default. */
      allowQuitSet: boolean;
      /** The packs setting is machine policy's: those packs must be signed by a trusted pack key. */
      packsFromPolicy?: boolean;
    }
  | { ok: false; problems: string[]; source: string };

/** The per-machine settings file an installer or an administrator puts in place. */
export const machineConfigPath = machineSettingsFile;

export interface LoadSettingsOptions {
  platform?: NodeJS.Platform;
  env?: Record<string, string | undefined>;
  /** Read this file instead of the per-machine one (development builds, tests). */
  file?: string;
  /** Replaces the platform's sources (tests). */
  sources?: LoadEffectiveConfigOptions['sources'];
}

/**
 * The agent's settings for the tray app, with the same precedence as `vigil run`
 * (src/core/config/effective.ts): machine policy, then the per-machine settings file, then
 * defaults, a bad value falling back to the next source or the last good configuration.
 * Never throws. `ok: false` only when the settings cannot be used at all: the loader
 * failed, a source names a server that none of them could supply ("fall back, never to
 * no server"), or a source cannot be read and no last good configuration covers it.
 */
export async function loadAgentSettings(opts: LoadSettingsOptions = {}): Promise<SettingsLoad> {
  const file = opts.file ?? machineConfigPath(opts.platform, opts.env as NodeJS.ProcessEnv);
  let eff;
  try {
    eff = await loadEffectiveConfig({
      settingsFile: file,
      ...(opts.platform ? { platform: opts.platform } : {}),
      ...(opts.env ? { env: opts.env as NodeJS.ProcessEnv } : {}),
      ...(opts.sources ? { sources: opts.sources } : {}),
    });
  } catch (e) {
    return { ok: false, problems: [`the settings could not be loaded: ${message(e)}`], source: file };
  }
  const problems = eff.problems.map(formatConfigProblem);
  const used = eff.sources.filter((x) => x.state === 'present').map((x) => x.name);
  const source = used.length ? used.join(', ') : 'defaults';
  const serverLost = eff.problems.some((p) => p.key === 'serverUrl') && eff.config.serverUrl === undefined;
  // A source that exists but cannot be read, with no last good configuration to stand in
  // for it: what it meant to say (a server, no Quit) is unknown, so do not guess.
  const sourceLost = eff.sources.some((x) => x.state === 'error') && !Object.values(eff.origins).some((o) => o.kind === 'last-good');
  if (serverLost || sourceLost) return { ok: false, problems, source };
  return {
    ok: true,
    config: eff.config,
    source,
    problems,
    managed: eff.sources.some((x) => x.kind === 'policy' && x.state !== 'absent'),
    allowQuitSet: eff.origins.allowQuit.kind !== 'default',
    packsFromPolicy: packsNamedByPolicy(eff.origins.packs),
  };
}

/**
 * What the tray shell takes from the settings: allowQuit, and autostart when the settings
 * name it (an MSI install sets `machine`). Quit is offered on an unmanaged PC unless the
 * settings say otherwise, and on a managed one only when policy allows it; settings that
 * cannot be used count as managed. parseTraySettings falls back per field.
 */
export function traySettingsFrom(load: SettingsLoad): TraySettings {
  if (!load.ok) return parseTraySettings({ allowQuit: false });
  const allowQuit = load.allowQuitSet ? load.config.allowQuit : !load.managed;
  const { autostart } = load.config as { autostart?: unknown };
  return parseTraySettings({ allowQuit, ...(autostart !== undefined ? { autostart } : {}) });
}

/** The sentence shown (banner and tooltip) when the settings cannot be used. */
export function settingsProblemReason(load: Extract<SettingsLoad, { ok: false }>): string {
  const first = load.problems[0] ?? `${load.source}: invalid`;
  const more = load.problems.length > 1 ? ` (and ${load.problems.length - 1} more)` : '';
  return `Vigil is not checking this PC because its settings cannot be used: ${first}${more}. Contact your IT provider.`;
}

// ---- the agent ------------------------------------------------------------------------

/** Reporting may fail this long (at least) before the tray shows the PC as not reporting. */
export const MIN_STALE_AFTER_MS = 15 * 60_000;

export interface TrayAgentOptions {
  settings: SettingsLoad;
  /**
   * Passed on to assembleAgent. Tests give a scanner over a fixture tree; LEAD: the
   * connection watcher `vigil run` gets goes here too, so both run the same agent.
   */
  assembly?: Pick<AssemblyDeps, 'scanner' | 'watcher' | 'extraChecks' | 'stableIdProbe' | 'targetRoot'>;
  /**
   * The per-user install: scan only this profile (the user's own) and the machine-wide
   * places; the scan says the other profiles were not checked, as `info`.
   */
  ownProfile?: string;
  hostname?: () => string;
  now?: () => Date;
}

const message = (e: unknown) => (e instanceof Error ? e.message : String(e));

/** Electron's net.fetch in the shape of the reporter's transport. */
export function transportAsFetch(transport: Transport): FetchLike {
  return (url, init) =>
    transport(url, {
      method: init.method,
      headers: init.headers,
      ...(init.body ? { body: new Uint8Array(init.body) } : {}),
      ...(init.signal ? { signal: init.signal } : {}),
    });
}

export function createAgentFactory(o: TrayAgentOptions): AgentFactory {
  const hostname = o.hostname ?? (() => os.hostname());
  const now = o.now ?? (() => new Date());
  return async ({ transport, fetch, credentialSealer, logger }) => {
    const tenant = o.settings.ok ? o.settings.config.tenant : undefined;
    const base = { agentVersion: AGENT_VERSION, hostname: hostname(), packs: [] as PackRef[], ...(tenant ? { tenant } : {}) };
    if (!o.settings.ok) {
      logger.error('the settings cannot be used; the agent is not running', { source: o.settings.source, problems: o.settings.problems });
      return new UnavailableAgent(settingsProblemReason(o.settings), base);
    }
    const config = o.settings.config;
    let agent: Agent;
    let packs: PackRef[];
    try {
      for (const problem of o.settings.problems) logger.warn('setting ignored', { problem });
      const assembled = await assembleAgent(config, {
        logger,
        fetch: fetch ?? transportAsFetch(transport),
        ...(credentialSealer ? { credentialSealer } : {}),
        settingProblems: o.settings.problems,
        packsFromPolicy: o.settings.packsFromPolicy === true,
        ...o.assembly,
        ...(o.ownProfile !== undefined ? { onlyProfile: o.ownProfile } : {}),
      });
      agent = assembled.agent;
      packs = assembled.packs.map((p) => p.ref);
    } catch (e) {
      logger.error('the agent could not be built from its settings', { source: o.settings.source, error: message(e) });
      return new UnavailableAgent(`Vigil is not checking this PC because its settings cannot be used: ${message(e)}. Contact your IT provider.`, base);
    }
    const startedAt = now();
    const staleAfterMs = Math.max(MIN_STALE_AFTER_MS, 3 * config.heartbeatIntervalSec * 1000);
    const handle = new CoreAgentHandle(agent, () => ({ ...base, packs, now: now(), startedAt, staleAfterMs }), logger);
    try {
      await agent.start();
    } catch (e) {
      logger.error('the agent could not start', { error: message(e) });
      await agent.stop().catch(() => undefined);
      return new UnavailableAgent(`Vigil’s checker could not start: ${message(e)}. Restart the PC or contact your IT provider.`, { ...base, packs });
    }
    logger.info('agent started', {
      settings: o.settings.source,
      server: config.serverUrl ?? null,
      scanIntervalSec: config.scanIntervalSec,
      packs: packs.map((p) => `${p.id}@${p.version}`),
    });
    return handle;
  };
}

/** The running core agent, seen through the tray's state schema. */
class CoreAgentHandle implements AgentHandle {
  private lastMapError = '';

  constructor(
    private readonly agent: Agent,
    private readonly context: () => AgentStateContext,
    private readonly log: Logger,
  ) {}

  getState(): AgentState {
    return this.map(this.agent.state());
  }

  onState(cb: (state: AgentState) => void): () => void {
    const off = this.agent.subscribe((s) => cb(this.map(s)));
    return () => {
      off();
    };
  }

  async checkNow(): Promise<void> {
    await this.agent.checkNow();
  }

  stop(): Promise<void> {
    return this.agent.stop();
  }

  private map(core: Parameters<typeof toTrayState>[0]): AgentState {
    const ctx = this.context();
    try {
      const state = toTrayState(core, ctx);
      this.lastMapError = '';
      return state;
    } catch (e) {
      // A bug, not the PC's state: say so in grey rather than paint a colour.
      const problem = message(e).slice(0, 500);
      if (problem !== this.lastMapError) this.log.error('agent state could not be mapped for the tray', { problem });
      this.lastMapError = problem;
      return unavailableTrayState('Vigil could not read its checker’s state. Details are in the log.', ctx);
    }
  }
}

/** No agent runs: grey, with the reason; Check now says the same. */
class UnavailableAgent implements AgentHandle {
  private readonly state: AgentState;

  constructor(
    private readonly reason: string,
    ctx: Parameters<typeof unavailableTrayState>[1],
  ) {
    this.state = unavailableTrayState(reason, ctx);
  }

  getState(): AgentState {
    return this.state;
  }

  onState(): () => void {
    return () => {};
  }

  async checkNow(): Promise<void> {
    throw new AgentUnavailableError(this.reason);
  }

  async stop(): Promise<void> {}
}

// ---- which agent ----------------------------------------------------------------------

/**
 * `service`: a per-machine install (MSI, pkg, deb) runs the machine agent as a service and
 * says so in its settings (`"autostart": "machine"`, which those installers write); the
 * tray is its client and never runs an agent itself. `in-process`: the per-user install
 * (NSIS, no admin rights) and development builds run the agent inside the tray, scoped to
 * the user's own profile.
 */
export type TrayAgentMode = 'service' | 'in-process';

export function trayAgentMode(load: SettingsLoad): TrayAgentMode {
  return load.ok && load.config.autostart === 'machine' ? 'service' : 'in-process';
}

// ---- both together --------------------------------------------------------------------

export interface TrayAgentBinding {
  load: SettingsLoad;
  settings: TraySettings;
  mode: TrayAgentMode;
  agentFactory: AgentFactory;
}

export interface BindTrayAgentOptions extends LoadSettingsOptions, Omit<TrayAgentOptions, 'settings' | 'ownProfile'> {
  /** The user's home folder; its last segment is the profile the per-user install scans. */
  homeDir?: string;
  /** Replaces the service endpoint and the peer proof's I/O (tests, development). */
  service?: Partial<Omit<ServiceAgentOptions, 'hostname' | 'tenant'>>;
}

/** Loads the settings once and binds the shell's settings and the agent to them. */
export async function bindTrayAgent(opts: BindTrayAgentOptions = {}): Promise<TrayAgentBinding> {
  const { platform, env, file, homeDir, service, ...agentOpts } = opts;
  const load = await loadAgentSettings({ ...(platform ? { platform } : {}), ...(env ? { env } : {}), ...(file ? { file } : {}) });
  const mode = trayAgentMode(load);
  const settings = traySettingsFrom(load);
  if (mode === 'service' && load.ok) {
    const agentFactory = createServiceAgentFactory({
      endpoint: service?.endpoint ?? channelPaths(platform ?? process.platform, env as NodeJS.ProcessEnv | undefined).endpoint,
      claim: service?.claim ?? ownClaim,
      readSecret: service?.readSecret ?? readChallenge,
      hostname: (agentOpts.hostname ?? (() => os.hostname()))(),
      ...(load.config.tenant ? { tenant: load.config.tenant } : {}),
      ...(agentOpts.now ? { now: agentOpts.now } : {}),
      ...(service?.retryMs !== undefined ? { retryMs: service.retryMs } : {}),
      ...(service?.maxRetryMs !== undefined ? { maxRetryMs: service.maxRetryMs } : {}),
    });
    return { load, settings, mode, agentFactory };
  }
  const ownProfile = path.basename(homeDir ?? os.homedir());
  return { load, settings, mode, agentFactory: createAgentFactory({ ...agentOpts, settings: load, ownProfile }) };
}
