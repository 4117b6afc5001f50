/**
 * The netwatch watcher behind the agent's `ConnectionWatcher` interface (core/agent.ts):
 * the one place where the agent's packs, interval and logger become a running watch.
 *
 * - Indicators: the loaded packs' domains, URLs and IPs. Domains are resolved by an
 *   IndicatorResolver on its own schedule; the first poll runs at once with the literal
 *   IPs only, and domain addresses join the table as their lookups answer, so a slow or
 *   absent DNS never delays or blocks the watch (docs/NETWATCH.md).
 * - Source: the platform's (platform-source.ts): /proc on Linux, netstat on Windows (plus
 *   its DNS client cache), lsof on macOS; the hosts file everywhere.
 * - Findings: each match event becomes one onMatch(finding) call, except hosts-file lines
 *   that block a pack domain (severity info): they are the recommended mitigation, and the
 *   agent turns every finding it is handed into an alert.
 * - A throwing onMatch is logged and does not stop the watch: the watcher emits matches
 *   from inside its poll, where an exception would abort the rest of that poll's matches.
 */
import * as path from 'node:path';
import type { Finding, Platform } from '../../shared/scan.js';
import type { ConnectionWatcher } from '../agent.js';
import type { LoadedPack } from '../pack/load.js';
import { hostPlatform } from '../inventory/scan-target.js';
import type { Logger } from '../logging/logger.js';
import type { CommandRunner } from '../os/command-runner.js';
import { LocalTargetFs } from '../os/target-fs.js';
import type { ConnectionSource } from './connection.js';
import { HostsFileReader } from './hosts-file.js';
import { collectIndicators } from './indicator-table.js';
import { IndicatorResolver, SystemDnsResolver, type DnsResolver, type ResolverError } from './indicator-resolver.js';
import { platformNetwatch } from './platform-source.js';
import { NetWatcher, type WatchMatch, type WatchStats } from './watcher.js';

export interface AgentConnectionWatcherOptions {
  packs: readonly LoadedPack[];
  /** Connection poll interval in ms (the watcher's default, 2000, when not given). */
  intervalMs?: number;
  logger: Logger;
  /** DNS evidence interval in ms (hosts file, Windows DNS cache); 30 s by default. */
  dnsIntervalMs?: number;
  /** The machine's platform by default; tests and tools may name another. */
  platform?: Platform;
  /** Linux: proc root (tests use a fixture tree). */
  procRoot?: string;
  /** Runs netstat, lsof, ipconfig (Windows and macOS). */
  runner?: CommandRunner;
  /** Replaces the platform's connection source (the DNS evidence readers stay). */
  source?: ConnectionSource;
  /** Reads this hosts file instead of the system's (as `vigil watch --hosts` does). */
  hostsFile?: string;
  /** The system's resolver by default; only the packs' domains are ever looked up. */
  dns?: DnsResolver;
  env?: NodeJS.ProcessEnv;
}

export interface AgentConnectionWatcher extends ConnectionWatcher {
  /** Counters of the running (or last) watch; undefined before the first start(). */
  stats(): WatchStats | undefined;
  matches(): WatchMatch[];
}

/** Findings the agent should hear about: everything but a hosts-file line that blocks a C2 name. */
function forAgent(finding: Finding): boolean {
  return finding.severity !== 'info';
}

export function createAgentConnectionWatcher(opts: AgentConnectionWatcherOptions): AgentConnectionWatcher {
  const log = opts.logger.child({ component: 'netwatch' });
  const set = collectIndicators(opts.packs.map((p) => p.pack));
  const platform = opts.platform ?? hostPlatform();
  let watcher: NetWatcher | undefined;
  let resolver: IndicatorResolver | undefined;

  return {
    start(onMatch) {
      if (watcher?.stats().running) return;
      if (set.domains.length + set.ips.length === 0) {
        // URLs alone give nothing to match a socket against; their hosts are in `domains`.
        log.info('the packs name no network domains or addresses; connection watch not started', { packs: opts.packs.length });
        return;
      }
      const pn = platformNetwatch(platform, {
        ...(opts.runner ? { runner: opts.runner } : {}),
        ...(opts.procRoot ? { procRoot: opts.procRoot } : {}),
        env: opts.env ?? process.env,
      });
      resolver = new IndicatorResolver(set, opts.dns ?? new SystemDnsResolver());
      // A domain that cannot be resolved keeps failing on every retry (offline PC,
      // filtered DNS): log it when its error changes, not on each retry; a domain that
      // answers again is forgotten, so a later failure is logged again.
      const r = resolver;
      const lastError = new Map<string, string>();
      r.on('error', (e: ResolverError) => {
        if (lastError.get(e.domain) === e.code) return;
        lastError.set(e.domain, e.code);
        log.warn('could not resolve a pack domain; matching its last known addresses', { domain: e.domain, family: e.family, code: e.code });
      });
      r.on('updated', () => {
        for (const s of r.status()) if (s.lastError === undefined) lastError.delete(s.domain);
      });
      const w = new NetWatcher({
        source: opts.source ?? pn.source,
        indicators: resolver,
        hosts: opts.hostsFile ? new HostsFileReader(new LocalTargetFs(path.dirname(opts.hostsFile)), path.basename(opts.hostsFile)) : pn.hosts,
        ...(pn.dnsCache ? { dnsCache: pn.dnsCache } : {}),
        ...(opts.intervalMs !== undefined ? { intervalMs: opts.intervalMs } : {}),
        ...(opts.dnsIntervalMs !== undefined ? { dnsIntervalMs: opts.dnsIntervalMs } : {}),
        logger: log,
        // The agent (or the tray app) owns the process lifetime; the watch must not hold it open.
        unrefTimers: true,
      });
      w.on('match', (m) => {
        if (!forAgent(m.finding)) return;
        try {
          onMatch(m.finding);
        } catch (err) {
          log.error('the agent failed to take a connection finding', { findingId: m.finding.id, error: err });
        }
      });
      watcher = w;
      resolver.start();
      w.start();
      log.info('connection watch started', { source: w.stats().source, platform, intervalMs: opts.intervalMs ?? 2000, domains: set.domains.length, ips: set.ips.length });
    },

    async stop() {
      resolver?.stop();
      if (watcher) await watcher.stop();
    },

    stats: () => watcher?.stats(),
    matches: () => watcher?.matches() ?? [],
  };
}
