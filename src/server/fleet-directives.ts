/**
 * What a heartbeat response tells a device beyond "ok": the heartbeat interval (lowered for
 * its tenant for a while, or the server's), the packs its tenant's devices should run, and
 * the oldest check-now request it has not answered. Also records the request the
 * heartbeat says it answered. Pure reads and one insert; the route stays thin.
 */
import type { Heartbeat } from '../shared/protocol.js';
import type { FleetPackRef, ScanRequestDirective } from '../shared/fleet-protocol.js';
import type { PackStore } from './database/pack-store.js';
import type { FleetControlStore } from './database/fleet-control-store.js';

export interface HeartbeatDirectives {
  heartbeatIntervalSec: number;
  packs: FleetPackRef[];
  scanRequest?: ScanRequestDirective;
}

export class FleetDirectives {
  constructor(
    private readonly s: { packs: PackStore; control: FleetControlStore },
    private readonly defaultIntervalSec: () => number,
  ) {}

  /** The interval devices of this tenant are told now. */
  async intervalFor(tenantId: string, nowMs: number): Promise<number> {
    return (await this.s.control.heartbeatOverride(tenantId, nowMs)) ?? this.defaultIntervalSec();
  }

  async afterHeartbeat(device: { id: string; tenantId: string }, hb: Heartbeat, nowMs: number): Promise<HeartbeatDirectives> {
    if (hb.answeredScanRequest) await this.s.control.recordAnswer(device.id, device.tenantId, hb.answeredScanRequest, nowMs);
    const pending = await this.s.control.pendingScanRequest(device.id, device.tenantId, nowMs);
    const active = await this.s.packs.activeForTenant(device.tenantId);
    // Coverage starts when a heartbeat shows the pack's version running and a scan since it was published.
    const scannedAt = hb.lastScanAt === null ? -1 : Date.parse(hb.lastScanAt);
    for (const r of active) {
      if (scannedAt >= r.published_at && hb.packs.some((p) => p.id === r.pack_id && p.version >= r.version)) await this.s.packs.recordCoverage(r.id, device.id, nowMs);
    }
    return {
      heartbeatIntervalSec: await this.intervalFor(device.tenantId, nowMs),
      packs: active.map((r) => ({ id: r.pack_id, version: r.version, sha256: r.sha256 })),
      ...(pending ? { scanRequest: { id: pending.id, requestedAt: new Date(pending.requested_at).toISOString() } } : {}),
    };
  }
}
