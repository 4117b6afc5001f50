/**
 * Incident coverage per published pack, from what devices report (their heartbeats are the
 * source of truth: the pack versions they run and when they last scanned) and from when
 * each device was first seen covered (pack_coverage, recorded at heartbeat time).
 *
 * A device is covered when it runs at least its tenant's active version of the pack and has
 * scanned since that version was published. The times to 50/90/100 % are over the devices
 * that count: the covered ones plus those online now.
 */
import { HeartbeatSchema, type Heartbeat } from '../shared/protocol.js';
import type { PackCoverage } from '../shared/fleet-protocol.js';
import type { DeviceRow, DeviceStore } from './database/device-store.js';
import type { PackStore, PublicationRow } from './database/pack-store.js';
import { isOnline } from './fleet-view.js';

function heartbeatOf(row: DeviceRow): Heartbeat | undefined {
  if (!row.heartbeat_json) return undefined;
  const r = HeartbeatSchema.safeParse(JSON.parse(row.heartbeat_json));
  return r.success ? r.data : undefined;
}

/** The k-th smallest (1-based) of the delays, or null when fewer are known. */
function kth(sorted: readonly number[], k: number): number | null {
  return k >= 1 && sorted.length >= k ? Math.round(sorted[k - 1]! / 100) / 10 : null;
}

export async function packCoverage(s: { packs: PackStore; devices: DeviceStore }, nowMs: number): Promise<PackCoverage[]> {
  const devices = (await s.devices.list({ limit: 1_000_000 })).filter((d) => d.revoked_at === null);
  // Read first (each tenant's active publications, each publication's coverage), then computed.
  const byTenant = new Map<string, PublicationRow[]>();
  for (const d of devices) if (!byTenant.has(d.tenant_id)) byTenant.set(d.tenant_id, await s.packs.activeForTenant(d.tenant_id));
  const activeFor = (tenantId: string) => byTenant.get(tenantId) ?? [];
  const packIds = [...new Set((await s.packs.list()).filter((r) => r.withdrawn_at === null).map((r) => r.pack_id))].sort();
  const coverageCache = new Map<string, Map<string, number>>();
  for (const pubs of byTenant.values()) for (const p of pubs) if (!coverageCache.has(p.id)) coverageCache.set(p.id, await s.packs.coverage(p.id));
  const coveredAt = (pubId: string) => coverageCache.get(pubId) ?? new Map<string, number>();
  return packIds.map((packId) => {
    const out: PackCoverage = {
      packId,
      title: '',
      latestVersion: 0,
      firstPublishedAt: new Date(nowMs).toISOString(),
      devices: 0,
      covered: 0,
      pending: 0,
      offline: 0,
      compromised: 0,
      attention: 0,
      problems: 0,
      timeToCoverSec: { p50: null, p90: null, p100: null },
      pendingDevices: [],
    };
    let first = Infinity;
    const delays: number[] = [];
    let counted = 0;
    for (const d of devices) {
      const pub = activeFor(d.tenant_id).find((r) => r.pack_id === packId);
      if (!pub) continue;
      out.title = pub.title;
      out.latestVersion = Math.max(out.latestVersion, pub.version);
      first = Math.min(first, pub.published_at);
      out.devices++;
      const hb = heartbeatOf(d);
      const online = isOnline(d.last_seen_at, d.heartbeat_interval_sec, nowMs);
      const scannedAt = hb?.lastScanAt ? Date.parse(hb.lastScanAt) : -1;
      const covered = hb !== undefined && scannedAt >= pub.published_at && hb.packs.some((p) => p.id === packId && p.version >= pub.version);
      if (hb?.packProblems?.some((p) => p.id === packId)) out.problems++;
      if (covered) {
        out.covered++;
        const f = hb.findings.filter((x) => x.packId === packId);
        if (f.some((x) => x.severity === 'compromised')) out.compromised++;
        else if (f.some((x) => x.severity === 'attention' || x.severity === 'unknown')) out.attention++;
        const at = coveredAt(pub.id).get(d.id);
        if (at !== undefined) delays.push(Math.max(0, at - pub.published_at));
      } else {
        if (online) out.pending++;
        else out.offline++;
        out.pendingDevices.push({ deviceId: d.id, hostname: d.hostname, tenant: d.tenant_name, online });
      }
      if (covered || online) counted++;
    }
    if (first !== Infinity) out.firstPublishedAt = new Date(first).toISOString();
    delays.sort((a, b) => a - b);
    out.timeToCoverSec = {
      p50: kth(delays, Math.ceil(counted * 0.5)),
      p90: kth(delays, Math.ceil(counted * 0.9)),
      p100: kth(delays, counted),
    };
    return out;
  });
}
