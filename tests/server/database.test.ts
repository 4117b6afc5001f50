import { mkdtemp, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { migrate, MIGRATIONS } from '../../src/server/database/migrations.js';
import { openDatabase } from '../../src/server/database/open-database.js';
import { resolveAdminToken, resetAdminToken } from '../../src/server/admin-token.js';
import { storageOver } from '../../src/server/database/storage.js';
import { openTestDatabase } from './helpers/test-database.js';
import { hashToken } from '../../src/server/secret-tokens.js';
import { takeToken, RateLimiter } from '../../src/server/rate-limiter.js';

describe('database', () => {
  it('creates the file 0600 in WAL mode at the newest schema, and migrating again is a no-op', async () => {
    const file = path.join(await mkdtemp(path.join(tmpdir(), 'vigil-db-')), 'server.db');
    const db = openDatabase(file);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.pragma('user_version', { simple: true })).toBe(MIGRATIONS.at(-1)!.version);
    expect(migrate(db)).toEqual([]);
    db.close();
  });

  it('refuses a database from a newer server', () => {
    const db = new Database(':memory:');
    db.pragma('user_version = 99');
    expect(() => migrate(db)).toThrow(/schema version 99, newer than this server knows/);
  });

  it('rolls back a failing migration whole', () => {
    const db = new Database(':memory:');
    expect(() => migrate(db, [{ version: 1, name: 'broken', sql: 'CREATE TABLE a (x); CREATE TABLE oops (' }])).toThrow();
    expect(db.pragma('user_version', { simple: true })).toBe(0);
    expect(db.prepare("SELECT name FROM sqlite_master WHERE name = 'a'").get()).toBeUndefined();
  });

  it('stores only hashes of enrolment and admin tokens', async () => {
    const { database } = await openTestDatabase();
    const storage = storageOver(database);
    try {
      const store = storage.tenants;
      const { token } = await storage.transaction((tx) => tx.tenants.createToken('Acme', Date.now()));
      const dump = JSON.stringify(await database.all('SELECT * FROM enroll_tokens'));
      expect(dump).not.toContain(token.slice(13));
      expect((await store.checkToken(token, Date.now())).ok).toBe(true);
      const admin = await resolveAdminToken(store, {});
      expect(admin.source).toBe('generated');
      const settings = JSON.stringify(await database.all('SELECT * FROM settings'));
      expect(admin.source === 'generated' && settings.includes(admin.token)).toBe(false);
      expect(await resolveAdminToken(store, {})).toMatchObject({ source: 'stored', tokenHash: admin.tokenHash });
      expect(await resolveAdminToken(store, { VIGIL_ADMIN_TOKEN: 'an-admin-token-from-the-environment' })).toEqual({ source: 'env', tokenHash: hashToken('an-admin-token-from-the-environment') });
      await expect(resolveAdminToken(store, { VIGIL_ADMIN_TOKEN: 'short' })).rejects.toThrow(/at least 24/);
      const fresh = await storage.transaction((tx) => resetAdminToken(tx.tenants, tx.sessions));
      expect((await resolveAdminToken(store, {})).tokenHash).toEqual(hashToken(fresh));
    } finally {
      await storage.close();
    }
  });

  it('two servers starting together on a new database agree on one generated admin token', async () => {
    const first = await openTestDatabase();
    const a = storageOver(first.database);
    const b = storageOver((await openTestDatabase({ location: first.location })).database);
    try {
      const [x, y] = await Promise.all([resolveAdminToken(a.tenants, {}), resolveAdminToken(b.tenants, {})]);
      expect([x.source, y.source].sort()).toEqual(['generated', 'stored']);
      expect(x.tokenHash).toEqual(y.tokenHash);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('counts an enrolment token use only while uses are left (one conditional UPDATE), and finds tenants in any case', async () => {
    const { database } = await openTestDatabase();
    const storage = storageOver(database);
    try {
      const now = Date.now();
      const created = await storage.transaction((tx) => tx.tenants.createToken('Twice Dental', now, { maxUses: 2 }));
      expect(await storage.tenants.countTokenUse(created.tokenId, now)).toBe(true);
      expect(await storage.tenants.countTokenUse(created.tokenId, now)).toBe(true);
      expect(await storage.tenants.countTokenUse(created.tokenId, now)).toBe(false);
      expect((await storage.tenants.listTokens()).find((t) => t.id === created.tokenId)?.uses).toBe(2);
      expect((await storage.tenants.tenantByName('twice DENTAL'))?.id).toBe(created.tenant.id);
      // The same tenant in another case is the same tenant, not a second one.
      const again = await storage.transaction((tx) => tx.tenants.createToken('TWICE dental', now));
      expect(again.tenantCreated).toBe(false);
      expect(again.tenant.id).toBe(created.tenant.id);
    } finally {
      await storage.close();
    }
  });
});

describe('rate limiter', () => {
  it('allows a burst of capacity, then refills at the rate', () => {
    const b = { tokens: 2, updatedMs: 0 };
    const p = { capacity: 2, refillPerSec: 1 };
    expect(takeToken(b, 0, p)).toEqual({ allowed: true });
    expect(takeToken(b, 0, p)).toEqual({ allowed: true });
    expect(takeToken(b, 0, p)).toEqual({ allowed: false, retryAfterSec: 1 });
    expect(takeToken(b, 999, p).allowed).toBe(false);
    expect(takeToken(b, 2000, p).allowed).toBe(true);
    expect(takeToken(b, 1_000_000, p).allowed).toBe(true);
    expect(b.tokens).toBe(1); // never more than capacity
  });

  it('forgets idle keys', () => {
    let now = 0;
    const l = new RateLimiter({ capacity: 5, refillPerSec: 1 }, () => now);
    for (let i = 0; i < 100; i++) l.take(`k${i}`);
    expect(l.size).toBe(100);
    now = 120_000;
    l.take('fresh');
    expect(l.size).toBe(1);
  });
});
