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
import type { Db } from './open-database.js';
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

function statements(db: Db) {
  return {
    auth: db.prepare<[string], DeviceAuthRow>('SELECT id, tenant_id, secret, revoked_at FROM devices WHERE id = ?'),
    byStable: db.prepare<[string, string], { id: string; revoked_at: number | null }>('SELECT id, revoked_at FROM devices WHERE tenant_id = ? AND stable_id = ?'),
    insert: db.prepare(
      `INSERT INTO devices (id, tenant_id, stable_id, stable_id_source, secret, hostname, platform, os_release, arch, agent_version,
         enrolled_at, heartbeat_interval_sec, duplicate_of) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    claim: db.prepare<[string], { id: string; stable_id: string; duplicate_of: string | null; revoked_at: number | null }>(
      'SELECT id, stable_id, duplicate_of, revoked_at FROM devices WHERE id = ?',
    ),
    setStableKey: db.prepare('UPDATE devices SET stable_id = ?, duplicate_of = NULL WHERE id = ?'),
    clearDuplicate: db.prepare('UPDATE devices SET duplicate_of = NULL WHERE id = ?'),
    reenrol: db.prepare(
      `UPDATE devices SET secret = ?, stable_id_source = ?, hostname = ?, platform = ?, os_release = ?, arch = ?, agent_version = ?,
         enrolled_at = ?, enrol_count = enrol_count + 1, heartbeat_interval_sec = ?, heartbeat_seq = NULL WHERE id = ?`,
    ),
    heartbeatOrder: db.prepare<[string], { heartbeat_seq: number | null; heartbeat_sent_at: number | null; status: string; heartbeat_json: string | null }>(
      'SELECT heartbeat_seq, heartbeat_sent_at, status, heartbeat_json FROM devices WHERE id = ?',
    ),
    heartbeat: db.prepare(
      `UPDATE devices SET last_seen_at = ?, heartbeat_sent_at = ?, heartbeat_seq = ?, status = ?, heartbeat_json = ?, hostname = ?, platform = ?,
         os_release = ?, arch = ?, agent_version = ?, heartbeat_interval_sec = ?
       WHERE id = ?`,
    ),
    touch: db.prepare('UPDATE devices SET last_seen_at = ? WHERE id = ?'),
    revoke: db.prepare('UPDATE devices SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL'),
    countAlerts: db.prepare('UPDATE devices SET alert_count = alert_count + ? WHERE id = ?'),
    countRefused: db.prepare('UPDATE devices SET alerts_refused = alerts_refused + ? WHERE id = ?'),
    refusedOf: db.prepare<[string], { alerts_refused: number }>('SELECT alerts_refused FROM devices WHERE id = ?'),
    get: db.prepare<[string], DeviceRow>(`SELECT ${DEVICE_COLUMNS} FROM devices d JOIN tenants t ON t.id = d.tenant_id WHERE d.id = ?`),
    list: db.prepare<[number], DeviceRow>(`SELECT ${DEVICE_COLUMNS} FROM devices d JOIN tenants t ON t.id = d.tenant_id ORDER BY t.name, d.hostname, d.id LIMIT ?`),
    listTenant: db.prepare<[string, number], DeviceRow>(
      `SELECT ${DEVICE_COLUMNS} FROM devices d JOIN tenants t ON t.id = d.tenant_id WHERE t.name = ? ORDER BY d.hostname, d.id LIMIT ?`,
    ),
  };
}

export class DeviceStore {
  private readonly q: ReturnType<typeof statements>;

  constructor(private readonly db: Db) {
    this.q = statements(db);
  }

  authRecord(deviceId: string): DeviceAuthRow | undefined {
    return this.q.auth.get(deviceId);
  }

  /**
   * Enrols a device; call inside the enrolment transaction. `provenDeviceId`: the device
   * whose current credential signed this enrolment (already verified), if any.
   */
  enrol(tenantId: string, req: EnrollRequest, nowMs: number, heartbeatIntervalSec: number, provenDeviceId?: string): EnrolOutcome {
    const secret = newDeviceSecret();
    const h = req.host;
    const holder = this.q.byStable.get(tenantId, req.stableId);
    if (provenDeviceId !== undefined) {
      // A proof counts only for the record that holds this stable id in this tenant.
      if (!holder || holder.id !== provenDeviceId) return { ok: false, reason: 'proof-mismatch' };
      this.q.reenrol.run(secret, req.stableIdSource, h.hostname, h.platform, h.osRelease ?? null, h.arch ?? null, req.agentVersion, nowMs, heartbeatIntervalSec, holder.id);
      return { ok: true, deviceId: holder.id, secret, reenrolled: true, duplicateOf: null };
    }
    if (holder && holder.revoked_at !== null) return { ok: false, reason: 'revoked' };
    const id = newId('dev_');
    const key = holder ? `${DUPLICATE_KEY_PREFIX}${id}` : req.stableId;
    const duplicateOf = holder?.id ?? null;
    this.q.insert.run(id, tenantId, key, req.stableIdSource, secret, h.hostname, h.platform, h.osRelease ?? null, h.arch ?? null, req.agentVersion, nowMs, heartbeatIntervalSec, duplicateOf);
    return { ok: true, deviceId: id, secret, reenrolled: false, duplicateOf };
  }

  /**
   * The partner says the flagged record `deviceId` is the PC its holder was (reinstalled):
   * the holder is revoked (its history kept) and the stable id moves to this record.
   */
  replaceHolder(deviceId: string, nowMs: number): ResolveOutcome {
    return this.db.transaction(() => this.replaceHolderTx(deviceId, nowMs))();
  }

  private replaceHolderTx(deviceId: string, nowMs: number): ResolveOutcome {
    const dup = this.q.claim.get(deviceId);
    if (!dup) return { ok: false, reason: 'not-found' };
    if (dup.duplicate_of === null) return { ok: false, reason: 'not-flagged' };
    const holder = this.q.claim.get(dup.duplicate_of);
    if (!holder || holder.stable_id.startsWith(DUPLICATE_KEY_PREFIX) || holder.stable_id.startsWith(REPLACED_KEY_PREFIX)) return { ok: false, reason: 'holder-gone' };
    this.q.revoke.run(nowMs, holder.id);
    this.q.setStableKey.run(`${REPLACED_KEY_PREFIX}${holder.id}`, holder.id);
    this.q.setStableKey.run(holder.stable_id, dup.id);
    return { ok: true };
  }

  /** The partner says the flagged record is another PC (e.g. a cloned VM): clear the flag. */
  keepSeparate(deviceId: string): ResolveOutcome {
    const dup = this.q.claim.get(deviceId);
    if (!dup) return { ok: false, reason: 'not-found' };
    if (dup.duplicate_of === null) return { ok: false, reason: 'not-flagged' };
    this.q.clearDuplicate.run(deviceId);
    return { ok: true };
  }

  /**
   * Stores a heartbeat if it supersedes the stored one (heartbeat-order.ts: sequence number,
   * capped sentAt, never hiding a worse status) ('current'); otherwise it only updates
   * last-seen ('older'). Call inside a transaction.
   */
  recordHeartbeat(deviceId: string, hb: Heartbeat, json: string, nowMs: number, heartbeatIntervalSec: number): { outcome: 'current' | 'older'; shownSeq: number | null } {
    const at = orderAt(Date.parse(hb.sentAt), nowMs);
    const seq = hb.seq ?? null;
    const stored = this.q.heartbeatOrder.get(deviceId);
    const storedKey =
      stored && stored.heartbeat_json !== null && stored.heartbeat_sent_at !== null
        ? { seq: stored.heartbeat_seq, orderAtMs: stored.heartbeat_sent_at, status: stored.status as Status }
        : undefined;
    if (!supersedes({ seq, orderAtMs: at, status: hb.status }, storedKey)) {
      this.q.touch.run(nowMs, deviceId);
      return { outcome: 'older', shownSeq: storedKey?.seq ?? null };
    }
    const h = hb.host;
    this.q.heartbeat.run(nowMs, at, seq, hb.status, json, h.hostname, h.platform, h.osRelease ?? null, h.arch ?? null, hb.agentVersion, heartbeatIntervalSec, deviceId);
    return { outcome: 'current', shownSeq: seq };
  }

  touch(deviceId: string, nowMs: number): void {
    this.q.touch.run(nowMs, deviceId);
  }

  countAlerts(deviceId: string, n: number): void {
    if (n > 0) this.q.countAlerts.run(n, deviceId);
  }

  countRefusedAlerts(deviceId: string, n: number): void {
    if (n > 0) this.q.countRefused.run(n, deviceId);
  }

  refusedAlerts(deviceId: string): number {
    return this.q.refusedOf.get(deviceId)?.alerts_refused ?? 0;
  }

  revoke(deviceId: string, nowMs: number): boolean {
    return this.q.revoke.run(nowMs, deviceId).changes > 0;
  }

  get(deviceId: string): DeviceRow | undefined {
    return this.q.get.get(deviceId);
  }

  list(opts: { tenant?: string; limit: number }): DeviceRow[] {
    return opts.tenant !== undefined ? this.q.listTenant.all(opts.tenant, opts.limit) : this.q.list.all(opts.limit);
  }
}
