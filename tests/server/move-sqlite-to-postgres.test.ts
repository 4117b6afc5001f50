/**
 * The move from SQLite to PostgreSQL (move-sqlite-to-postgres.ts) and the `vigil server
 * migrate` / `move-to-postgres` commands (src/cli/commands/server-database.ts), with a SQLite
 * file built by migrations.ts and filled with realistic rows in every table, moved into a
 * fresh database on the test cluster, then compared row by row (bytes equal).
 */
import Database from 'better-sqlite3';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate, MIGRATIONS } from '../../src/server/database/migrations.js';
import { MoveError, moveSqliteToPostgres, foreignKeyOrder } from '../../src/server/database/move-sqlite-to-postgres.js';
import { openPostgresDatabase } from '../../src/server/database/postgres-database.js';
import { migratePostgres, newestVersion, POSTGRES_MIGRATIONS } from '../../src/server/database/postgres-schema.js';
import type { SqlDatabase } from '../../src/server/database/sql-database.js';
import { migrateCommand, moveToPostgresCommand } from '../../src/cli/commands/server-database.js';
import type { CliIo } from '../../src/cli/io.js';
import { createDatabase, sharedAdminUrl } from '../helpers/postgres-cluster.js';
import { needsTools } from '../helpers/system-tool.js';

const sha = (s: string) => createHash('sha256').update(s).digest();
const T0 = Date.UTC(2026, 10, 20, 9, 0, 0);

/** A Vigil server database at SQLite schema 7 with rows in every table (as the server writes them). */
function buildSqlite(file: string, devices = 40): void {
  const db = new Database(file);
  db.pragma('foreign_keys = ON');
  migrate(db, MIGRATIONS.filter((m) => m.version <= 7));
  const ins = (sql: string, ...v: unknown[]) => db.prepare(sql).run(...v);
  db.transaction(() => {
    ins('INSERT INTO tenants (id, name, created_at) VALUES (?, ?, ?)', 'ten_acme', 'Acme GmbH', T0);
    ins('INSERT INTO tenants (id, name, created_at) VALUES (?, ?, ?)', 'ten_ümlaut', 'Bäckerei Müller — Filiale 2', T0 + 1);
    ins('INSERT INTO enroll_tokens (id, tenant_id, token_hash, created_at, expires_at, max_uses, uses, revoked_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)', 'tok_1', 'ten_acme', sha('vgl_enrol_1'), T0, T0 + 30 * 86_400_000, 500, devices, null);
    ins('INSERT INTO enroll_tokens (id, tenant_id, token_hash, created_at, expires_at, max_uses, uses, revoked_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)', 'tok_2', 'ten_ümlaut', sha('vgl_enrol_2'), T0, null, null, 0, T0 + 5);
    for (let i = 0; i < devices; i++) {
      const id = `dev_${String(i).padStart(4, '0')}`;
      const tenant = i % 5 === 0 ? 'ten_ümlaut' : 'ten_acme';
      ins(
        `INSERT INTO devices (id, tenant_id, stable_id, stable_id_source, secret, hostname, platform, os_release, arch, agent_version, enrolled_at, enrol_count, revoked_at,
          last_seen_at, heartbeat_interval_sec, heartbeat_sent_at, status, heartbeat_json, alert_count, heartbeat_seq, duplicate_of, alerts_refused)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        id, tenant, `machine-guid-${i}`, 'MachineGuid', randomBytes(32), `PC-${String(i).padStart(4, '0')}`, 'win32', '10.0.22631', 'x64', '0.1.0',
        T0 + i, 1 + (i % 3), i === 7 ? T0 + 99 : null, T0 + 3_600_000 + i, 60, T0 + 3_600_000 + i, i % 4 === 0 ? 'red' : 'green',
        JSON.stringify({ status: 'green', checks: [{ id: '3cx-desktopapp', ok: true }], note: "it's \"quoted\" ?" }), i % 4 === 0 ? 2 : 0,
        i === 1 ? Number.MAX_SAFE_INTEGER : i, i === 9 ? 'dev_0008' : null, i === 3 ? 17 : 0,
      );
      ins('INSERT INTO notify_device_state (device_id, silent_since) VALUES (?, ?)', id, i % 6 === 0 ? T0 + 7 : null);
      if (i % 4 === 0) {
        for (const a of ['a1', 'a2']) {
          ins('INSERT INTO alerts (device_id, alert_id, tenant_id, kind, severity, raised_at, received_at, alert_json) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
            id, `${id}-${a}`, tenant, 'file-hash', 'critical', '2026-11-20T09:00:00.000Z', T0 + 60_000 + i, JSON.stringify({ path: 'C:\\Program Files\\3CXDesktopApp\\ffmpeg.dll', sha256: 'aa'.repeat(32) }));
        }
        ins('INSERT INTO alert_triage (device_id, alert_id, state, "by", note, at) VALUES (?, ?, ?, ?, ?, ?)', id, `${id}-a1`, 'acknowledged', 'admin', 'looking', T0 + 70_000);
      }
      ins('INSERT INTO request_nonces (device_id, nonce, expires_at) VALUES (?, ?, ?)', id, randomBytes(12).toString('base64url'), T0 + 600_000);
    }
    ins('INSERT INTO settings (key, value) VALUES (?, ?)', 'admin_token_hash', sha('vgl_admin').toString('hex'));
    ins('INSERT INTO notify_channels (id, name, tenant_id, type, min_severity, events, config_json, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)', 'ch_mail', 'Ops mail', null, 'email', 'warning', '["alert"]', '{"to":["ops@acme.example"]}', T0);
    ins('INSERT INTO notify_channels (id, name, tenant_id, type, min_severity, events, config_json, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)', 'ch_hook', 'Acme webhook', 'ten_acme', 'webhook', 'critical', '["alert","silent"]', '{"url":"https://hooks.example/x"}', T0);
    for (let s = 1; s <= 5; s++) {
      ins('INSERT INTO notify_outbox (delivery_id, channel_id, order_key, event_type, event_json, state, attempts, created_at, due_at, last_error, last_attempt_at, done_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
        `del_${s}`, s % 2 ? 'ch_mail' : 'ch_hook', 'dev_0000', 'alert', '{"type":"alert"}', s < 3 ? 'done' : 'pending', s < 3 ? 1 : 0, T0, T0 + s, s === 4 ? 'connect ECONNREFUSED' : null, null, s < 3 ? T0 + 9 : null);
    }
    // AUTOINCREMENT never reuses the ids of deleted rows: PostgreSQL must continue after 5.
    ins('DELETE FROM notify_outbox WHERE seq = 5');
    ins('INSERT INTO notify_digest_sent (channel_id, tenant_id, day) VALUES (?, ?, ?)', 'ch_mail', 'ten_acme', '2026-11-20');
    ins('INSERT INTO pack_keys (key_id, public_key, added_at) VALUES (?, ?, ?)', 'key_a', '-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA\n-----END PUBLIC KEY-----\n', T0);
    const envelope = randomBytes(4096);
    ins('INSERT INTO fleet_packs (id, pack_id, version, title, tenant_id, signer_key_id, sha256, size, envelope, published_by, published_at, withdrawn_at, withdrawn_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
      'pub_1', '3cx-2023-03', 3, '3CX DesktopApp supply-chain compromise', null, 'key_a', createHash('sha256').update(envelope).digest('hex'), envelope.length, envelope, 'admin', T0, null, null);
    ins('INSERT INTO pack_coverage (publication_id, device_id, covered_at) VALUES (?, ?, ?)', 'pub_1', 'dev_0000', T0 + 5);
    ins('INSERT INTO scan_requests (id, scope, tenant_id, device_id, requested_by, requested_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)', 'scan_1', 'device', 'ten_acme', 'dev_0001', 'admin', T0, T0 + 86_400_000);
    ins('INSERT INTO scan_request_answers (request_id, device_id, answered_at) VALUES (?, ?, ?)', 'scan_1', 'dev_0001', T0 + 50);
    ins('INSERT INTO heartbeat_overrides (tenant_id, interval_sec, until_at, set_by, set_at) VALUES (?, ?, ?, ?, ?)', 'ten_acme', 15, T0 + 7_200_000, 'admin', T0);
    ins('INSERT INTO admin_sessions (id_hash, admin_token_hash, created_at, expires_at) VALUES (?, ?, ?, ?)', sha('session'), sha('vgl_admin'), T0, T0 + 43_200_000);
  })();
  db.close();
}

const sortRows = (rows: Record<string, unknown>[]) =>
  rows
    .map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, Buffer.isBuffer(v) ? `bytes:${v.toString('hex')}` : v])))
    .sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1));

function captureIo(cwd: string): CliIo & { out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, stdout: (t) => out.push(t), stderr: (t) => err.push(t), env: {}, cwd, interrupted: new Promise(() => {}) };
}

describe('foreignKeyOrder', () => {
  it('puts referenced tables first and names a cycle', () => {
    expect(foreignKeyOrder(['alerts', 'devices', 'tenants'], new Map([['alerts', ['devices', 'tenants']], ['devices', ['tenants']]]))).toEqual(['tenants', 'devices', 'alerts']);
    expect(() => foreignKeyOrder(['a', 'b'], new Map([['a', ['b']], ['b', ['a']]]))).toThrow(/cycle: a → b → a/);
  });
});

describe('moving a SQLite database to PostgreSQL', needsTools('initdb', 'pg_ctl'), () => {
  let dir: string;
  let adminUrl: string;
  const freshTarget = async (): Promise<{ url: string; db: SqlDatabase }> => {
    const url = await createDatabase(adminUrl);
    const db = await openPostgresDatabase(url, { poolSize: 2 });
    await migratePostgres(db);
    return { url, db };
  };
  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'vigil-move-'));
    adminUrl = await sharedAdminUrl();
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('copies every row of every table, bytes equal, and identities continue after SQLite\'s', async () => {
    const file = path.join(dir, 'full.db');
    buildSqlite(file, 1_200); // more rows than one batch
    const { db } = await freshTarget();
    try {
      const report = await moveSqliteToPostgres(file, db, { batchRows: 250 });
      const src = new Database(file, { readonly: true });
      const tables = (src.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name").all() as { name: string }[]).map((r) => r.name);
      expect(report.tables.map((t) => t.table).sort()).toEqual(tables);
      for (const t of report.tables) expect(t.target, t.table).toBe(t.source);
      expect(report.tables.every((t) => t.source > 0)).toBe(true);
      expect(report.tables.findIndex((t) => t.table === 'tenants')).toBeLessThan(report.tables.findIndex((t) => t.table === 'devices'));
      for (const t of tables) {
        // The source's columns: a version-7 file moved into a newer schema leaves the new columns at their defaults.
        const cols = (src.pragma(`table_info("${t}")`) as { name: string }[]).map((c) => `"${c.name}"`).join(', ');
        const a = sortRows(src.prepare(`SELECT ${cols} FROM "${t}"`).all() as Record<string, unknown>[]);
        const b = sortRows(await db.all<Record<string, unknown>>(`SELECT ${cols} FROM "${t}"`));
        expect(b, t).toEqual(a);
      }
      src.close();
      expect(await db.get('SELECT heartbeat_seq FROM devices WHERE id = ?', ['dev_0001'])).toEqual({ heartbeat_seq: Number.MAX_SAFE_INTEGER });
      await db.run("INSERT INTO notify_outbox (delivery_id, channel_id, order_key, event_type, event_json, created_at, due_at) VALUES ('del_new', 'ch_mail', 'k', 'alert', '{}', 1, 1)");
      expect(await db.get("SELECT seq FROM notify_outbox WHERE delivery_id = 'del_new'")).toEqual({ seq: 6 });
    } finally {
      await db.close();
    }
  });

  it('refuses a non-empty target, a non-Vigil file, a missing file, a non-SQLite file and an old schema, moving nothing', async () => {
    const file = path.join(dir, 'small.db');
    buildSqlite(file, 3);
    const { db } = await freshTarget();
    try {
      await db.run("INSERT INTO settings (key, value) VALUES ('already', 'here')");
      await expect(moveSqliteToPostgres(file, db)).rejects.toThrow(/^the PostgreSQL database is not empty \(rows in settings\)/);
      expect(await db.get('SELECT COUNT(*) AS n FROM tenants')).toEqual({ n: 0 });
      await db.run('DELETE FROM settings');

      const other = path.join(dir, 'other.db');
      const o = new Database(other);
      o.exec('CREATE TABLE photos (id INTEGER PRIMARY KEY, data BLOB)');
      o.close();
      await expect(moveSqliteToPostgres(other, db)).rejects.toThrow(`${other} is not a Vigil server database (schema version 0; tables: photos)`);
      await expect(moveSqliteToPostgres(path.join(dir, 'nope.db'), db)).rejects.toThrow(`no SQLite database at ${path.join(dir, 'nope.db')}`);
      const text = path.join(dir, 'notes.db');
      writeFileSync(text, 'this is a text file, not a database\n'.repeat(200));
      await expect(moveSqliteToPostgres(text, db)).rejects.toThrow(new RegExp(`^${text.replace(/[.]/g, '\\.')} is not a SQLite database: file is not a database`));
      const old = path.join(dir, 'old.db');
      const v5 = new Database(old);
      migrate(v5, MIGRATIONS.filter((m) => m.version <= 5));
      v5.close();
      await expect(moveSqliteToPostgres(old, db)).rejects.toThrow(/is at schema version 5; the move copies version 7 or \d+: start this version of the Vigil server on it once/);
      for (const t of ['tenants', 'devices', 'settings']) expect(await db.get(`SELECT COUNT(*) AS n FROM ${t}`)).toEqual({ n: 0 });
    } finally {
      await db.close();
    }
  });

  it('rolls everything back when a table\'s counts differ after the copy', async () => {
    const file = path.join(dir, 'rule.db');
    buildSqlite(file, 8);
    const { db } = await freshTarget();
    try {
      // Something on the PostgreSQL side silently drops rows (here a rule): the counts catch it.
      await db.run("CREATE RULE drop_some_alerts AS ON INSERT TO alerts WHERE NEW.alert_id LIKE '%-a2' DO INSTEAD NOTHING");
      const err = (await moveSqliteToPostgres(file, db).catch((e: unknown) => e)) as MoveError;
      expect(err).toBeInstanceOf(MoveError);
      expect(err.message).toBe('row counts differ in alerts (4 in SQLite, 2 in PostgreSQL): nothing was moved');
      expect(err.report!.tables.find((t) => t.table === 'devices')).toEqual({ table: 'devices', source: 8, target: 8 });
      for (const t of ['tenants', 'devices', 'alerts']) expect(await db.get(`SELECT COUNT(*) AS n FROM ${t}`)).toEqual({ n: 0 });
    } finally {
      await db.close();
    }
  });

  it('vigil server migrate and move-to-postgres: counts table, exit codes, never the password', async () => {
    const file = path.join(dir, 'cli.db');
    buildSqlite(file, 5);
    const url = new URL(await createDatabase(adminUrl));
    url.password = 'cli-s3cret'; // trust auth ignores it; it must never be printed
    let io = captureIo(dir);
    expect(await migrateCommand(['--db', url.toString()], io)).toBe(0);
    expect(io.out.join('')).toContain(`applied schema version ${POSTGRES_MIGRATIONS.map((m) => m.version).join(', ')}; at version ${newestVersion()}`);
    io = captureIo(dir);
    expect(await migrateCommand(['--db', url.toString()], io)).toBe(0);
    expect(io.out.join('')).toContain('nothing to apply');

    io = captureIo(dir);
    expect(await moveToPostgresCommand(['--from', 'cli.db', '--to', url.toString()], io)).toBe(0);
    const out = io.out.join('');
    expect(out).toMatch(/^table\s+sqlite\s+postgres\n/);
    expect(out).toMatch(/\ndevices\s+5\s+5\n/);
    expect(out).toContain('every table\'s row count matches');
    io = captureIo(dir);
    expect(await moveToPostgresCommand(['--from', 'cli.db', '--to', url.toString()], io)).toBe(1);
    expect(io.err.join('')).toMatch(/not empty \(rows in /);

    const port = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
    io = captureIo(dir);
    expect(await moveToPostgresCommand(['--from', 'cli.db', '--to', `postgres://vigil:cli-s3cret@127.0.0.1:${port}/fleet`], io)).toBe(1);
    expect(io.err.join('')).toMatch(new RegExp(`cannot connect to PostgreSQL at 127\\.0\\.0\\.1:${port}, database "fleet" as user "vigil": .*ECONNREFUSED`));
    io = captureIo(dir);
    await expect(moveToPostgresCommand(['--from', 'cli.db', '--to', 'cli2.db'], io)).rejects.toThrow(/--to postgres:\/\//);
    for (const line of [...io.out, ...io.err]) expect(line).not.toContain('cli-s3cret');

    // SQLite: migrate a file at version 5 up to this Vigil's.
    const old = path.join(dir, 'cli-old.db');
    const v5 = new Database(old);
    migrate(v5, MIGRATIONS.filter((m) => m.version <= 5));
    v5.close();
    io = captureIo(dir);
    expect(await migrateCommand(['--db', 'cli-old.db'], io)).toBe(0);
    expect(io.out.join('')).toContain('applied schema version 6, 7');
  });
});
