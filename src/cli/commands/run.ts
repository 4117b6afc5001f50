/**
 * `vigil run [--config FILE] [--once]`: the headless agent (src/core/agent.ts).
 *
 * Without --once it runs until interrupted: scans at start and every scanIntervalSec,
 * watches connections, sends heartbeats and alerts. With --once it enrols if needed, scans
 * once, sends one heartbeat and any alerts, flushes the outbox and exits with the scan's
 * exit code (0 ok, 1 attention, 2 compromised, 3 incomplete); what could not be delivered
 * stays in the outbox for the next run.
 *
 * With --machine it is the machine agent (the Windows service, LaunchDaemon or systemd
 * unit): root / LocalSystem, state in the machine state folder, and the local channel the
 * tray app in each session connects to (src/core/local-channel/serve-machine-channel.ts).
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { EXIT, UsageError, type CliIo } from '../io.js';
import { parseOptions } from '../parse-options.js';
import { collectGarbagePeriodically, limitHeapGrowth } from '../agent-heap.js';
import { createJsonLogger, type Logger } from '../../core/logging/logger.js';
import type { AgentConfig } from '../../core/config/schema.js';
import { formatConfigProblem, loadEffectiveConfig, packsNamedByPolicy } from '../../core/config/effective.js';
import type { AgentState } from '../../core/agent.js';
import { assembleAgent, AssemblyError, realConnectionWatcher, type AssembledAgent, type AssemblyDeps } from '../../core/agent-assembly.js';
import { createProxyTransport, describeProxyPlan, planProxy } from '../../core/report/proxy-transport.js';
import { exitCodeFor } from '../../core/verdict/compute-verdict.js';
import type { FetchLike } from '../../core/report/transport.js';
import type { StableIdProbe } from '../../core/report/stable-id.js';
import { defaultStateDir } from '../../core/config/state-dir.js';
import { machineSettingsFile } from '../../core/config/sources.js';
import { RecentLog } from '../../core/local-channel/recent-log.js';
import { serveMachineChannel } from '../../core/local-channel/serve-machine-channel.js';
import type { LocalChannelServer } from '../../core/local-channel/channel-server.js';

const HELP = `usage: vigil run [--config FILE] [--once] [--machine [--channel-dir DIR]] [--root DIR]

Runs the agent: scans this PC at start and every scanIntervalSec, watches connections,
and reports to the partner backend named by serverUrl (enrolling with enrollToken once).

options:
  --config FILE   agent settings (JSON; see docs/PROTOCOL.md "Agent settings")
  --once          enrol, scan once, send one heartbeat and any alerts, then exit with
                  the scan's exit code: 0 ok, 1 attention, 2 compromised, 3 incomplete
  --machine       run as the machine agent (the service: root / LocalSystem): state in
                  the machine state folder, and the local channel the tray app in each
                  user's session connects to (docs/ARCHITECTURE.md "The local channel")
  --channel-dir DIR  with --machine: serve the channel from DIR instead of the OS's
                  run folder (development, tests)
  --root DIR      scan DIR (a mounted image, a fixture tree) instead of this PC
  -h, --help      show this help
`;

export interface RunDeps {
  /** Builds the scanner for these settings (default: the real scan of this PC). */
  scanner?: AssemblyDeps['scanner'];
  /** The connection watcher (default: the platform's real one, src/core/netwatch). */
  watcher?: AssemblyDeps['watcher'];
  /** Replaces the transport the proxy setting gives (tests). */
  fetch?: FetchLike;
  /** The environment the `system` proxy setting reads (default: process.env). */
  env?: NodeJS.ProcessEnv;
  stableIdProbe?: StableIdProbe;
  machine?: { isPrivileged?: () => boolean };
}


/**
 * The effective settings: machine policy, then the settings file (--config FILE, else the
 * per-machine one the installer writes), then defaults, as the tray app loads them. A bad
 * value never stops the agent: it is logged naming the key and the source, and the next
 * source, the last good value or the default applies (src/core/config/effective.ts).
 */
async function loadConfig(file: string | undefined, io: CliIo): Promise<{ config: AgentConfig; problems: string[]; packsFromPolicy: boolean }> {
  const eff = await loadEffectiveConfig(file === undefined ? {} : { settingsFile: path.resolve(io.cwd, file) });
  return { config: eff.config, problems: eff.problems.map(formatConfigProblem), packsFromPolicy: packsNamedByPolicy(eff.origins.packs) };
}

export function main(argv: string[], io: CliIo): Promise<number> {
  // The agent's process only (tests call runMain in their own process).
  limitHeapGrowth();
  collectGarbagePeriodically();
  return runMain(argv, io, {});
}

export async function runMain(argv: string[], io: CliIo, deps: RunDeps): Promise<number> {
  const { values } = parseOptions({
    args: argv,
    options: {
      config: { type: 'string' },
      once: { type: 'boolean', default: false },
      machine: { type: 'boolean', default: false },
      'channel-dir': { type: 'string' },
      root: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) {
    io.stdout(HELP);
    return EXIT.ok;
  }
  if (values.machine && values.once) throw new UsageError('--machine is the long-running service; it does not combine with --once');
  if (values['channel-dir'] !== undefined && !values.machine) throw new UsageError('--channel-dir is for --machine');
  const loaded = await loadConfig(values.config, io);
  const { problems, packsFromPolicy } = loaded;
  let config = loaded.config;
  const recentLog = values.machine ? new RecentLog() : undefined;
  const jsonLog = createJsonLogger({ level: config.logLevel, write: (line) => io.stderr(line + '\n'), fields: { component: 'agent' } });
  const log = recentLog ? recentLog.tee(jsonLog) : jsonLog;
  if (values.machine) config = await machineConfig(config, deps.machine?.isPrivileged ?? isPrivileged);
  for (const problem of problems) log.warn('setting ignored', { problem });

  const transport = createProxyTransport(planProxy(config.proxy, deps.env ?? process.env));
  if (config.serverUrl !== undefined) log.info('reporting transport', { via: describeProxyPlan(transport.plan) });
  let assembled;
  try {
    assembled = await assembleAgent(config, {
      logger: log,
      fetch: deps.fetch ?? transport.fetch,
      ...(deps.stableIdProbe ? { stableIdProbe: deps.stableIdProbe } : {}),
      ...(deps.scanner ? { scanner: deps.scanner } : {}),
      watcher: deps.watcher ?? realConnectionWatcher,
      settingProblems: problems,
      ...(values.root !== undefined ? { targetRoot: path.resolve(io.cwd, values.root) } : {}),
      packsFromPolicy,
    });
  } catch (err) {
    await transport.close();
    if (err instanceof AssemblyError) throw new UsageError(err.message);
    throw err;
  }
  try {
    const machine = values.machine
      ? { ...(recentLog ? { recentLog } : {}), ...(values['channel-dir'] !== undefined ? { dir: path.resolve(io.cwd, values['channel-dir']) } : {}) }
      : undefined;
    return await runAgent(assembled, values.once, io, log, config, machine);
  } finally {
    await transport.close();
  }
}

async function runAgent(
  assembled: AssembledAgent,
  once: boolean,
  io: CliIo,
  log: Logger,
  config: AgentConfig,
  machine: { recentLog?: RecentLog; dir?: string } | undefined,
): Promise<number> {
  const { agent, stateDir } = assembled;

  if (once) {
    const out = await agent.runOnce();
    const state = agent.state();
    io.stdout(onceSummary(state, out.flush?.ok, out.flush?.failure?.message));
    if (!out.scan) return EXIT.incomplete;
    return exitCodeFor(state.verdict?.status ?? out.scan.verdict.status);
  }

  let lastStatus: string | undefined;
  agent.subscribe((s) => {
    const status = s.verdict?.status;
    if (status && status !== lastStatus) {
      lastStatus = status;
      log.info('verdict', { status, summary: s.verdict?.summary });
    }
  });
  await agent.start();
  log.info('agent running', { stateDir, server: config.serverUrl ?? null, scanIntervalSec: config.scanIntervalSec, machine: machine !== undefined });
  let channel: LocalChannelServer | undefined;
  if (machine) {
    try {
      channel = await serveMachineChannel({
        agent,
        logger: log,
        heartbeatIntervalSec: config.heartbeatIntervalSec,
        ...(config.tenant ? { tenant: config.tenant } : {}),
        ...machine,
      });
    } catch (err) {
      // The agent still scans and reports; only the trays go grey. Said loudly, once.
      log.error('the local channel could not start; the tray apps cannot show this agent', { error: err });
    }
  }
  await io.interrupted;
  log.info('agent stopping');
  await channel?.close();
  await agent.stop();
  return EXIT.ok;
}

/**
 * The machine agent's settings: its state lives in the machine state folder (unless the
 * settings name one), which it keeps readable by itself and administrators only.
 */
async function machineConfig(config: AgentConfig, privileged: () => boolean): Promise<AgentConfig> {
  if (!privileged()) {
    throw new UsageError('vigil run --machine is the machine agent: run it as root (Linux, macOS) or as the Vigil service (Windows); a user runs the tray app instead');
  }
  const stateDir = config.stateDir ?? defaultStateDir(process.platform, process.env, true);
  // macOS keeps the settings users' trays read in the same folder: there the credential and
  // outbox files are owner-only instead (they are written 0600).
  const sharedWithSettings = path.resolve(stateDir) === path.dirname(machineSettingsFile());
  if (process.platform !== 'win32' && !sharedWithSettings) {
    await fsp.mkdir(stateDir, { recursive: true, mode: 0o700 });
    await fsp.chmod(stateDir, 0o700);
  }
  return { ...config, stateDir };
}

function isPrivileged(): boolean {
  // Windows: the service runs as LocalSystem; the MSI's ACL on ProgramData\Vigil keeps users out.
  return typeof process.getuid === 'function' ? process.getuid() === 0 : true;
}

function onceSummary(s: AgentState, delivered: boolean | undefined, failure: string | undefined): string {
  const lines: string[] = [];
  lines.push(s.verdict ? `verdict: ${s.verdict.status.toUpperCase()} - ${s.verdict.summary}` : `verdict: UNKNOWN - ${s.lastScanError ?? 'no scan completed'}`);
  if (delivered === undefined) lines.push('report: no serverUrl configured; nothing was sent');
  else if (delivered) lines.push(`report: delivered as ${s.report?.deviceId ?? '?'} (tenant ${s.report?.tenant?.name ?? '?'})`);
  else lines.push(`report: not delivered (${failure ?? 'unknown error'}); ${s.backlog?.pendingAlerts ?? 0} alerts and the heartbeat stay queued for the next run`);
  return lines.join('\n') + '\n';
}
