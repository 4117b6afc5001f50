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
    version: 2,
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
    version: 3,
    name: 're-enrolment without proof makes a new record flagged as a possible duplicate (issue 11, hole 2)',
    sql: `
      -- The device record this one may duplicate (same tenant and stable id, enrolled without
      -- proof of that record's credential). Such a record's stable_id column holds a unique
      -- "dup:" key; the stable id itself stays claimed by the record it may duplicate.
      ALTER TABLE devices ADD COLUMN duplicate_of TEXT;
    `,
  },
  {
    version: 4,
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
    version: 5,
    name: 'alerts refused over the per-device quota are counted (issue 11, hole 5)',
    sql: `
      ALTER TABLE devices ADD COLUMN alerts_refused INTEGER NOT NULL DEFAULT 0;
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
