/**
 * `vigil watch [--json] [--pack FILE ...] [--no-builtin] [--interval SEC] [--duration SEC]
 *              [--dns-interval SEC] [--hosts FILE]`
 *
 * Watches this PC's connections (and, on Windows, its DNS cache; everywhere, its hosts
 * file) for the packs' malicious hosts, and prints each match as it happens: one line per
 * match for people, one JSON object per line with --json. Ends after --duration seconds,
 * or when interrupted; exit code 0 either way (64 for bad usage or an unreadable pack).
 */
import * as path from 'node:path';
import { EXIT, UsageError, type CliIo } from '../io.js';
import { parseOptions } from '../parse-options.js';
import { loadCommandPacks } from '../pack-options.js';
import { hostPlatform } from '../../core/inventory/scan-target.js';
import { LocalTargetFs } from '../../core/os/target-fs.js';
import { HostsFileReader } from '../../core/netwatch/hosts-file.js';
import { collectIndicators } from '../../core/netwatch/indicator-table.js';
import { IndicatorResolver, SystemDnsResolver } from '../../core/netwatch/indicator-resolver.js';
import { platformNetwatch } from '../../core/netwatch/platform-source.js';
import { NetWatcher, type WatchMatch, type WatchProblem } from '../../core/netwatch/watcher.js';

const HELP = `usage: vigil watch [options]

Watches this PC's network connections for the servers named by the incident packs and
prints each match as it happens (which process, which host). Also reads the hosts file,
and on Windows the DNS client cache.

options:
  --json                 one JSON object per line: {"event":"match",...}, then {"event":"summary",...}
  --pack FILE            also use this incident pack (repeatable)
  --no-builtin           use only the packs named with --pack
  --interval SEC         seconds between connection polls (default 2)
  --duration SEC         stop after this many seconds (default: until interrupted)
  --dns-interval SEC     seconds between reads of the DNS cache and hosts file (default 30)
  --hosts FILE           read this hosts file instead of the system's
  -h, --help             show this help

exit codes: 0 when the watch ends (at --duration or on Ctrl+C), 64 bad usage or unreadable pack
`;

function seconds(name: string, value: string | undefined, min: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^\d+(\.\d+)?$/.test(value.trim()) || !Number.isFinite(n) || n < min) {
    throw new UsageError(`--${name} must be a number of seconds of at least ${min}, not "${value}"`);
  }
  return n;
}

const MARK = { compromised: 'RED  ', attention: 'AMBER', unknown: 'GREY ', info: 'info ' } as const;

function humanMatch(m: WatchMatch): string {
  const f = m.finding;
  const lines = [`${m.firstSeen.toISOString()}  ${MARK[f.severity]}  ${f.title}`];
  if (f.evidence.process?.path) lines.push(`        process ${f.evidence.process.path}`);
  if (f.advice && f.severity === 'compromised') lines.push(`        what to do: ${f.advice.text}`);
  return lines.join('\n') + '\n';
}

export async function main(argv: string[], io: CliIo): Promise<number> {
  const { values } = parseOptions({
    args: argv,
    options: {
      json: { type: 'boolean', default: false },
      pack: { type: 'string', multiple: true, default: [] },
      'no-builtin': { type: 'boolean', default: false },
      interval: { type: 'string' },
      duration: { type: 'string' },
      'dns-interval': { type: 'string' },
      hosts: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) {
    io.stdout(HELP);
    return EXIT.ok;
  }
  const intervalS = seconds('interval', values.interval, 0.1) ?? 2;
  const durationS = seconds('duration', values.duration, 0.1);
  const dnsIntervalS = seconds('dns-interval', values['dns-interval'], 1) ?? 30;

  const { packs: merged, refused } = await loadCommandPacks(values.pack, values['no-builtin'], io);
  for (const r of refused) io.stderr(`vigil watch: ${r.reason}\n`);
  const set = collectIndicators(merged.map((p) => p.pack));
  if (set.domains.length + set.ips.length === 0) {
    io.stderr('vigil watch: the packs name no network domains or addresses; nothing to watch\n');
    return EXIT.ok;
  }

  const platform = hostPlatform();
  const pn = platformNetwatch(platform, { env: io.env });
  const hosts = values.hosts !== undefined ? (() => {
    const file = path.resolve(io.cwd, values.hosts);
    return new HostsFileReader(new LocalTargetFs(path.dirname(file)), path.basename(file));
  })() : pn.hosts;
  // Only the pack domains are ever looked up; with no domains, no DNS query is made.
  const resolver = new IndicatorResolver(set, new SystemDnsResolver());
  const watcher = new NetWatcher({
    source: pn.source,
    indicators: resolver,
    intervalMs: intervalS * 1000,
    dnsIntervalMs: dnsIntervalS * 1000,
    hosts,
    ...(pn.dnsCache ? { dnsCache: pn.dnsCache } : {}),
  });
  resolver.on('error', (e) => {
    if (!values.json) io.stderr(`vigil watch: note: could not resolve ${e.domain} (${e.code}); using its last known addresses\n`);
  });
  watcher.on('match', (m) => {
    if (values.json) io.stdout(JSON.stringify({ event: 'match', kind: m.kind, firstSeen: m.firstSeen.toISOString(), finding: m.finding }) + '\n');
    else io.stdout(humanMatch(m));
  });
  watcher.on('problem', (p: WatchProblem) => io.stderr(`vigil watch: note: ${p.source}: ${p.message}\n`));

  const started = Date.now();
  if (!values.json) {
    const titles = merged.map((p) => p.pack.title).join(', ');
    io.stdout(`Watching connections (${pn.source.name}, every ${intervalS} s) for ${set.domains.length} domains and ${set.ips.length} addresses from ${titles}${durationS ? ` for ${durationS} s` : ''}.\n`);
  }
  resolver.start();
  watcher.start();
  let timer: NodeJS.Timeout | undefined;
  const ended = durationS !== undefined ? new Promise<void>((resolve) => (timer = setTimeout(resolve, durationS * 1000))) : new Promise<void>(() => {});
  await Promise.race([ended, io.interrupted]);
  if (timer) clearTimeout(timer);
  await watcher.stop();
  resolver.stop();

  const s = watcher.stats();
  const matches = watcher.matches();
  if (values.json) {
    io.stdout(
      JSON.stringify({
        event: 'summary',
        seconds: Math.round((Date.now() - started) / 100) / 10,
        source: s.source,
        polls: s.polls,
        lastPollMs: Math.round(s.lastPollMs * 10) / 10,
        maxPollMs: Math.round(s.maxPollMs * 10) / 10,
        dnsPolls: s.dnsPolls,
        errors: s.errors,
        problems: s.problems,
        indicatorAddresses: s.indicatorAddresses,
        matches: matches.map((m) => ({ id: m.id, kind: m.kind, severity: m.finding.severity, firstSeen: m.firstSeen.toISOString(), lastSeen: m.lastSeen.toISOString(), connections: m.connections, sightings: m.sightings })),
      }) + '\n',
    );
  } else {
    const red = matches.filter((m) => m.finding.severity === 'compromised').length;
    io.stdout(
      `Watched for ${Math.round((Date.now() - started) / 1000)} s: ${s.polls} polls (last ${s.lastPollMs.toFixed(1)} ms), ${matches.length} match(es)${red ? `, ${red} of them compromise evidence` : ''}, ${s.errors} failed poll(s).\n`,
    );
  }
  return EXIT.ok;
}
