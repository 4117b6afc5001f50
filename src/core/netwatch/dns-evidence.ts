/**
 * Pure decisions on DNS evidence (docs/NETWATCH.md, "DNS evidence rules"):
 *
 * DNS cache: an entry whose looked-up name, record name or CNAME target is a pack domain
 * (or a subdomain of one) is a lookup of that domain from this PC: `compromised`, even
 * with no live socket, and even when the answer was "no such name" or a sinkhole address
 * (0.0.0.0, 127.x): the lookup is the trojanized client's behaviour, whatever a DNS filter
 * answered. One exception: Windows preloads hosts-file lines into the DNS cache, so a
 * cache entry whose every address is exactly what the hosts file maps that name to is the
 * hosts line, not a lookup, and is reported as the hosts line only. URL indicators never
 * match DNS evidence (a lookup of raw.githubusercontent.com says nothing about the path).
 *
 * Hosts file: a line mapping a pack domain is reported. Pointing it at 0.0.0.0, ::, or
 * loopback is a block (what IT is told to do): `info`. Pointing it anywhere else is a
 * redirect someone made on purpose (a local sinkhole, a test, or tampering): `attention`.
 * Neither says that anything looked the name up.
 */
import type { Severity } from '../../shared/scan.js';
import { DNS_TYPE, type DnsCacheRecord } from './dns-cache-windows.js';
import type { HostsEntry } from './hosts-file.js';
import type { IndicatorRef, IndicatorTable } from './indicator-table.js';
import { canonicalIp, isSinkholeAddress } from './ip-address.js';

export interface DnsCacheMatch {
  indicator: IndicatorRef;
  /** The looked-up name (the cache entry). */
  entry: string;
  /** The name that fell under the indicator (entry, record name or CNAME target). */
  matchedName: string;
  /** A and AAAA answers cached for the entry. */
  addresses: string[];
  /** The lookup failed (no such name / no records). */
  negative: boolean;
  /** Every answer was a sinkhole address: a DNS filter blocked the name. */
  blocked: boolean;
  ttl?: number;
}

export interface HostsMatch {
  indicator: IndicatorRef;
  entry: HostsEntry;
  name: string;
  blocked: boolean;
  severity: Extract<Severity, 'info' | 'attention'>;
}

function hostsMap(hosts: readonly HostsEntry[]): Map<string, Set<string>> {
  const m = new Map<string, Set<string>>();
  for (const h of hosts) {
    for (const n of h.names) {
      const set = m.get(n) ?? new Set<string>();
      set.add(h.address);
      m.set(n, set);
    }
  }
  return m;
}

export function matchDnsCache(records: readonly DnsCacheRecord[], table: IndicatorTable, hosts: readonly HostsEntry[] = []): DnsCacheMatch[] {
  const byEntry = new Map<string, DnsCacheRecord[]>();
  for (const r of records) {
    const list = byEntry.get(r.entry);
    if (list) list.push(r);
    else byEntry.set(r.entry, [r]);
  }
  const fromHosts = hostsMap(hosts);
  const out: DnsCacheMatch[] = [];
  for (const [entry, recs] of byEntry) {
    const names = new Set<string>([entry]);
    const addresses = new Set<string>();
    let ttl: number | undefined;
    for (const r of recs) {
      names.add(r.name);
      if (r.status === 'ok' && r.type === DNS_TYPE.CNAME && r.data) names.add(r.data.toLowerCase().replace(/\.+$/, ''));
      if (r.status === 'ok' && (r.type === DNS_TYPE.A || r.type === DNS_TYPE.AAAA) && r.data) {
        const ip = canonicalIp(r.data);
        if (ip) addresses.add(ip.address);
      }
      if (r.ttl !== undefined) ttl = ttl === undefined ? r.ttl : Math.min(ttl, r.ttl);
    }
    const addrs = [...addresses];
    const seen = new Set<string>();
    for (const name of names) {
      for (const indicator of table.matchDomain(name)) {
        const key = `${indicator.packId}|${indicator.value}`;
        if (seen.has(key)) continue;
        seen.add(key);
        // A hosts-file line preloaded into the cache is not a lookup.
        const mapped = fromHosts.get(name);
        if (mapped && addrs.length > 0 && addrs.every((a) => mapped.has(a))) continue;
        const m: DnsCacheMatch = {
          indicator,
          entry,
          matchedName: name,
          addresses: addrs,
          negative: recs.every((r) => r.status === 'negative'),
          blocked: addrs.length > 0 && addrs.every(isSinkholeAddress),
        };
        if (ttl !== undefined) m.ttl = ttl;
        out.push(m);
      }
    }
  }
  return out;
}

export function matchHostsFile(entries: readonly HostsEntry[], table: IndicatorTable): HostsMatch[] {
  const out: HostsMatch[] = [];
  for (const entry of entries) {
    const blocked = isSinkholeAddress(entry.address);
    for (const name of entry.names) {
      for (const indicator of table.matchDomain(name)) {
        out.push({ indicator, entry, name, blocked, severity: blocked ? 'info' : 'attention' });
      }
    }
  }
  return out;
}
