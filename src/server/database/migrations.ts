/**
 * The reference backend's schema, versioned in code. `PRAGMA user_version` records the last
 * migration applied; each migration runs once, in its own transaction, in order. Never edit
 * a released migration: add the next one.
 *
 * Times are integer milliseconds since the epoch (UTC). Device secrets are stored as the
 * 32 raw bytes (HMAC needs the key itself; protect the database file: it is created 0600).
 * Enrolment and admin tokens are stored only as SHA-256 hashes.
 */
import type { Database } from 'better-sqlite3';

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'tenants, enrolment tokens, devices, alerts, request nonces, settings',
    sql: `
      CREATE TABLE tenants (
        id          TEXT PRIMARY KEY,
        name        TEXT NOT NULL UNIQUE COLLATE NOCASE,
        created_at  INTEGER NOT NULL
      );
      CREATE TABLE enroll_tokens (
        id          TEXT PRIMARY KEY,
        tenant_id   TEXT NOT NULL REFERENCES tenants(id),
        token_hash  BLOB NOT NULL UNIQUE,
        created_at  INTEGER NOT NULL,
        expires_at  INTEGER,
        max_uses    INTEGER,
        uses        INTEGER NOT NULL DEFAULT 0,
        revoked_at  INTEGER
      );
      CREATE TABLE devices (
        id                     TEXT PRIMARY KEY,
        tenant_id              TEXT NOT NULL REFERENCES tenants(id),
        stable_id              TEXT NOT NULL,
        stable_id_source       TEXT NOT NULL,
        secret                 BLOB NOT NULL,
        hostname               TEXT NOT NULL,
        platform               TEXT NOT NULL,
        os_release             TEXT,
        arch                   TEXT,
        agent_version          TEXT NOT NULL,
        enrolled_at            INTEGER NOT NULL,
        enrol_count            INTEGER NOT NULL DEFAULT 1,
        revoked_at             INTEGER,
        last_seen_at           INTEGER,
        heartbeat_interval_sec INTEGER NOT NULL,
        heartbeat_sent_at      INTEGER,
        status                 TEXT NOT NULL DEFAULT 'unknown',
        heartbeat_json         TEXT,
        alert_count            INTEGER NOT NULL DEFAULT 0,
        UNIQUE (tenant_id, stable_id)
      );
      CREATE INDEX devices_by_tenant ON devices(tenant_id, hostname);
      CREATE TABLE alerts (
        device_id    TEXT NOT NULL REFERENCES devices(id),
        alert_id     TEXT NOT NULL,
        tenant_id    TEXT NOT NULL REFERENCES tenants(id),
        kind         TEXT NOT NULL,
        severity     TEXT NOT NULL,
        raised_at    TEXT NOT NULL,
        received_at  INTEGER NOT NULL,
        alert_json   TEXT NOT NULL,
        PRIMARY KEY (device_id, alert_id)
      ) WITHOUT ROWID;
      CREATE INDEX alerts_by_tenant_time ON alerts(tenant_id, received_at);
      CREATE INDEX alerts_by_time ON alerts(received_at);
      CREATE TABLE request_nonces (
        device_id   TEXT NOT NULL,
        nonce       TEXT NOT NULL,
        expires_at  INTEGER NOT NULL,
        PRIMARY KEY (device_id, nonce)
      ) WITHOUT ROWID;
      CREATE INDEX request_nonces_by_expiry ON request_nonces(expires_at);
      CREATE TABLE settings (
        key    TEXT PRIMARY KEY,
        value  TEXT NOT NULL
      );
    `,
  },
  {
    // issue 14: alert routing. Channels, the durable delivery queue (one row per event per
    // channel, written in the transaction that stores the cause), and per-device state the
    // event derivation needs (silent already notified).
    version: 2,
    name: 'notification channels, delivery queue, device notification state, digests sent',
    sql: `
      CREATE TABLE notify_channels (
        id            TEXT PRIMARY KEY,
        name          TEXT NOT NULL UNIQUE COLLATE NOCASE,
        tenant_id     TEXT REFERENCES tenants(id),
        type          TEXT NOT NULL,
        min_severity  TEXT NOT NULL,
        events        TEXT NOT NULL,
        config_json   TEXT NOT NULL,
        created_at    INTEGER NOT NULL
      );
      CREATE TABLE notify_outbox (
        seq            INTEGER PRIMARY KEY AUTOINCREMENT,
        delivery_id    TEXT NOT NULL UNIQUE,
        channel_id     TEXT NOT NULL REFERENCES notify_channels(id) ON DELETE CASCADE,
        order_key      TEXT NOT NULL,
        event_type     TEXT NOT NULL,
        event_json     TEXT NOT NULL,
        state          TEXT NOT NULL DEFAULT 'pending',
        attempts       INTEGER NOT NULL DEFAULT 0,
        created_at     INTEGER NOT NULL,
        due_at         INTEGER NOT NULL,
        last_error     TEXT,
        last_attempt_at INTEGER,
        done_at        INTEGER
      );
      CREATE INDEX notify_outbox_due ON notify_outbox(state, due_at);
      CREATE INDEX notify_outbox_order ON notify_outbox(channel_id, order_key, state, seq);
      CREATE TABLE notify_device_state (
        device_id         TEXT PRIMARY KEY REFERENCES devices(id),
        silent_since      INTEGER
      );
      CREATE TABLE notify_digest_sent (
        channel_id  TEXT NOT NULL REFERENCES notify_channels(id) ON DELETE CASCADE,
        tenant_id   TEXT NOT NULL REFERENCES tenants(id),
        day         TEXT NOT NULL,
        PRIMARY KEY (channel_id, tenant_id)
      ) WITHOUT ROWID;
    `,
  },
  {
    // issue 13: fleet response.
    version: 3,
    name: 'fleet response: pack signing keys, published packs and coverage, check-now requests, heartbeat interval overrides, alert triage',
    sql: `
      CREATE TABLE pack_keys (
        key_id      TEXT PRIMARY KEY,
        public_key  TEXT NOT NULL,
        added_at    INTEGER NOT NULL
      );
      CREATE TABLE fleet_packs (
        id             TEXT PRIMARY KEY,
        pack_id        TEXT NOT NULL,
        version        INTEGER NOT NULL,
        title          TEXT NOT NULL,
        tenant_id      TEXT REFERENCES tenants(id),
        signer_key_id  TEXT NOT NULL,
        sha256         TEXT NOT NULL,
        size           INTEGER NOT NULL,
        envelope       BLOB NOT NULL,
        published_by   TEXT NOT NULL,
        published_at   INTEGER NOT NULL,
        withdrawn_at   INTEGER,
        withdrawn_by   TEXT
      );
      CREATE INDEX fleet_packs_active ON fleet_packs(withdrawn_at, pack_id, version);
      CREATE TABLE scan_requests (
        id            TEXT PRIMARY KEY,
        scope         TEXT NOT NULL,
        tenant_id     TEXT REFERENCES tenants(id),
        device_id     TEXT REFERENCES devices(id),
        requested_by  TEXT NOT NULL,
        requested_at  INTEGER NOT NULL,
        expires_at    INTEGER NOT NULL
      );
      CREATE INDEX scan_requests_by_expiry ON scan_requests(expires_at);
      CREATE TABLE scan_request_answers (
        request_id   TEXT NOT NULL REFERENCES scan_requests(id),
        device_id    TEXT NOT NULL REFERENCES devices(id),
        answered_at  INTEGER NOT NULL,
        PRIMARY KEY (request_id, device_id)
      ) WITHOUT ROWID;
      CREATE TABLE pack_coverage (
        publication_id  TEXT NOT NULL REFERENCES fleet_packs(id),
        device_id       TEXT NOT NULL REFERENCES devices(id),
        covered_at      INTEGER NOT NULL,
        PRIMARY KEY (publication_id, device_id)
      ) WITHOUT ROWID;
      CREATE TABLE alert_triage (
        device_id   TEXT NOT NULL,
        alert_id    TEXT NOT NULL,
        state       TEXT NOT NULL,
        by          TEXT NOT NULL,
        note        TEXT NOT NULL DEFAULT '',
        at          INTEGER NOT NULL,
        PRIMARY KEY (device_id, alert_id),
        FOREIGN KEY (device_id, alert_id) REFERENCES alerts(device_id, alert_id)
      ) WITHOUT ROWID;
      CREATE TABLE heartbeat_overrides (
        tenant_id     TEXT PRIMARY KEY REFERENCES tenants(id),
        interval_sec  INTEGER NOT NULL,
        until_at      INTEGER NOT NULL,
        set_by        TEXT NOT NULL,
        set_at        INTEGER NOT NULL
      );
    `,
  },
  {
    version: 4,
    name: 'heartbeat sequence numbers; future-dated heartbeats no longer rule (issue 11, hole 1)',
    sql: `
      ALTER TABLE devices ADD COLUMN heartbeat_seq INTEGER;
      -- A heartbeat stored before this version may carry a sentAt years ahead (the attack this
      -- fixes): cap every stored one at the time it was last seen, as the new rule does.
      UPDATE devices SET heartbeat_sent_at = last_seen_at
        WHERE heartbeat_sent_at IS NOT NULL AND last_seen_at IS NOT NULL AND heartbeat_sent_at > last_seen_at;
    `,
  },
  {
    version: 5,
    name: 're-enrolment without proof makes a new record flagged as a possible duplicate (issue 11, hole 2)',
    sql: `
      -- The device record this one may duplicate (same tenant and stable id, enrolled without
      -- proof of that record's credential). Such a record's stable_id column holds a unique
      -- "dup:" key; the stable id itself stays claimed by the record it may duplicate.
      ALTER TABLE devices ADD COLUMN duplicate_of TEXT;
    `,
  },
  {
    version: 6,
    name: 'fleet-page sessions kept on the server (issue 11, hole 4)',
    sql: `
      CREATE TABLE admin_sessions (
        id_hash           BLOB PRIMARY KEY,
        admin_token_hash  BLOB NOT NULL,
        created_at        INTEGER NOT NULL,
        expires_at        INTEGER NOT NULL
      ) WITHOUT ROWID;
      CREATE INDEX admin_sessions_by_expiry ON admin_sessions(expires_at);
      -- Cookies signed with this key (the old stateless sessions) are no longer accepted.
      DELETE FROM settings WHERE key = 'session_key';
    `,
  },
  {
    version: 7,
    name: 'alerts refused over the per-device quota are counted (issue 11, hole 5)',
    sql: `
      ALTER TABLE devices ADD COLUMN alerts_refused INTEGER NOT NULL DEFAULT 0;
    `,
  },
  {
    version: 8,
    name: 'state several server processes share: the alert quota in the device row, leases on queued notifications (issue 15)',
    // The same DDL for PostgreSQL is in postgres-schema.ts (REAL there is DOUBLE PRECISION, INTEGER times BIGINT).
    sql: `
      -- Per-device alert quota bucket (tokens left, and when counted); NULL = full.
      ALTER TABLE devices ADD COLUMN alert_quota_tokens REAL;
      ALTER TABLE devices ADD COLUMN alert_quota_at INTEGER;
      -- A delivery being sent by one process: by whom, and until when the claim holds.
      ALTER TABLE notify_outbox ADD COLUMN claimed_by TEXT;
      ALTER TABLE notify_outbox ADD COLUMN claimed_until INTEGER;
    `,
  },
];

/** Applies the migrations this database has not seen; returns the versions applied. */
export function migrate(db: Database, migrations: readonly Migration[] = MIGRATIONS): number[] {
  const current = db.pragma('user_version', { simple: true }) as number;
  const newest = migrations.reduce((n, m) => Math.max(n, m.version), 0);
  if (current > newest) {
    throw new Error(`the database is at schema version ${current}, newer than this server knows (${newest}); update Vigil`);
  }
  const applied: number[] = [];
  for (const m of [...migrations].sort((a, b) => a.version - b.version)) {
    if (m.version <= current) continue;
    db.transaction(() => {
      db.exec(m.sql);
      db.pragma(`user_version = ${m.version}`);
    })();
    applied.push(m.version);
  }
  return applied;
}
