/**
 * What the ingest endpoints do to the database, each in one transaction: enrol a device,
 * store a heartbeat, store alerts. A device only ever writes under the tenant its
 * credential belongs to: the tenant comes from the credential, never from the body.
 */
import type { Alert, EnrollRequest, EnrollResponse, Heartbeat } from '../shared/protocol.js';
import type { Db } from './database/open-database.js';
import type { TenantStore } from './database/tenant-store.js';
import type { DeviceStore } from './database/device-store.js';
import type { AlertStore } from './database/alert-store.js';
import type { NonceStore } from './database/nonce-store.js';
import type { AuthenticatedDevice } from './device-auth.js';
import { ApiError } from './api-error.js';
import type { Notifier } from './notify/notifier.js';
import { checkSentAt } from './heartbeat-order.js';
import type { RateLimiter } from './rate-limiter.js';

export interface StoredAlerts {
  stored: string[];
  duplicates: string[];
  /** Not stored: over this device's alert quota (counted on the device); absent when none. */
  refused?: string[];
  retryAfterSec?: number;
}

export interface IngestStores {
  db: Db;
  tenants: TenantStore;
  devices: DeviceStore;
  alerts: AlertStore;
  nonces: NonceStore;
  /** issue 14: queues notification events in the same transactions. */
  notify?: Notifier;
}

export class IngestService {
  private readonly enrolTx;
  private readonly heartbeatTx;
  private readonly alertsTx;

  constructor(
    private readonly s: IngestStores,
    private readonly heartbeatIntervalSec: () => number,
    private readonly replayWindowSec: number,
    /** Per-device alert quota, in alerts (docs/SERVER.md, "Alert quota and retention"). */
    private readonly alertQuota: RateLimiter,
  ) {
    this.enrolTx = s.db.transaction((req: EnrollRequest, nowMs: number, proof: AuthenticatedDevice | undefined): EnrollResponse => {
      const token = s.tenants.checkToken(req.enrollToken, nowMs);
      // One message for unknown, expired, revoked and used-up tokens: no oracle for guessing.
      if (!token.ok) throw new ApiError(401, 'invalid_enroll_token', 'the enrolment token is not valid (unknown, expired, revoked or used up)');
      if (proof && !s.nonces.claim(proof.id, proof.nonce, proof.nonceExpiresAtMs)) throw replay();
      const out = s.devices.enrol(token.tenant.id, req, nowMs, this.heartbeatIntervalSec(), proof?.id);
      if (!out.ok && out.reason === 'proof-mismatch') {
        throw new ApiError(403, 'device_mismatch', 'the enrolment is signed by a device that does not hold this stable id in this tenant');
      }
      if (!out.ok) throw new ApiError(403, 'revoked_device', 'this device was revoked by the partner and cannot enrol again; ask them to delete it first');
      s.tenants.countTokenUse(token.tokenId);
      return {
        deviceId: out.deviceId,
        deviceSecret: out.secret.toString('base64url'),
        tenant: { id: token.tenant.id, name: token.tenant.name },
        reenrolled: out.reenrolled,
        heartbeatIntervalSec: this.heartbeatIntervalSec(),
        serverTime: new Date(nowMs).toISOString(),
      };
    });
    this.heartbeatTx = s.db.transaction((device: AuthenticatedDevice, hb: Heartbeat, nowMs: number) => {
      const bad = checkSentAt(Date.parse(hb.sentAt), nowMs, this.replayWindowSec);
      if (bad) throw new ApiError(400, 'invalid_request', bad, { issues: [{ path: 'sentAt', message: bad }] });
      if (!s.nonces.claim(device.id, device.nonce, device.nonceExpiresAtMs)) throw replay();
      const notifyAfter = s.notify?.watchHeartbeat(device.id); // issue 14
      const outcome = s.devices.recordHeartbeat(device.id, hb, JSON.stringify(hb), nowMs, this.heartbeatIntervalSec());
      notifyAfter?.(hb, outcome.outcome, nowMs); // issue 14
      return outcome;
    });
    this.alertsTx = s.db.transaction((device: AuthenticatedDevice, alerts: readonly Alert[], nowMs: number) => {
      if (!s.nonces.claim(device.id, device.nonce, device.nonceExpiresAtMs)) throw replay();
      // Resends of stored alerts are duplicates and cost no quota; new ones are stored while
      // the quota lasts, and the rest refused by id, counted, never dropped silently.
      const known = s.alerts.known(device.id, alerts.map((a) => a.alertId));
      const fresh = alerts.filter((a) => !known.has(a.alertId));
      const quota = this.alertQuota.takeUpTo(device.id, fresh.length);
      const admitted = new Set(fresh.slice(0, quota.granted).map((a) => a.alertId));
      const r = s.alerts.insert(device.id, device.tenantId, alerts.filter((a) => known.has(a.alertId) || admitted.has(a.alertId)), nowMs);
      const refused = fresh.slice(quota.granted).map((a) => a.alertId);
      s.devices.countAlerts(device.id, r.stored.length);
      s.devices.countRefusedAlerts(device.id, refused.length);
      s.devices.touch(device.id, nowMs);
      if (s.notify && r.stored.length) {
        // issue 14: the alert events are queued in the transaction that stores the alerts.
        const stored = new Set(r.stored);
        s.notify.seen(device.id);
        s.notify.onAlerts(device.id, alerts.filter((a) => stored.delete(a.alertId)), nowMs);
      }
      return refused.length ? { ...r, refused, retryAfterSec: quota.retryAfterSec } : r;
    });
  }

  /** `proof`: the device whose current credential signed this enrolment (verified by the caller). */
  enrol(req: EnrollRequest, nowMs: number, proof?: AuthenticatedDevice): EnrollResponse {
    return this.enrolTx(req, nowMs, proof);
  }

  heartbeat(device: AuthenticatedDevice, hb: Heartbeat, nowMs: number): { outcome: 'current' | 'older'; shownSeq: number | null } {
    return this.heartbeatTx(device, hb, nowMs);
  }

  /** Stored durably (synchronous=FULL) before the agent is told, since it then forgets them. */
  storeAlerts(device: AuthenticatedDevice, alerts: readonly Alert[], nowMs: number): StoredAlerts {
    this.s.db.pragma('synchronous = FULL');
    try {
      return this.alertsTx(device, alerts, nowMs);
    } finally {
      this.s.db.pragma('synchronous = NORMAL');
    }
  }
}

function replay(): ApiError {
  return new ApiError(401, 'replayed_request', 'this request was already received (same nonce)');
}
