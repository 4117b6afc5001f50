/**
 * The packs' network indicators in the form the matchers need: an address table (literal
 * IP indicators plus the current addresses of the pack domains) and a domain table for
 * DNS evidence. Pure: the resolver (indicator-resolver.ts) supplies resolved addresses
 * and swaps in a new table when they change; the watch loop only ever reads the last one.
 *
 * Rules (docs/NETWATCH.md):
 * - A domain indicator matches that name and every subdomain of it in DNS evidence, and
 *   its resolved addresses in connections.
 * - A literal IP indicator matches connections to that address, whatever it is.
 * - A resolved address that cannot be one server's (0.0.0.0, ::, multicast, broadcast)
 *   is never put in the table; neither is loopback, which a DNS filter answers for a
 *   blocked name and which would make every local connection a "match", unless the
 *   caller opts in (keepLoopback: tests and labs that point a test domain at 127.x).
 * - A URL indicator (a path on shared infrastructure such as raw.githubusercontent.com)
 *   is matched only against full URLs (matchUrl). Its host is never looked up and never
 *   matched by address or by DNS name: a lookup of raw.githubusercontent.com says nothing
 *   about which path was fetched.
 */
import type { Pack, PackAdvice } from '../pack/schema.js';
import { canonicalIp, isLoopback, isMulticastOrBroadcast, isUnspecified } from './ip-address.js';

export interface PackNetworkInfo {
  packId: string;
  packTitle: string;
  /** The advice the pack names for network indicators. */
  advice?: PackAdvice;
}

export interface IndicatorRef {
  packId: string;
  kind: 'domain' | 'ip' | 'url';
  /** The domain, canonical IP, or URL as the pack states it. */
  value: string;
  description?: string;
  /** The pack marks this indicator as resting on one public source. */
  singleSource?: true;
}

interface UrlIndicator {
  ref: IndicatorRef;
  host: string;
  /** Lowercased path prefix; GitHub user and repository names are case-insensitive. */
  path: string;
}

export interface NetworkIndicatorSet {
  packs: Map<string, PackNetworkInfo>;
  domains: IndicatorRef[];
  ips: IndicatorRef[];
  urls: UrlIndicator[];
}

export function normalizeDomainName(name: string): string {
  return name.trim().toLowerCase().replace(/\.+$/, '');
}

/** Everything the packs say about the network, deduplicated per pack. */
export function collectIndicators(packs: readonly Pack[]): NetworkIndicatorSet {
  const set: NetworkIndicatorSet = { packs: new Map(), domains: [], ips: [], urls: [] };
  for (const pack of packs) {
    const net = pack.network;
    if (!net) continue;
    const info: PackNetworkInfo = { packId: pack.id, packTitle: pack.title };
    const advice = pack.advice.find((a) => a.id === net.advice);
    if (advice) info.advice = advice;
    set.packs.set(pack.id, info);
    const seen = new Set<string>();
    const add = (list: IndicatorRef[], ref: IndicatorRef) => {
      const key = `${ref.kind}|${ref.value}`;
      if (seen.has(key)) return;
      seen.add(key);
      list.push(ref);
    };
    for (const d of net.domains) {
      add(set.domains, { packId: pack.id, kind: 'domain', value: normalizeDomainName(d.domain), ...(d.description ? { description: d.description } : {}), ...(d.singleSource ? { singleSource: true as const } : {}) });
    }
    for (const i of net.ips) {
      const ip = canonicalIp(i.ip);
      if (!ip) continue;
      add(set.ips, { packId: pack.id, kind: 'ip', value: ip.address, ...(i.description ? { description: i.description } : {}), ...(i.singleSource ? { singleSource: true as const } : {}) });
    }
    for (const u of net.urls) {
      let parsed: URL;
      try {
        parsed = new URL(u.url);
      } catch {
        continue;
      }
      const ref: IndicatorRef = { packId: pack.id, kind: 'url', value: u.url, ...(u.description ? { description: u.description } : {}), ...(u.singleSource ? { singleSource: true as const } : {}) };
      if (seen.has(`url|${u.url}`)) continue;
      seen.add(`url|${u.url}`);
      set.urls.push({ ref, host: normalizeDomainName(parsed.hostname), path: parsed.pathname.toLowerCase() });
    }
  }
  return set;
}

/** Domains to resolve: each once, even when several packs name it. */
export function domainsToResolve(set: NetworkIndicatorSet): string[] {
  return [...new Set(set.domains.map((d) => d.value))].sort();
}

export interface AddressHit {
  indicator: IndicatorRef;
  /** For a domain indicator: when the address was last seen in its DNS answer. */
  resolvedAt?: Date;
}

export interface ResolvedDomain {
  domain: string;
  addresses: readonly string[];
  resolvedAt?: Date;
}

export interface IndicatorTableOptions {
  /** Keep loopback answers (tests and labs only; see the module comment). */
  keepLoopback?: boolean;
}

/** Whether a DNS answer for a pack domain goes into the address table. */
export function usableResolvedAddress(address: string, opts: IndicatorTableOptions = {}): boolean {
  if (isUnspecified(address) || isMulticastOrBroadcast(address)) return false;
  if (isLoopback(address) && !opts.keepLoopback) return false;
  return true;
}

export class IndicatorTable {
  readonly builtAt: Date;
  private readonly byAddress = new Map<string, AddressHit[]>();
  private readonly byDomain = new Map<string, IndicatorRef[]>();

  constructor(
    readonly set: NetworkIndicatorSet,
    resolved: Iterable<ResolvedDomain> = [],
    opts: IndicatorTableOptions = {},
    builtAt: Date = new Date(),
  ) {
    this.builtAt = builtAt;
    const push = <K, V>(m: Map<K, V[]>, k: K, v: V) => {
      const list = m.get(k);
      if (list) list.push(v);
      else m.set(k, [v]);
    };
    for (const ref of set.ips) push(this.byAddress, ref.value, { indicator: ref });
    for (const ref of set.domains) push(this.byDomain, ref.value, ref);
    for (const r of resolved) {
      const refs = this.byDomain.get(normalizeDomainName(r.domain)) ?? [];
      for (const raw of r.addresses) {
        const ip = canonicalIp(raw);
        if (!ip || !usableResolvedAddress(ip.address, opts)) continue;
        for (const ref of refs) push(this.byAddress, ip.address, r.resolvedAt ? { indicator: ref, resolvedAt: r.resolvedAt } : { indicator: ref });
      }
    }
  }

  /** Number of distinct addresses that match something. */
  get addressCount(): number {
    return this.byAddress.size;
  }

  get domainCount(): number {
    return this.byDomain.size;
  }

  /** Indicators an address (canonical form) stands for; empty when none. */
  lookupAddress(address: string): readonly AddressHit[] {
    return this.byAddress.get(address) ?? [];
  }

  /** The addresses currently in the table for one domain indicator. */
  addressesOf(domain: string): string[] {
    const d = normalizeDomainName(domain);
    const out: string[] = [];
    for (const [address, hits] of this.byAddress) if (hits.some((h) => h.indicator.kind === 'domain' && h.indicator.value === d)) out.push(address);
    return out;
  }

  /**
   * Domain indicators a DNS name falls under: the name itself or any parent domain, most
   * specific first ("www.azuredeploystore.com" matches both that indicator and
   * "azuredeploystore.com"). URL indicators never match here.
   */
  matchDomain(name: string): readonly IndicatorRef[] {
    const n = normalizeDomainName(name);
    if (n === '') return [];
    const out: IndicatorRef[] = [];
    let rest = n;
    for (;;) {
      const refs = this.byDomain.get(rest);
      if (refs) out.push(...refs);
      const dot = rest.indexOf('.');
      if (dot < 0) break;
      rest = rest.slice(dot + 1);
    }
    return out;
  }

  /**
   * Indicators a full URL matches: URL indicators whose host is the URL's host and whose
   * path is a prefix of the URL's path (case-insensitive), and domain indicators covering
   * the host. For evidence that carries a whole URL (proxy logs, browser history).
   */
  matchUrl(url: string): readonly IndicatorRef[] {
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      return [];
    }
    const host = normalizeDomainName(u.hostname);
    const path = u.pathname.toLowerCase();
    const out: IndicatorRef[] = [];
    for (const ui of this.set.urls) {
      if (ui.host !== host) continue;
      const prefix = ui.path.endsWith('/') || ui.path === '' ? ui.path : `${ui.path}/`;
      if (path === ui.path || path.startsWith(prefix)) out.push(ui.ref);
    }
    out.push(...this.matchDomain(host));
    return out;
  }
}
