/**
 * issue 15: the `vigil server` commands that change data, against PostgreSQL: migrate,
 * token create / list / revoke, admin-token reset, and start, with --db and with
 * VIGIL_SERVER_DB. The URL carries a password (the test cluster trusts loopback, so any
 * password connects): no output may show it.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDatabase, sharedAdminUrl } from '../helpers/postgres-cluster.js';
import { needsTools } from '../helpers/system-tool.js';
import { runServerCli, startServerCli } from './helpers/server-cli.js';
import { enrol } from './helpers/signed-request.js';

const PASSWORD = 'Sup3r-s3cret-pw';

function withPassword(url: string): string {
  const u = new URL(url);
  u.password = PASSWORD;
  return u.toString();
}

describe('vigil server over PostgreSQL', needsTools('initdb', 'pg_ctl'), () => {
  it('migrates an empty database once, manages tokens and the admin token, and serves from it', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'vigil-pg-cli-'));
    const url = withPassword(await createDatabase(await sharedAdminUrl())); // empty: no schema yet
    const outputs: string[] = [];
    const run = async (argv: string[], env: NodeJS.ProcessEnv = {}) => {
      const r = await runServerCli(argv, dir, env);
      outputs.push(r.stdout, r.stderr);
      return r;
    };

    const first = await run(['migrate', '--db', url]);
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/applied schema version 7, 8/);
    expect((await run(['migrate', '--db', url])).stdout).toMatch(/nothing to apply/);

    const created = await run(['token', 'create', '--tenant', 'Acme Dental', '--json', '--max-uses', '1', '--db', url]);
    expect(created.code).toBe(0);
    const tok = JSON.parse(created.stdout) as { tokenId: string; enrollToken: string };
    const spare = JSON.parse((await run(['token', 'create', '--tenant', 'acme dental', '--json'], { VIGIL_SERVER_DB: url })).stdout) as { tokenId: string; enrollToken: string; tenant: { created: boolean } };
    expect(spare.tenant.created).toBe(false); // tenant names are case-insensitive on PostgreSQL too
    expect((await run(['token', 'revoke', spare.tokenId, '--db', url])).code).toBe(0);
    const listed = JSON.parse((await run(['token', 'list', '--json', '--db', url])).stdout).tokens as Array<{ tokenId: string; revokedAt: string | null }>;
    expect(listed.map((t) => [t.tokenId, t.revokedAt === null])).toEqual(
      expect.arrayContaining([
        [tok.tokenId, true],
        [spare.tokenId, false],
      ]),
    );

    const reset = await run(['admin-token', 'reset', '--db', url]);
    expect(reset.code).toBe(0);
    const admin = /(vigil_admin_[A-Za-z0-9_-]{43})/.exec(reset.stdout)![1]!;

    const server = await startServerCli(['--port', '0', '--db', url], dir);
    outputs.push(server.run.out.stdout);
    try {
      expect(server.run.out.stdout).not.toContain('vigil_admin_'); // the stored one is used, not a new one
      const devices = await fetch(`${server.url}/v1/devices`, { headers: { authorization: `Bearer ${admin}` } });
      expect(devices.status).toBe(200);
      const cred = await enrol(server.url, tok.enrollToken, 'hw-pg-cli-01', 'PG-FRONT-DESK');
      expect(cred.status).toBe(201);
      // max-uses 1: the token is used up; the revoked one never worked.
      expect((await enrol(server.url, tok.enrollToken, 'hw-pg-cli-02')).status).toBe(401);
      expect((await enrol(server.url, spare.enrollToken, 'hw-pg-cli-03')).status).toBe(401);
      const after = JSON.parse((await run(['token', 'list', '--json', '--db', url])).stdout).tokens as Array<{ tokenId: string; uses: number }>;
      expect(after.find((t) => t.tokenId === tok.tokenId)!.uses).toBe(1);
    } finally {
      server.run.interrupt();
      expect(await server.done).toBe(0);
      outputs.push(server.run.out.stderr);
    }
    expect(outputs.join('\n')).not.toContain(PASSWORD);
  });

  it('names an unreachable PostgreSQL without its password', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'vigil-pg-cli-'));
    const url = `postgres://vigil:${PASSWORD}@127.0.0.1:1/fleet`;
    for (const argv of [['migrate', '--db', url], ['token', 'list', '--db', url]]) {
      const r = await runServerCli(argv, dir).catch((err: Error) => ({ code: -1, stdout: '', stderr: err.message }));
      expect(r.code, argv.join(' ')).not.toBe(0);
      expect(r.stdout + r.stderr).toMatch(/127\.0\.0\.1/);
      expect(r.stdout + r.stderr).not.toContain(PASSWORD);
    }
  });
});
