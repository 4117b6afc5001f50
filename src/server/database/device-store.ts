/**
 * Devices: enrolment (new or again), the credential lookup behind every authenticated
 * request, the latest heartbeat, revocation, and the admin views' queries.
 *
 * Re-enrolment (docs/PROTOCOL.md, "Re-enrolment"): the record that holds a tenant's stable
 * id is only handed a new secret when the enrolment is signed with that record's current
 * credential. Without that proof (a reinstalled PC that lost its state, a cloned VM image,
 * or someone who read the machine id and holds the tenant's token) a NEW record is made,
 * flagged `duplicate_of` the holder, which keeps its secret; the partner then resolves it
 * (`replace`: it is the same PC, revoke the old; `keep`: it is another PC). A revoked
 * holder refuses enrolment under its stable id.
 */
import type { EnrollRequest, Heartbeat } from '../../shared/protocol.js';
import type { Status } from '../../shared/scan.js';
import type { SqlExecutor } from './sql-database.js';
import { takeUpTo, type RatePolicy } from '../rate-limiter.js';
import { newDeviceSecret, newId } from '../secret-tokens.js';
import { orderAt, supersedes } from '../heartbeat-order.js';

export interface DeviceAuthRow {
  id: string;
  tenant_id: string;
  secret: Buffer;
  revoked_at: number | null;
}

export interface DeviceRow {
  id: string;
  tenant_id: string;
  tenant_name: string;
  stable_id_source: string;
  hostname: string;
  platform: string;
  os_release: string | null;
  arch: string | null;
  agent_version: string;
  enrolled_at: number;
  enrol_count: number;
  revoked_at: number | null;
  last_seen_at: number | null;
  heartbeat_interval_sec: number;
  status: string;
  heartbeat_json: string | null;
  alert_count: number;
  heartbeat_seq: number | null;
  duplicate_of: string | null;
  alerts_refused: number;
}

export type EnrolOutcome =
  | { ok: true; deviceId: string; secret: Buffer; reenrolled: boolean; duplicateOf: string | null }
  | { ok: false; reason: 'revoked' | 'proof-mismatch' };

export type ResolveOutcome = { ok: true } | { ok: false; reason: 'not-found' | 'not-flagged' | 'holder-gone' };

const DUPLICATE_KEY_PREFIX = 'dup:';
const REPLACED_KEY_PREFIX = 'replaced:';

const DEVICE_COLUMNS = `d.id, d.tenant_id, t.name AS tenant_name, d.stable_id_source, d.hostname, d.platform, d.os_release, d.arch,
  d.agent_version, d.enrolled_at, d.enrol_count, d.revoked_at, d.last_seen_at, d.heartbeat_interval_sec, d.status,
  d.heartbeat_json, d.alert_count, d.heartbeat_seq, d.duplicate_of, d.alerts_refused`;

const DEVICE_SELECT = `SELECT ${DEVICE_COLUMNS} FROM devices d JOIN tenants t ON t.id = d.tenant_id`;

/** Call the methods marked "inside a transaction" on the stores of an open transaction (storage.ts). */
export class DeviceStore {
  constructor(private readonly db: SqlExecutor) {}

  authRecord(deviceId: string): Promise<DeviceAuthRow | undefined> {
    return this.db.get<DeviceAuthRow>('SELECT id, tenant_id, secret, revoked_at FROM devices WHERE id = ?', [deviceId]);
  }

  /**
   * Enrols a device; call inside the enrolment transaction. `provenDeviceId`: the device
   * whose current credential signed this enrolment (already verified), if any.
   */
  async enrol(tenantId: string, req: EnrollRequest, nowMs: number, heartbeatIntervalSec: number, provenDeviceId?: string): Promise<EnrolOutcome> {
    const secret = newDeviceSecret();
    const h = req.host;
    const holder = await this.db.get<{ id: string; revoked_at: number | null }>(
      `SELECT id, revoked_at FROM devices WHERE tenant_id = ? AND stable_id = ?${this.db.dialect.forUpdate}`,
      [tenantId, req.stableId],
    );
    if (provenDeviceId !== undefined) {
      // A proof counts only for the record that holds this stable id in this tenant.
      if (!holder || holder.id !== provenDeviceId) return { ok: false, reason: 'proof-mismatch' };
      await this.db.run(
        `UPDATE devices SET secret = ?, stable_id_source = ?, hostname = ?, platform = ?, os_release = ?, arch = ?, agent_version = ?,
           enrolled_at = ?, enrol_count = enrol_count + 1, heartbeat_interval_sec = ?, heartbeat_seq = NULL WHERE id = ?`,
        [secret, req.stableIdSource, h.hostname, h.platform, h.osRelease ?? null, h.arch ?? null, req.agentVersion, nowMs, heartbeatIntervalSec, holder.id],
      );
      return { ok: true, deviceId: holder.id, secret, reenrolled: true, duplicateOf: null };
    }
    if (holder && holder.revoked_at !== null) return { ok: false, reason: 'revoked' };
    const id = newId('dev_');
    const key = holder ? `${DUPLICATE_KEY_PREFIX}${id}` : req.stableId;
    const duplicateOf = holder?.id ?? null;
    await this.db.run(
      `INSERT INTO devices (id, tenant_id, stable_id, stable_id_source, secret, hostname, platform, os_release, arch, agent_version,
         enrolled_at, heartbeat_interval_sec, duplicate_of) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      [id, tenantId, key, req.stableIdSource, secret, h.hostname, h.platform, h.osRelease ?? null, h.arch ?? null, req.agentVersion, nowMs, heartbeatIntervalSec, duplicateOf],
    );
    return { ok: true, deviceId: id, secret, reenrolled: false, duplicateOf };
  }

  private claimRow(deviceId: string) {
    return this.db.get<{ id: string; stable_id: string; duplicate_of: string | null; revoked_at: number | null }>(
      `SELECT id, stable_id, duplicate_of, revoked_at FROM devices WHERE id = ?${this.db.dialect.forUpdate}`,
      [deviceId],
    );
  }

  /**
   * The partner says the flagged record `deviceId` is the PC its holder was (reinstalled):
   * the holder is revoked (its history kept) and the stable id moves to this record. Call
   * inside a transaction.
   */
  async replaceHolder(deviceId: string, nowMs: number): Promise<ResolveOutcome> {
    const dup = await this.claimRow(deviceId);
    if (!dup) return { ok: false, reason: 'not-found' };
    if (dup.duplicate_of === null) return { ok: false, reason: 'not-flagged' };
    const holder = await this.claimRow(dup.duplicate_of);
    if (!holder || holder.stable_id.startsWith(DUPLICATE_KEY_PREFIX) || holder.stable_id.startsWith(REPLACED_KEY_PREFIX)) return { ok: false, reason: 'holder-gone' };
    await this.db.run('UPDATE devices SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL', [nowMs, holder.id]);
    await this.db.run('UPDATE devices SET stable_id = ?, duplicate_of = NULL WHERE id = ?', [`${REPLACED_KEY_PREFIX}${holder.id}`, holder.id]);
    await this.db.run('UPDATE devices SET stable_id = ?, duplicate_of = NULL WHERE id = ?', [holder.stable_id, dup.id]);
    return { ok: true };
  }

  /** The partner says the flagged record is another PC (e.g. a cloned VM): clear the flag. */
  async keepSeparate(deviceId: string): Promise<ResolveOutcome> {
    const dup = await this.claimRow(deviceId);
    if (!dup) return { ok: false, reason: 'not-found' };
    if (dup.duplicate_of === null) return { ok: false, reason: 'not-flagged' };
    await this.db.run('UPDATE devices SET duplicate_of = NULL WHERE id = ?', [deviceId]);
    return { ok: true };
  }

  /**
   * Stores a heartbeat if it supersedes the stored one (heartbeat-order.ts: sequence number,
   * capped sentAt, never hiding a worse status) ('current'); otherwise it only updates
   * last-seen ('older'). Call inside a transaction.
   */
  async recordHeartbeat(deviceId: string, hb: Heartbeat, json: string, nowMs: number, heartbeatIntervalSec: number): Promise<{ outcome: 'current' | 'older'; shownSeq: number | null }> {
    const at = orderAt(Date.parse(hb.sentAt), nowMs);
    const seq = hb.seq ?? null;
    const stored = await this.db.get<{ heartbeat_seq: number | null; heartbeat_sent_at: number | null; status: string; heartbeat_json: string | null }>(
      `SELECT heartbeat_seq, heartbeat_sent_at, status, heartbeat_json FROM devices WHERE id = ?${this.db.dialect.forUpdate}`,
      [deviceId],
    );
    const storedKey =
      stored && stored.heartbeat_json !== null && stored.heartbeat_sent_at !== null
        ? { seq: stored.heartbeat_seq, orderAtMs: stored.heartbeat_sent_at, status: stored.status as Status }
        : undefined;
    if (!supersedes({ seq, orderAtMs: at, status: hb.status }, storedKey)) {
      await this.touch(deviceId, nowMs);
      return { outcome: 'older', shownSeq: storedKey?.seq ?? null };
    }
    const h = hb.host;
    await this.db.run(
      `UPDATE devices SET last_seen_at = ?, heartbeat_sent_at = ?, heartbeat_seq = ?, status = ?, heartbeat_json = ?, hostname = ?, platform = ?,
         os_release = ?, arch = ?, agent_version = ?, heartbeat_interval_sec = ?
       WHERE id = ?`,
      [nowMs, at, seq, hb.status, json, h.hostname, h.platform, h.osRelease ?? null, h.arch ?? null, hb.agentVersion, heartbeatIntervalSec, deviceId],
    );
    return { outcome: 'current', shownSeq: seq };
  }

  async touch(deviceId: string, nowMs: number): Promise<void> {
    await this.db.run('UPDATE devices SET last_seen_at = ? WHERE id = ?', [nowMs, deviceId]);
  }

  async countAlerts(deviceId: string, n: number): Promise<void> {
    if (n > 0) await this.db.run('UPDATE devices SET alert_count = alert_count + ? WHERE id = ?', [n, deviceId]);
  }

  async countRefusedAlerts(deviceId: string, n: number): Promise<void> {
    if (n > 0) await this.db.run('UPDATE devices SET alerts_refused = alerts_refused + ? WHERE id = ?', [n, deviceId]);
  }

  async refusedAlerts(deviceId: string): Promise<number> {
    return (await this.db.get<{ alerts_refused: number }>('SELECT alerts_refused FROM devices WHERE id = ?', [deviceId]))?.alerts_refused ?? 0;
  }

  /**
   * Takes up to `n` alerts from this device's quota, kept in its row (migration 8) so every
   * server process draws on the same bucket: the row is locked (FOR UPDATE on PostgreSQL;
   * SQLite has one writer) and rewritten in the caller's transaction. Call inside the
   * alerts transaction. A device with no bucket yet starts full.
   */
  async takeAlertQuota(deviceId: string, n: number, policy: RatePolicy, nowMs: number): Promise<{ granted: number; retryAfterSec: number }> {
    const row = await this.db.get<{ alert_quota_tokens: number | null; alert_quota_at: number | null }>(
      `SELECT alert_quota_tokens, alert_quota_at FROM devices WHERE id = ?${this.db.dialect.forUpdate}`,
      [deviceId],
    );
    const bucket = row && row.alert_quota_tokens !== null && row.alert_quota_at !== null ? { tokens: row.alert_quota_tokens, updatedMs: row.alert_quota_at } : { tokens: policy.capacity, updatedMs: nowMs };
    const r = takeUpTo(bucket, n, nowMs, policy);
    await this.db.run('UPDATE devices SET alert_quota_tokens = ?, alert_quota_at = ? WHERE id = ?', [bucket.tokens, bucket.updatedMs, deviceId]);
    return r;
  }

  async revoke(deviceId: string, nowMs: number): Promise<boolean> {
    return (await this.db.run('UPDATE devices SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL', [nowMs, deviceId])).changes > 0;
  }

  get(deviceId: string): Promise<DeviceRow | undefined> {
    return this.db.get<DeviceRow>(`${DEVICE_SELECT} WHERE d.id = ?`, [deviceId]);
  }

  /** By tenant name (any case, as SQLite's NOCASE column compared), then hostname. */
  list(opts: { tenant?: string; limit: number }): Promise<DeviceRow[]> {
    return opts.tenant !== undefined
      ? this.db.all<DeviceRow>(`${DEVICE_SELECT} WHERE lower(t.name) = lower(?) ORDER BY d.hostname, d.id LIMIT ?`, [opts.tenant, opts.limit])
      : this.db.all<DeviceRow>(`${DEVICE_SELECT} ORDER BY lower(t.name), t.name, d.hostname, d.id LIMIT ?`, [opts.limit]);
  }
}
