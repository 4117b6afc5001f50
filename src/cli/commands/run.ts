/**
 * `vigil run [--config FILE] [--once]`: the headless agent (src/core/agent.ts).
 *
 * Without --once it runs until interrupted: scans at start and every scanIntervalSec,
 * watches connections, sends heartbeats and alerts. With --once it enrols if needed, scans
 * once, sends one heartbeat and any alerts, flushes the outbox and exits with the scan's
 * exit code (0 ok, 1 attention, 2 compromised, 3 incomplete); what could not be delivered
 * stays in the outbox for the next run.
 */
import * as path from 'node:path';
import { EXIT, UsageError, type CliIo } from '../io.js';
import { parseOptions } from '../parse-options.js';
import { createJsonLogger, type Logger } from '../../core/logging/logger.js';
import type { AgentConfig } from '../../core/config/schema.js';
import { formatConfigProblem, loadEffectiveConfig, packsNamedByPolicy } from '../../core/config/effective.js';
import type { AgentState } from '../../core/agent.js';
import { assembleAgent, AssemblyError, realConnectionWatcher, type AssembledAgent, type AssemblyDeps } from '../../core/agent-assembly.js';
import { createProxyTransport, describeProxyPlan, planProxy } from '../../core/report/proxy-transport.js';
import { exitCodeFor } from '../../core/verdict/compute-verdict.js';
import type { FetchLike } from '../../core/report/transport.js';
import type { StableIdProbe } from '../../core/report/stable-id.js';

const HELP = `usage: vigil run [--config FILE] [--once]

Runs the agent: scans this PC at start and every scanIntervalSec, watches connections,
and reports to the partner backend named by serverUrl (enrolling with enrollToken once).

options:
  --config FILE   agent settings (JSON; see docs/PROTOCOL.md "Agent settings")
  --once          enrol, scan once, send one heartbeat and any alerts, then exit with
                  the scan's exit code: 0 ok, 1 attention, 2 compromised, 3 incomplete
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
  return runMain(argv, io, {});
}

export async function runMain(argv: string[], io: CliIo, deps: RunDeps): Promise<number> {
  const { values } = parseOptions({
    args: argv,
    options: { config: { type: 'string' }, once: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h', default: false } },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) {
    io.stdout(HELP);
    return EXIT.ok;
  }
  const { config, problems, packsFromPolicy } = await loadConfig(values.config, io);
  const log = createJsonLogger({ level: config.logLevel, write: (line) => io.stderr(line + '\n'), fields: { component: 'agent' } });
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
      packsFromPolicy,
    });
  } catch (err) {
    await transport.close();
    if (err instanceof AssemblyError) throw new UsageError(err.message);
    throw err;
  }
  try {
    return await runAgent(assembled, values.once, io, log, config);
  } finally {
    await transport.close();
  }
}

async function runAgent(assembled: AssembledAgent, once: boolean, io: CliIo, log: Logger, config: AgentConfig): Promise<number> {
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
  log.info('agent running', { stateDir, server: config.serverUrl ?? null, scanIntervalSec: config.scanIntervalSec });
  await io.interrupted;
  log.info('agent stopping');
  await agent.stop();
  return EXIT.ok;
}

function onceSummary(s: AgentState, delivered: boolean | undefined, failure: string | undefined): string {
  const lines: string[] = [];
  lines.push(s.verdict ? `verdict: ${s.verdict.status.toUpperCase()} - ${s.verdict.summary}` : `verdict: UNKNOWN - ${s.lastScanError ?? 'no scan completed'}`);
  if (delivered === undefined) lines.push('report: no serverUrl configured; nothing was sent');
  else if (delivered) lines.push(`report: delivered as ${s.report?.deviceId ?? '?'} (tenant ${s.report?.tenant?.name ?? '?'})`);
  else lines.push(`report: not delivered (${failure ?? 'unknown error'}); ${s.backlog?.pendingAlerts ?? 0} alerts and the heartbeat stay queued for the next run`);
  return lines.join('\n') + '\n';
}
