/**
 * Keeps the addresses of the packs' domains current, on a schedule, without ever making
 * the watch loop wait for DNS: the watcher reads table(), which is always the last
 * complete table; resolutions run in the background and swap in a new one.
 *
 * Per domain, A and AAAA are resolved with their TTLs (dns.promises.Resolver with
 * { ttl: true }); the next refresh is the smallest TTL clamped to [minRefreshMs,
 * maxRefreshMs], so a 5-second TTL does not make the agent query every 5 seconds and a
 * day-long TTL does not keep a moved C2 address for a day.
 *
 * Failures are tolerated and reported (status(), the 'error' event):
 * - "no such name" / "no records of this type" (ENOTFOUND, ENODATA) is an answer: that
 *   family has no addresses now; asked again after negativeRefreshMs.
 * - anything else (timeout, SERVFAIL, refused, no network) keeps the last known
 *   addresses, for at most maxStaleMs, and retries with a doubling delay from retryMs up
 *   to maxRefreshMs.
 */
import { Resolver } from 'node:dns/promises';
import { EventEmitter } from 'node:events';
import { domainsToResolve, IndicatorTable, type IndicatorTableOptions, type NetworkIndicatorSet, type ResolvedDomain } from './indicator-table.js';

export interface ResolvedAddress {
  address: string;
  /** Seconds. */
  ttl: number;
}

/** What the resolver needs from DNS; tests inject their own. */
export interface DnsResolver {
  resolve4(host: string): Promise<ResolvedAddress[]>;
  resolve6(host: string): Promise<ResolvedAddress[]>;
}

export interface SystemDnsResolverOptions {
  /** DNS servers ("1.2.3.4", "[::1]:5353"); the system's by default. */
  servers?: string[];
  /** Per-query timeout in ms (c-ares default is 5000 with 4 tries). */
  timeoutMs?: number;
  tries?: number;
}

/** node:dns Resolver (c-ares, the system's configured servers): a query per call, no cache. */
export class SystemDnsResolver implements DnsResolver {
  private readonly resolver: Resolver;

  constructor(opts: SystemDnsResolverOptions = {}) {
    this.resolver = new Resolver({ timeout: opts.timeoutMs ?? 3000, tries: opts.tries ?? 2 });
    if (opts.servers) this.resolver.setServers(opts.servers);
  }

  resolve4(host: string): Promise<ResolvedAddress[]> {
    return this.resolver.resolve4(host, { ttl: true });
  }

  resolve6(host: string): Promise<ResolvedAddress[]> {
    return this.resolver.resolve6(host, { ttl: true });
  }
}

export interface IndicatorTableProvider {
  table(): IndicatorTable;
}

export interface DomainStatus {
  domain: string;
  addresses: string[];
  /** When the last answer (even an empty one) arrived. */
  resolvedAt?: Date;
  nextRefreshAt: Date;
  /** Consecutive failed rounds (not counting "no such name"). */
  failures: number;
  lastError?: string;
  /** The domain does not exist now (NXDOMAIN for both families). */
  nonexistent?: boolean;
}

export interface IndicatorResolverOptions extends IndicatorTableOptions {
  minRefreshMs?: number;
  maxRefreshMs?: number;
  /** First retry delay after a failure; doubles up to maxRefreshMs. */
  retryMs?: number;
  /** Refresh delay after "no such name". */
  negativeRefreshMs?: number;
  /** Last known addresses are dropped when failures have lasted this long. */
  maxStaleMs?: number;
  /** Domains resolved at the same time. */
  concurrency?: number;
  now?: () => Date;
}

export interface ResolverError {
  domain: string;
  family: 4 | 6;
  code: string;
  message: string;
}

interface DomainState {
  domain: string;
  v4: string[];
  v6: string[];
  resolvedAt?: Date;
  /** Last time both families answered (for staleness). */
  lastGoodAt?: Date;
  nextAt: number;
  failures: number;
  lastError?: string;
  nonexistent?: boolean;
}

const NEGATIVE = new Set(['ENOTFOUND', 'ENODATA', 'NXDOMAIN', 'NODATA']);

/** Error code of a dns rejection (node uses e.g. "ENOTFOUND", "ETIMEOUT", "ESERVFAIL"). */
function dnsCode(err: unknown): string {
  const code = (err as { code?: unknown })?.code;
  return typeof code === 'string' ? code : 'EUNKNOWN';
}

export class IndicatorResolver extends EventEmitter<{ updated: [IndicatorTable]; error: [ResolverError] }> implements IndicatorTableProvider {
  private readonly states: DomainState[];
  private current: IndicatorTable;
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private round: Promise<void> | undefined;
  private readonly o: Required<Omit<IndicatorResolverOptions, 'keepLoopback'>> & IndicatorTableOptions;

  constructor(
    readonly set: NetworkIndicatorSet,
    private readonly resolver: DnsResolver,
    opts: IndicatorResolverOptions = {},
  ) {
    super();
    this.o = {
      minRefreshMs: opts.minRefreshMs ?? 60_000,
      maxRefreshMs: opts.maxRefreshMs ?? 3_600_000,
      retryMs: opts.retryMs ?? 30_000,
      negativeRefreshMs: opts.negativeRefreshMs ?? 600_000,
      maxStaleMs: opts.maxStaleMs ?? 86_400_000,
      concurrency: Math.max(1, opts.concurrency ?? 4),
      now: opts.now ?? (() => new Date()),
      ...(opts.keepLoopback !== undefined ? { keepLoopback: opts.keepLoopback } : {}),
    };
    if (this.o.minRefreshMs > this.o.maxRefreshMs) throw new RangeError('minRefreshMs must not exceed maxRefreshMs');
    const now = this.o.now().getTime();
    this.states = domainsToResolve(set).map((domain) => ({ domain, v4: [], v6: [], nextAt: now, failures: 0 }));
    this.current = this.build();
  }

  /** The last complete table: literal IPs always, domain addresses as last resolved. */
  table(): IndicatorTable {
    return this.current;
  }

  status(): DomainStatus[] {
    return this.states.map((s) => {
      const d: DomainStatus = { domain: s.domain, addresses: [...s.v4, ...s.v6], nextRefreshAt: new Date(s.nextAt), failures: s.failures };
      if (s.resolvedAt) d.resolvedAt = s.resolvedAt;
      if (s.lastError) d.lastError = s.lastError;
      if (s.nonexistent) d.nonexistent = true;
      return d;
    });
  }

  /** Starts resolving now and keeps refreshing until stop(). Never throws. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.schedule(0);
  }

  stop(): void {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Resolves when the round in progress (if any) is finished: for callers that want a first table. */
  async settled(): Promise<void> {
    while (this.round) await this.round;
  }

  private schedule(delayMs: number): void {
    if (!this.running) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.refreshDue().finally(() => {
        const next = Math.min(...this.states.map((s) => s.nextAt), Number.POSITIVE_INFINITY);
        if (Number.isFinite(next)) this.schedule(Math.max(1000, next - this.o.now().getTime()));
      });
    }, delayMs);
    this.timer.unref?.();
  }

  /** Resolves every domain that is due (all of them the first time). Never throws. */
  async refreshDue(): Promise<void> {
    if (this.round) return this.round;
    const now = this.o.now().getTime();
    const due = this.states.filter((s) => s.nextAt <= now);
    if (due.length === 0) return;
    this.round = (async () => {
      let changed = false;
      let next = 0;
      const worker = async () => {
        while (next < due.length) {
          const s = due[next++]!;
          if (await this.resolveOne(s)) changed = true;
        }
      };
      await Promise.all(Array.from({ length: Math.min(this.o.concurrency, due.length) }, worker));
      if (changed) {
        this.current = this.build();
        this.emit('updated', this.current);
      }
    })().finally(() => {
      this.round = undefined;
    });
    return this.round;
  }

  /** Returns true when the domain's addresses changed. */
  private async resolveOne(s: DomainState): Promise<boolean> {
    const before = [...s.v4, ...s.v6].join(',');
    const answers = await Promise.allSettled([this.resolver.resolve4(s.domain), this.resolver.resolve6(s.domain)]);
    const now = this.o.now();
    let transient = false;
    let nxdomain = 0;
    let minTtl = Number.POSITIVE_INFINITY;
    answers.forEach((a, i) => {
      const family: 4 | 6 = i === 0 ? 4 : 6;
      if (a.status === 'fulfilled') {
        const addrs = a.value.map((r) => r.address);
        if (family === 4) s.v4 = addrs;
        else s.v6 = addrs;
        for (const r of a.value) if (Number.isFinite(r.ttl) && r.ttl >= 0) minTtl = Math.min(minTtl, r.ttl);
        return;
      }
      const code = dnsCode(a.reason);
      if (NEGATIVE.has(code)) {
        if (family === 4) s.v4 = [];
        else s.v6 = [];
        if (code === 'ENOTFOUND' || code === 'NXDOMAIN') nxdomain++; // the name itself is gone
        return;
      }
      transient = true;
      const message = (a.reason as Error)?.message ?? String(a.reason);
      s.lastError = `${family === 4 ? 'A' : 'AAAA'}: ${code} ${message}`.trim();
      this.emit('error', { domain: s.domain, family, code, message });
    });
    s.nonexistent = nxdomain === 2;
    if (transient) {
      s.failures++;
      if (s.lastGoodAt && now.getTime() - s.lastGoodAt.getTime() > this.o.maxStaleMs) {
        s.v4 = [];
        s.v6 = [];
      }
      s.nextAt = now.getTime() + Math.min(this.o.maxRefreshMs, this.o.retryMs * 2 ** Math.min(s.failures - 1, 20));
    } else {
      s.failures = 0;
      delete s.lastError;
      s.resolvedAt = now;
      s.lastGoodAt = now;
      const ttlMs = Number.isFinite(minTtl) ? minTtl * 1000 : this.o.negativeRefreshMs;
      const wait = s.v4.length + s.v6.length === 0 ? this.o.negativeRefreshMs : ttlMs;
      s.nextAt = now.getTime() + Math.min(this.o.maxRefreshMs, Math.max(this.o.minRefreshMs, wait));
    }
    return [...s.v4, ...s.v6].join(',') !== before;
  }

  private build(): IndicatorTable {
    const resolved: ResolvedDomain[] = this.states.map((s) => ({
      domain: s.domain,
      addresses: [...s.v4, ...s.v6],
      ...(s.resolvedAt ? { resolvedAt: s.resolvedAt } : {}),
    }));
    return new IndicatorTable(this.set, resolved, this.o.keepLoopback ? { keepLoopback: true } : {}, this.o.now());
  }
}
