/**
 * The outbound connection watch: polls a connection source at a fixed interval (2 s by
 * default), matches every socket's peer against the current indicator table, and reads
 * DNS evidence (the Windows DNS cache, the hosts file) on a slower schedule.
 *
 * One match event per new (indicator, process, remote address) pair - a process being a
 * pid with its executable (netwatch-findings.ts) - with its first-seen time, the
 * indicator and the evidence; later sightings of the same pair only update its counters
 * and last-seen time. Matches become findings (network / dns) with stable ids.
 *
 * The watcher never throws out of its loop: a failed poll, a malformed line, a process
 * that exits between listing and attribution, or a missing permission is counted in
 * stats() and reported once per distinct message through the 'problem' event.
 *
 * Attribution (pid -> name, path) runs only for the sockets that matched, and is cached
 * per socket: a held C2 connection costs one lookup, not one per poll. A socket that
 * turns to TIME_WAIT keeps the process it was attributed to while it was open.
 */
import { EventEmitter } from 'node:events';
import type { Finding } from '../../shared/scan.js';
import { silentLogger, type Logger } from '../logging/logger.js';
import { connectionKey, type Connection, type ConnectionSource, type SourceProblem } from './connection.js';
import { diffSnapshots, matchConnections, type ConnectionMatch } from './connection-matcher.js';
import type { DnsCacheReader, DnsCacheRecord } from './dns-cache-windows.js';
import { matchDnsCache, matchHostsFile } from './dns-evidence.js';
import type { HostsEntry, HostsFileReader } from './hosts-file.js';
import type { IndicatorRef, IndicatorTable } from './indicator-table.js';
import type { IndicatorTableProvider } from './indicator-resolver.js';
import { connectionFinding, dnsCacheFinding, hostsFinding, processIdentity } from './netwatch-findings.js';

export type MatchKind = 'connection' | 'dns-cache' | 'hosts-file';

export interface WatchMatch {
  /** The finding's id: stable for this (indicator, process, remote) or (indicator, name). */
  id: string;
  kind: MatchKind;
  indicator: IndicatorRef;
  firstSeen: Date;
  lastSeen: Date;
  /** Distinct sockets seen for this pair (connections); 1 for DNS evidence. */
  connections: number;
  /** Polls in which the pair was seen. */
  sightings: number;
  finding: Finding;
  /** The first matching socket, attributed (connections only). */
  connection?: Connection;
}

export interface WatchProblem {
  source: string;
  code: SourceProblem['code'] | 'poll';
  message: string;
  count?: number;
  at: Date;
}

export interface WatchStats {
  source: string;
  running: boolean;
  startedAt?: Date;
  polls: number;
  lastPollMs: number;
  maxPollMs: number;
  totalPollMs: number;
  /** Sockets in the last snapshot. */
  connections: number;
  matches: number;
  dnsPolls: number;
  lastDnsPollMs: number;
  /** Polls (connection or DNS) that failed outright. */
  errors: number;
  /** Problems reported by sources (malformed lines, permissions, vanished processes). */
  problems: number;
  lastError?: string;
  indicatorAddresses: number;
  indicatorDomains: number;
}

export interface PollResult {
  at: Date;
  durationMs: number;
  connections: number;
  matched: number;
  newMatches: WatchMatch[];
}

export interface NetWatcherOptions {
  source: ConnectionSource;
  indicators: IndicatorTableProvider;
  /** Connection poll interval (default 2000 ms). */
  intervalMs?: number;
  /** DNS cache reader (Windows). */
  dnsCache?: DnsCacheReader;
  /** Hosts file reader (every OS). */
  hosts?: HostsFileReader;
  /** DNS evidence interval (default 30 s: cache entries live for their TTL, usually minutes). */
  dnsIntervalMs?: number;
  now?: () => Date;
  logger?: Logger;
  /** Let the process exit while watching (for embedding in an app with its own lifetime). */
  unrefTimers?: boolean;
}

export class NetWatcher extends EventEmitter<{ match: [WatchMatch]; sighting: [WatchMatch]; problem: [WatchProblem]; poll: [PollResult] }> {
  private readonly o: Required<Omit<NetWatcherOptions, 'dnsCache' | 'hosts'>> & Pick<NetWatcherOptions, 'dnsCache' | 'hosts'>;
  private readonly records = new Map<string, WatchMatch>();
  private readonly reported = new Set<string>();
  /** Attributed matching sockets of the last poll, by connection key. */
  private attributed = new Map<string, Connection>();
  private previousMatchedKeys = new Set<string>();
  private hostsEntries: HostsEntry[] = [];
  private readonly s: WatchStats;
  private running = false;
  private pollTimer: NodeJS.Timeout | undefined;
  private dnsTimer: NodeJS.Timeout | undefined;
  private inflight: Promise<unknown> | undefined;
  private dnsInflight: Promise<unknown> | undefined;

  constructor(opts: NetWatcherOptions) {
    super();
    this.o = {
      intervalMs: opts.intervalMs ?? 2000,
      dnsIntervalMs: opts.dnsIntervalMs ?? 30_000,
      now: opts.now ?? (() => new Date()),
      logger: opts.logger ?? silentLogger,
      unrefTimers: opts.unrefTimers ?? false,
      source: opts.source,
      indicators: opts.indicators,
      dnsCache: opts.dnsCache,
      hosts: opts.hosts,
    };
    if (!(this.o.intervalMs > 0) || !(this.o.dnsIntervalMs > 0)) throw new RangeError('intervals must be positive');
    this.s = {
      source: opts.source.name,
      running: false,
      polls: 0,
      lastPollMs: 0,
      maxPollMs: 0,
      totalPollMs: 0,
      connections: 0,
      matches: 0,
      dnsPolls: 0,
      lastDnsPollMs: 0,
      errors: 0,
      problems: 0,
      indicatorAddresses: 0,
      indicatorDomains: 0,
    };
  }

  /** Polls now and then every interval; DNS evidence now and then every DNS interval. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.s.running = true;
    this.s.startedAt = this.o.now();
    this.loop();
    if (this.o.dnsCache || this.o.hosts) this.dnsLoop();
  }

  /** Stops polling and waits for a poll in progress to finish. */
  async stop(): Promise<void> {
    this.running = false;
    this.s.running = false;
    if (this.pollTimer) clearTimeout(this.pollTimer);
    if (this.dnsTimer) clearTimeout(this.dnsTimer);
    this.pollTimer = undefined;
    this.dnsTimer = undefined;
    await Promise.allSettled([this.inflight, this.dnsInflight]);
  }

  private timer(fn: () => void, ms: number): NodeJS.Timeout {
    const t = setTimeout(fn, ms);
    if (this.o.unrefTimers) t.unref();
    return t;
  }

  private loop(): void {
    if (!this.running) return;
    const t0 = performance.now();
    this.inflight = this.pollOnce().finally(() => {
      this.inflight = undefined;
      if (!this.running) return;
      const elapsed = performance.now() - t0;
      // Fixed rate; a poll slower than the interval still leaves the CPU a breather.
      this.pollTimer = this.timer(() => this.loop(), Math.max(this.o.intervalMs * 0.1, this.o.intervalMs - elapsed));
    });
  }

  private dnsLoop(): void {
    if (!this.running) return;
    this.dnsInflight = this.pollDnsOnce().finally(() => {
      this.dnsInflight = undefined;
      if (this.running) this.dnsTimer = this.timer(() => this.dnsLoop(), this.o.dnsIntervalMs);
    });
  }

  /** Current findings, one per match, in first-seen order. */
  findings(): Finding[] {
    return [...this.records.values()].map((r) => r.finding);
  }

  matches(): WatchMatch[] {
    return [...this.records.values()];
  }

  stats(): WatchStats {
    return { ...this.s };
  }

  private report(source: string, problems: readonly SourceProblem[]): void {
    for (const p of problems) {
      this.s.problems += p.count ?? 1;
      const key = `${source}\u0000${p.code}\u0000${p.message}`;
      if (this.reported.has(key)) continue;
      this.reported.add(key);
      const wp: WatchProblem = { source, code: p.code, message: p.message, at: this.o.now(), ...(p.count !== undefined ? { count: p.count } : {}) };
      this.o.logger.warn('netwatch problem', { source, code: p.code, problem: p.message });
      this.emit('problem', wp);
    }
  }

  private failed(source: string, err: unknown): void {
    this.s.errors++;
    const message = err instanceof Error ? err.message : String(err);
    this.s.lastError = `${source}: ${message}`;
    this.report(source, [{ code: 'io', message }]);
  }

  private noteTable(table: IndicatorTable): void {
    this.s.indicatorAddresses = table.addressCount;
    this.s.indicatorDomains = table.domainCount;
  }

  /** One connection poll. Never throws. */
  async pollOnce(): Promise<PollResult> {
    const t0 = performance.now();
    const at = this.o.now();
    const result: PollResult = { at, durationMs: 0, connections: 0, matched: 0, newMatches: [] };
    try {
      const snap = await this.o.source.snapshot({ attribute: 'none' });
      this.report(this.o.source.name, snap.problems);
      const table = this.o.indicators.table();
      this.noteTable(table);
      result.connections = snap.connections.length;
      const matches = matchConnections(snap.connections, table);
      result.matched = matches.length;
      const attributed = await this.attribute(matches);
      const { keys, added } = diffSnapshots(
        this.previousMatchedKeys,
        attributed.map((m) => m.connection),
      );
      const addedKeys = new Set(added.map(connectionKey));
      this.previousMatchedKeys = keys;
      const seenThisPoll = new Set<string>();
      const sighted: WatchMatch[] = [];
      for (const m of attributed) {
        const ckey = connectionKey(m.connection);
        for (const hit of m.hits) {
          const pair = `c|${hit.indicator.packId}|${hit.indicator.value}|${processIdentity(m.connection)}|${m.connection.remote.address}`;
          const rec = this.records.get(pair);
          if (!rec) {
            const finding = connectionFinding(m, hit, table.set.packs.get(hit.indicator.packId), at);
            const created: WatchMatch = {
              id: finding.id,
              kind: 'connection',
              indicator: hit.indicator,
              firstSeen: at,
              lastSeen: at,
              connections: 1,
              sightings: 1,
              finding,
              connection: m.connection,
            };
            this.records.set(pair, created);
            seenThisPoll.add(pair);
            this.s.matches++;
            result.newMatches.push(created);
            this.o.logger.warn('netwatch match', { finding: finding.title, id: finding.id });
            this.emit('match', created);
            continue;
          }
          if (addedKeys.has(ckey)) rec.connections++;
          if (!seenThisPoll.has(pair)) {
            seenThisPoll.add(pair);
            rec.sightings++;
            rec.lastSeen = at;
            sighted.push(rec);
          }
        }
      }
      for (const rec of sighted) {
        const detail = rec.finding.evidence.detail ?? {};
        detail.connections = rec.connections;
        detail.sightings = rec.sightings;
        detail.lastSeen = at.toISOString();
        rec.finding.evidence.detail = detail;
        this.emit('sighting', rec);
      }
      this.s.connections = snap.connections.length;
    } catch (err) {
      this.failed(this.o.source.name, err);
    }
    const ms = performance.now() - t0;
    result.durationMs = ms;
    this.s.polls++;
    this.s.lastPollMs = ms;
    this.s.totalPollMs += ms;
    this.s.maxPollMs = Math.max(this.s.maxPollMs, ms);
    this.emit('poll', result);
    return result;
  }

  /** Fills in the process of each matching socket, reusing what is known about the socket. */
  private async attribute(matches: ConnectionMatch[]): Promise<ConnectionMatch[]> {
    if (matches.length === 0) {
      this.attributed = new Map();
      return matches;
    }
    const next = new Map<string, Connection>();
    const out: ConnectionMatch[] = [];
    const todo: { index: number; key: string }[] = [];
    matches.forEach((m, index) => {
      const key = connectionKey(m.connection);
      const known = this.attributed.get(key);
      const c = m.connection;
      const sameSocket = known && (c.state === 'TIME_WAIT' || (c.inode !== undefined ? known.inode === c.inode : known.pid === c.pid));
      if (known && sameSocket && known.pid) {
        const reused: Connection = { ...c, pid: known.pid };
        if (known.processName !== undefined) reused.processName = known.processName;
        if (known.processPath !== undefined) reused.processPath = known.processPath;
        next.set(key, known);
        out.push({ ...m, connection: reused });
      } else {
        out.push(m);
        todo.push({ index, key });
      }
    });
    if (todo.length > 0) {
      try {
        const a = await this.o.source.attribute(todo.map((t) => matches[t.index]!.connection));
        this.report(this.o.source.name, a.problems);
        todo.forEach((t, i) => {
          const c = a.connections[i] ?? matches[t.index]!.connection;
          out[t.index] = { ...matches[t.index]!, connection: c };
          if (c.pid) next.set(t.key, c);
        });
      } catch (err) {
        this.failed(`${this.o.source.name} (attribution)`, err);
      }
    }
    this.attributed = next;
    return out;
  }

  /** One read of the DNS evidence (hosts file, DNS cache). Never throws. */
  async pollDnsOnce(): Promise<WatchMatch[]> {
    const t0 = performance.now();
    const at = this.o.now();
    const created: WatchMatch[] = [];
    const table = this.o.indicators.table();
    this.noteTable(table);
    const touch = (key: string, kind: MatchKind, indicator: IndicatorRef, make: () => Finding) => {
      const rec = this.records.get(key);
      if (rec) {
        rec.sightings++;
        rec.lastSeen = at;
        return;
      }
      const finding = make();
      const m: WatchMatch = { id: finding.id, kind, indicator, firstSeen: at, lastSeen: at, connections: 1, sightings: 1, finding };
      this.records.set(key, m);
      this.s.matches++;
      created.push(m);
      this.o.logger.warn('netwatch match', { finding: finding.title, id: finding.id });
      this.emit('match', m);
    };
    if (this.o.hosts) {
      const hosts = this.o.hosts;
      try {
        const r = await hosts.read();
        this.report(`hosts file`, r.problems);
        this.hostsEntries = r.entries;
        for (const m of matchHostsFile(r.entries, table)) {
          touch(`h|${m.indicator.packId}|${m.indicator.value}|${m.name}|${m.entry.address}`, 'hosts-file', m.indicator, () =>
            hostsFinding(m, table.set.packs.get(m.indicator.packId), hosts.displayPath, at),
          );
        }
      } catch (err) {
        this.failed('hosts file', err);
      }
    }
    if (this.o.dnsCache) {
      const cache = this.o.dnsCache;
      try {
        const r: { records: DnsCacheRecord[]; problems: SourceProblem[] } = await cache.read();
        this.report(cache.name, r.problems);
        for (const m of matchDnsCache(r.records, table, this.hostsEntries)) {
          touch(`d|${m.indicator.packId}|${m.indicator.value}|${m.matchedName}`, 'dns-cache', m.indicator, () =>
            dnsCacheFinding(m, table.set.packs.get(m.indicator.packId), cache.name, at),
          );
        }
      } catch (err) {
        this.failed(cache.name, err);
      }
    }
    this.s.dnsPolls++;
    this.s.lastDnsPollMs = performance.now() - t0;
    return created;
  }
}
