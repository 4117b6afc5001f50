/**
 * `vigil run [--config FILE] [--once]`: the headless agent (src/core/agent.ts).
 *
 * Without --once it runs until interrupted: scans at start and every scanIntervalSec,
 * watches connections, sends heartbeats and alerts. With --once it enrols if needed, scans
 * once, sends one heartbeat and any alerts, flushes the outbox and exits with the scan's
 * exit code (0 ok, 1 attention, 2 compromised, 3 incomplete); what could not be delivered
 * stays in the outbox for the next run.
 */
import { parseArgs } from 'node:util';
import * as path from 'node:path';
import { EXIT, UsageError, type CliIo } from '../io.js';
import { createJsonLogger, type Logger } from '../../core/logging/logger.js';
import { AgentConfigSchema, type AgentConfig } from '../../core/config/schema.js';
import { loadAgentConfigFile } from '../../core/config/config-file.js';
import { defaultStateDir } from '../../core/config/state-dir.js';
import { checkServerUrl } from '../../core/report/server-url.js';
import { createAgent, type AgentReportOptions, type AgentState, type ConnectionWatcher } from '../../core/agent.js';
import { exitCodeFor } from '../../core/verdict/compute-verdict.js';
import { makeFinding } from '../../core/verdict/finding.js';
import type { FetchLike } from '../../core/report/transport.js';
import type { StableIdProbe } from '../../core/report/stable-id.js';
import type { ScanReport } from '../../shared/scan.js';

const HELP = `usage: vigil run [--config FILE] [--once]

Runs the agent: scans this PC at start and every scanIntervalSec, watches connections,
and reports to the partner backend named by serverUrl (enrolling with enrollToken once).

options:
  --config FILE   agent settings (JSON; see docs/PROTOCOL.md "Agent settings")
  --once          enrol, scan once, send one heartbeat and any alerts, then exit with
                  the scan's exit code: 0 ok, 1 attention, 2 compromised, 3 incomplete
  -h, --help      show this help
`;

export type Scanner = () => Promise<ScanReport>;

export interface RunDeps {
  /** Builds the scanner for these settings (default: the real scan of this PC). */
  scanner?: (config: AgentConfig, log: Logger) => Promise<Scanner>;
  /** The connection watcher (default: none yet; the lead wires src/core/netwatch here). */
  watcher?: (config: AgentConfig, log: Logger) => ConnectionWatcher | undefined;
  fetch?: FetchLike;
  stableIdProbe?: StableIdProbe;
}

/**
 * The single place `vigil run` gets its scanner: src/core/scan.ts `runScan` over the
 * built-in packs plus the packs the settings name. Imported lazily, so a problem in the
 * scanner shows up as an incomplete scan (exit 3), not as an agent that cannot start.
 */
export async function realScanner(config: AgentConfig, log: Logger): Promise<Scanner> {
  return async () => {
    const [{ runScan }, packsMod, { openTarget }] = await Promise.all([
      import('../../core/scan.js'),
      import('../../core/pack/load.js'),
      import('../../core/inventory/scan-target.js'),
    ]);
    const packs = [...(await packsMod.builtinPacks())];
    const packProblems: string[] = [];
    for (const file of config.packs) {
      try {
        packs.push(await packsMod.loadPackFile(file));
      } catch (err) {
        packProblems.push((err as Error).message);
        log.error('configured pack not loaded', { pack: file, problem: (err as Error).message });
      }
    }
    const target = await openTarget({});
    return runScan({
      target,
      packs: packsMod.mergePacks(packs),
      extraChecks: [
        async () =>
          packProblems.map((p) =>
            makeFinding({ category: 'scan', severity: 'unknown', ruleId: 'pack-not-loaded', title: `A configured incident pack could not be loaded: ${p}`, evidence: { error: p } }),
          ),
      ],
    });
  };
}

/**
 * The transport for the headless CLI: Node's global fetch (undici). Measured against
 * node-fetch 3 on the loopback server in bench/ingest.bench.ts; see docs/PROTOCOL.md.
 */
export const nodeFetch: FetchLike = (url, init) => fetch(url, init);

async function loadConfig(file: string | undefined, io: CliIo): Promise<AgentConfig> {
  if (file === undefined) return AgentConfigSchema.parse({});
  const loaded = await loadAgentConfigFile(path.resolve(io.cwd, file));
  if (!loaded.ok) throw new UsageError(`invalid settings:\n  ${loaded.problems.join('\n  ')}`);
  return loaded.config;
}

export function main(argv: string[], io: CliIo): Promise<number> {
  return runMain(argv, io, {});
}

export async function runMain(argv: string[], io: CliIo, deps: RunDeps): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: { config: { type: 'string' }, once: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h', default: false } },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  if (values.help) {
    io.stdout(HELP);
    return EXIT.ok;
  }
  const config = await loadConfig(values.config, io);
  const log = createJsonLogger({ level: config.logLevel, write: (line) => io.stderr(line + '\n'), fields: { component: 'agent' } });
  const stateDir = config.stateDir ?? defaultStateDir();

  let report: AgentReportOptions | undefined;
  if (config.serverUrl !== undefined) {
    const url = checkServerUrl(config.serverUrl, { allowInsecureHttp: config.allowInsecureHttp });
    if (!url.ok) throw new UsageError(`serverUrl: ${url.reason}`);
    if (config.proxy !== 'system' && config.proxy !== 'direct') {
      log.warn('a proxy URL is not supported by the headless CLI on Node 20 yet; connecting directly (the tray app uses the system proxy)', { proxy: config.proxy });
    }
    report = {
      serverUrl: url.url,
      fetch: deps.fetch ?? nodeFetch,
      ...(config.enrollToken !== undefined ? { enrollToken: config.enrollToken } : {}),
      ...(deps.stableIdProbe ? { stableIdProbe: deps.stableIdProbe } : {}),
    };
  } else {
    log.info('no serverUrl configured: scanning only, nothing is reported');
  }

  const scan = await (deps.scanner ?? realScanner)(config, log);
  const watcher = deps.watcher?.(config, log);
  const agent = createAgent({
    scan,
    ...(watcher ? { watcher } : {}),
    stateDir,
    ...(report ? { report } : {}),
    scanIntervalMs: config.scanIntervalSec * 1000,
    heartbeatIntervalMs: config.heartbeatIntervalSec * 1000,
    logger: log,
  });

  if (values.once) {
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
