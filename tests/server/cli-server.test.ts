import { mkdtemp, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/commands/server.js';
import { runServerCli, serverCliIo } from './helpers/server-cli.js';
import { openDatabase } from '../../src/server/database/open-database.js';
import { enrol } from './helpers/signed-request.js';

const io = serverCliIo;
const run = runServerCli;

describe('vigil server token', () => {
  it('creates tenants and tokens, lists them without the secret, and revokes', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'vigil-cli-'));
    const created = await run(['token', 'create', '--tenant', 'Acme Dental', '--json', '--max-uses', '10', '--expires-days', '30'], dir);
    expect(created.code).toBe(0);
    const j = JSON.parse(created.stdout);
    expect(j).toMatchObject({ tenant: { name: 'Acme Dental', created: true }, maxUses: 10 });
    expect(j.enrollToken).toMatch(/^vigil_enroll_[A-Za-z0-9_-]{43}$/);
    expect(Date.parse(j.expiresAt) - Date.now()).toBeGreaterThan(29 * 86_400_000);
    const human = await run(['token', 'create', '--tenant', 'acme dental'], dir);
    expect(human.stdout).toMatch(/^Tenant "Acme Dental"/);
    expect(human.stdout).toMatch(/\nvigil_enroll_[A-Za-z0-9_-]{43}\n$/);

    const list = await run(['token', 'list', '--json'], dir);
    expect(list.stdout).not.toContain(j.enrollToken);
    const tokens = JSON.parse(list.stdout).tokens;
    expect(tokens).toHaveLength(2);
    expect(tokens[0]).toMatchObject({ tokenId: j.tokenId, tenant: 'Acme Dental', uses: 0, maxUses: 10, revokedAt: null });

    expect((await run(['token', 'revoke', j.tokenId], dir)).code).toBe(0);
    expect((await run(['token', 'revoke', j.tokenId], dir)).code).toBe(64);
    expect((await run(['token', 'list'], dir)).stdout).toMatch(new RegExp(`${j.tokenId}  Acme Dental  revoked`));
  });

  it('refuses bad usage', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'vigil-cli-'));
    for (const argv of [['token', 'create'], ['token', 'create', '--tenant', ''], ['token', 'create', '--tenant', 'x', '--max-uses', '0'], ['token', 'frob'], ['frob'], ['start', '--port', '99999'], ['start', '--tls-cert', 'a.pem'], ['start', '--log-level', 'loud'], ['start', '--heartbeat-interval', '5'], ['start', '--trust-proxy', 'proxy.example'], ['start', '--alert-retention-days', '0'], ['start', '--enrol-burst-per-address', 'lots']]) {
      expect((await run(argv, dir)).code, argv.join(' ')).toBe(64);
    }
    expect((await run(['start', '--port', '0'], dir, { VIGIL_ADMIN_TOKEN: 'short' })).stderr).toMatch(/at least 24/);
  });
});

describe('vigil server start', () => {
  it('prints the address and a generated admin token once, serves, and stops when interrupted', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'vigil-cli-'));
    const r = io(dir);
    const done = main(['start', '--port', '0', '--db', 'fleet.db'], r.io);
    for (let i = 0; i < 100 && !r.out.stdout.includes('Admin token'); i++) await new Promise((res) => setTimeout(res, 20));
    const url = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(r.out.stdout)![1]!;
    const token = /\n(vigil_admin_[A-Za-z0-9_-]{43})\n/.exec(r.out.stdout)![1]!;
    expect((await fetch(url + '/healthz')).status).toBe(200);
    expect((await fetch(url + '/v1/devices', { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
    r.interrupt();
    expect(await done).toBe(0);
    expect(r.out.stderr).toMatch(/"msg":"server started"/);
    expect(r.out.stderr).not.toContain(token);

    // Second start on the same database: the token is not printed again, and still works.
    const r2 = io(dir);
    const done2 = main(['start', '--port', '0', '--db', 'fleet.db'], r2.io);
    for (let i = 0; i < 100 && !r2.out.stdout.includes('Admin token'); i++) await new Promise((res) => setTimeout(res, 20));
    expect(r2.out.stdout).not.toContain('vigil_admin_');
    const url2 = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(r2.out.stdout)![1]!;
    expect((await fetch(url2 + '/v1/devices', { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
    r2.interrupt();
    expect(await done2).toBe(0);
  });
});

describe('vigil server backup', () => {
  it('copies the database while the server runs, 0600, and refuses to overwrite', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'vigil-cli-'));
    const created = JSON.parse((await run(['token', 'create', '--tenant', 'Backup Co', '--json', '--db', 'fleet.db'], dir)).stdout);
    const r = io(dir, { VIGIL_ADMIN_TOKEN: 'backup-test-admin-token-0123456789' });
    const done = main(['start', '--port', '0', '--db', 'fleet.db'], r.io);
    for (let i = 0; i < 100 && !r.out.stdout.includes('Admin token'); i++) await new Promise((res) => setTimeout(res, 20));
    const url = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(r.out.stdout)![1]!;
    try {
      const e = await enrol(url, created.enrollToken, 'hw-uuid-backup-0001', 'BACKUP-PC');
      expect(e.status).toBe(201);
      const b = await run(['backup', '--db', 'fleet.db', '--to', 'copy.db'], dir);
      expect(b.code, b.stderr).toBe(0);
      expect(b.stdout).toContain('copy.db');
      expect((await stat(path.join(dir, 'copy.db'))).mode & 0o777).toBe(0o600);
      const copy = openDatabase(path.join(dir, 'copy.db'));
      try {
        expect(copy.prepare('SELECT id, hostname FROM devices').all()).toEqual([{ id: e.deviceId, hostname: 'BACKUP-PC' }]);
        expect(copy.pragma('integrity_check', { simple: true })).toBe('ok');
      } finally {
        copy.close();
      }
      const again = await run(['backup', '--db', 'fleet.db', '--to', 'copy.db'], dir);
      expect(again.code).toBe(64);
      expect(again.stderr).toMatch(/exists already/);
      expect((await run(['backup', '--db', 'fleet.db'], dir)).code).toBe(64);
      expect((await run(['backup', '--db', 'missing.db', '--to', 'x.db'], dir)).stderr).toMatch(/no database/);
    } finally {
      r.interrupt();
      expect(await done).toBe(0);
    }
  });
});

describe('vigil server --db with a PostgreSQL URL (issue 15)', () => {
  // Port 1 on loopback: nothing listens, so this fails fast whether or not the build has PostgreSQL support.
  const url = 'postgres://vigil:s3cret-pass@127.0.0.1:1/vigil?password=also-secret';

  it('never shows the password in an error, from --db or VIGIL_SERVER_DB', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'vigil-cli-pg-'));
    for (const r of [await run(['token', 'list', '--db', url], dir), await run(['token', 'list'], dir, { VIGIL_SERVER_DB: url }), await run(['start', '--port', '0', '--db', url], dir)]) {
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain('postgres://vigil:***@127.0.0.1:1/vigil');
      expect(r.stderr + r.stdout).not.toMatch(/s3cret|also-secret/);
    }
  });

  it('backup says to use pg_dump for PostgreSQL', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'vigil-cli-pg-'));
    const r = await run(['backup', '--db', url, '--to', 'copy.db'], dir);
    expect(r.code).toBe(64);
    expect(r.stderr).toMatch(/pg_dump/);
    expect(r.stderr).not.toMatch(/s3cret/);
  });
});
