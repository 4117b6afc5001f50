/**
 * What the ingest endpoints do to the database, each in one transaction: enrol a device,
 * store a heartbeat, store alerts. A device only ever writes under the tenant its
 * credential belongs to: the tenant comes from the credential, never from the body.
 *
 * What must hold across server processes is decided inside these transactions, in the
 * database: the request nonce (claimed with the write), the enrolment token's use count
 * (one conditional UPDATE), alert ids (primary key), the per-device alert quota (in the
 * device row).
 */
import type { Alert, EnrollRequest, EnrollResponse, Heartbeat } from '../shared/protocol.js';
import type { Storage } from './database/storage.js';
import type { AuthenticatedDevice } from './device-auth.js';
import { ApiError } from './api-error.js';
import type { Notifier } from './notify/notifier.js';
import { checkSentAt } from './heartbeat-order.js';
import type { RatePolicy } from './rate-limiter.js';

export interface StoredAlerts {
  stored: string[];
  duplicates: string[];
  /** Not stored: over this device's alert quota (counted on the device); absent when none. */
  refused?: string[];
  retryAfterSec?: number;
}

export interface IngestDeps {
  storage: Storage;
  /** issue 14: queues notification events in the same transactions. */
  notify?: Notifier;
}

export class IngestService {
  constructor(
    private readonly s: IngestDeps,
    private readonly heartbeatIntervalSec: () => number,
    private readonly replayWindowSec: number,
    /** Per-device alert quota, in alerts (docs/SERVER.md, "Alert quota and retention"); kept in the device row. */
    private readonly alertQuota: RatePolicy,
  ) {}

  /** `proof`: the device whose current credential signed this enrolment (verified by the caller). */
  enrol(req: EnrollRequest, nowMs: number, proof?: AuthenticatedDevice): Promise<EnrollResponse> {
    return this.s.storage.transaction(async (tx) => {
      const token = await tx.tenants.checkToken(req.enrollToken, nowMs);
      // One message for unknown, expired, revoked and used-up tokens: no oracle for guessing.
      if (!token.ok) throw invalidToken();
      if (proof && !(await tx.nonces.claim(proof.id, proof.nonce, proof.nonceExpiresAtMs))) throw replay();
      // The use is counted first, by a conditional UPDATE: another process may have taken the last use since the check.
      if (!(await tx.tenants.countTokenUse(token.tokenId, nowMs))) throw invalidToken();
      const out = await tx.devices.enrol(token.tenant.id, req, nowMs, this.heartbeatIntervalSec(), proof?.id);
      if (!out.ok && out.reason === 'proof-mismatch') {
        throw new ApiError(403, 'device_mismatch', 'the enrolment is signed by a device that does not hold this stable id in this tenant');
      }
      if (!out.ok) throw new ApiError(403, 'revoked_device', 'this device was revoked by the partner and cannot enrol again; ask them to delete it first');
      return {
        deviceId: out.deviceId,
        deviceSecret: out.secret.toString('base64url'),
        tenant: { id: token.tenant.id, name: token.tenant.name },
        reenrolled: out.reenrolled,
        heartbeatIntervalSec: this.heartbeatIntervalSec(),
        serverTime: new Date(nowMs).toISOString(),
      };
    });
  }

  heartbeat(device: AuthenticatedDevice, hb: Heartbeat, nowMs: number): Promise<{ outcome: 'current' | 'older'; shownSeq: number | null }> {
    const bad = checkSentAt(Date.parse(hb.sentAt), nowMs, this.replayWindowSec);
    if (bad) return Promise.reject(new ApiError(400, 'invalid_request', bad, { issues: [{ path: 'sentAt', message: bad }] }));
    return this.s.storage.transaction(async (tx) => {
      if (!(await tx.nonces.claim(device.id, device.nonce, device.nonceExpiresAtMs))) throw replay();
      const notifyAfter = await this.s.notify?.watchHeartbeat(tx, device.id); // issue 14
      const outcome = await tx.devices.recordHeartbeat(device.id, hb, JSON.stringify(hb), nowMs, this.heartbeatIntervalSec());
      await notifyAfter?.(hb, outcome.outcome, nowMs); // issue 14
      return outcome;
      // Not durable: a heartbeat lost in a crash of the database host is replaced by the next
      // one (its nonce, status and any notification event are lost or kept together).
    }, { durable: false });
  }

  /** Stored durably (synchronous=FULL on SQLite) before the agent is told, since it then forgets them. */
  storeAlerts(device: AuthenticatedDevice, alerts: readonly Alert[], nowMs: number): Promise<StoredAlerts> {
    return this.s.storage.transaction(
      async (tx) => {
        if (!(await tx.nonces.claim(device.id, device.nonce, device.nonceExpiresAtMs))) throw replay();
        // Resends of stored alerts are duplicates and cost no quota; new ones are stored while
        // the quota lasts, and the rest refused by id, counted, never dropped silently.
        const known = await tx.alerts.known(device.id, alerts.map((a) => a.alertId));
        const fresh = alerts.filter((a) => !known.has(a.alertId));
        const quota = await tx.devices.takeAlertQuota(device.id, fresh.length, this.alertQuota, nowMs);
        const admitted = new Set(fresh.slice(0, quota.granted).map((a) => a.alertId));
        const r = await tx.alerts.insert(device.id, device.tenantId, alerts.filter((a) => known.has(a.alertId) || admitted.has(a.alertId)), nowMs);
        const refused = fresh.slice(quota.granted).map((a) => a.alertId);
        await tx.devices.countAlerts(device.id, r.stored.length);
        await tx.devices.countRefusedAlerts(device.id, refused.length);
        await tx.devices.touch(device.id, nowMs);
        if (this.s.notify && r.stored.length) {
          // issue 14: the alert events are queued in the transaction that stores the alerts.
          const stored = new Set(r.stored);
          await this.s.notify.seen(tx, device.id);
          await this.s.notify.onAlerts(tx, device.id, alerts.filter((a) => stored.delete(a.alertId)), nowMs);
        }
        return refused.length ? { ...r, refused, retryAfterSec: quota.retryAfterSec } : r;
      },
      { durable: true },
    );
  }
}

function invalidToken(): ApiError {
  return new ApiError(401, 'invalid_enroll_token', 'the enrolment token is not valid (unknown, expired, revoked or used up)');
}

function replay(): ApiError {
  return new ApiError(401, 'replayed_request', 'this request was already received (same nonce)');
}
