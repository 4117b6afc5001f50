/**
 * Check-now requests and temporary heartbeat intervals: validation and views shared by
 * `vigil server scan|heartbeat ...` and the admin API. Routes and commands stay thin.
 */
import { FLEET_LIMITS, type ScanRequestView } from '../shared/fleet-protocol.js';
import type { DeviceStore } from './database/device-store.js';
import type { FleetControlStore, ScanRequestRow } from './database/fleet-control-store.js';
import type { TenantStore } from './database/tenant-store.js';

export interface FleetRequestStores {
  tenants: TenantStore;
  devices: DeviceStore;
  control: FleetControlStore;
}

export class FleetRequestError extends Error {
  constructor(
    message: string,
    readonly notFound = false,
  ) {
    super(message);
    this.name = 'FleetRequestError';
  }
}

export type ScanTarget = { deviceId: string } | { tenant: string } | { all: true };

export async function requestScan(s: FleetRequestStores, target: ScanTarget, by: string, nowMs: number): Promise<ScanRequestView> {
  let scope: ScanRequestRow['scope'] = 'all';
  let tenantId: string | null = null;
  let deviceId: string | null = null;
  if ('deviceId' in target) {
    const d = await s.devices.get(target.deviceId);
    if (!d) throw new FleetRequestError(`no device ${target.deviceId}`, true);
    scope = 'device';
    deviceId = d.id;
    tenantId = d.tenant_id;
  } else if ('tenant' in target) {
    const t = await s.tenants.tenantByName(target.tenant);
    if (!t) throw new FleetRequestError(`no tenant named "${target.tenant}"`, true);
    scope = 'tenant';
    tenantId = t.id;
  }
  const id = await s.control.createScanRequest({ scope, tenantId, deviceId, by, nowMs, ttlMs: FLEET_LIMITS.scanRequestTtlSec * 1000 });
  return (await scanRequestViews(s, 1000)).find((v) => v.requestId === id)!;
}

export async function scanRequestViews(s: FleetRequestStores, limit = 100): Promise<ScanRequestView[]> {
  const devices = (await s.devices.list({ limit: 1_000_000 })).filter((d) => d.revoked_at === null);
  return (await s.control.listScanRequests(limit)).map((r) => ({
    requestId: r.id,
    scope: r.scope,
    deviceId: r.device_id,
    tenant: r.tenant_name,
    requestedBy: r.requested_by,
    requestedAt: new Date(r.requested_at).toISOString(),
    expiresAt: new Date(r.expires_at).toISOString(),
    targeted: r.scope === 'all' ? devices.length : r.scope === 'tenant' ? devices.filter((d) => d.tenant_id === r.tenant_id).length : 1,
    answered: r.answered,
  }));
}

export interface HeartbeatOverrideView {
  tenant: string;
  intervalSec: number;
  until: string;
  setBy: string;
}

export async function lowerHeartbeat(s: FleetRequestStores, r: { tenant: string; intervalSec: number; forSec: number; by: string }, nowMs: number): Promise<HeartbeatOverrideView> {
  const t = await s.tenants.tenantByName(r.tenant);
  if (!t) throw new FleetRequestError(`no tenant named "${r.tenant}"`, true);
  if (r.forSec > FLEET_LIMITS.maxOverrideSec) throw new FleetRequestError(`a lowered interval lasts at most ${FLEET_LIMITS.maxOverrideSec / 3600} hours`);
  const until = nowMs + r.forSec * 1000;
  await s.control.setHeartbeatOverride(t.id, r.intervalSec, until, r.by, nowMs);
  return { tenant: t.name, intervalSec: r.intervalSec, until: new Date(until).toISOString(), setBy: r.by };
}

/** "2h", "90m", "45s", "1d" or plain seconds. */
export function parseDuration(text: string): number | undefined {
  const m = /^(\d{1,7})\s*(s|m|h|d)?$/i.exec(text.trim());
  if (!m) return undefined;
  const mult = { s: 1, m: 60, h: 3600, d: 86_400 }[(m[2] ?? 's').toLowerCase() as 's' | 'm' | 'h' | 'd'];
  return Number(m[1]) * mult;
}
