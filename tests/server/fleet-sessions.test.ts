/**
 * Issue 11, hole 4: a fleet-page cookie kept working after POST /logout, and after
 * `vigil server admin-token reset` plus a restart. Sessions now live on the server.
 * The server here is started the way `vigil server start` starts it (admin token and
 * everything else from the database), on a database file that survives restarts.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { buildServer } from '../../src/server/server.js';
import { storageOver, type Storage } from '../../src/server/database/storage.js';
import { resetAdminToken, resolveAdminToken } from '../../src/server/admin-token.js';
import { openTestDatabase } from './helpers/test-database.js';

const running: Array<{ app: FastifyInstance; storage: Storage }> = [];
afterEach(async () => {
  for (const r of running.splice(0)) {
    await r.app.close();
    await r.storage.close();
  }
});

/** Opens the database at `location` (a new one when undefined), as a `vigil server` command would. */
async function openAt(location: string | undefined) {
  const t = await openTestDatabase(location !== undefined ? { location } : {});
  return { storage: storageOver(t.database), location: t.location };
}

/** Starts the server as the CLI does; returns its URL, database and the admin token when it generated one. */
async function start(at: string | undefined, env: NodeJS.ProcessEnv = {}) {
  const { storage, location } = await openAt(at);
  const admin = await resolveAdminToken(storage.tenants, env);
  const app = await buildServer({ storage, adminTokenHash: admin.tokenHash });
  await app.listen({ host: '127.0.0.1', port: 0 });
  running.push({ app, storage });
  const addr = app.server.address();
  return { url: `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`, token: admin.source === 'generated' ? admin.token : undefined, storage, app, location };
}

async function stop(s: { app: FastifyInstance; storage: Storage }) {
  await s.app.close();
  await s.storage.close();
  running.splice(running.findIndex((r) => r.app === s.app), 1);
}

async function signIn(url: string, token: string): Promise<string> {
  const res = await fetch(url + '/login', { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ token }).toString() });
  expect(res.status).toBe(303);
  return res.headers.get('set-cookie')!.split(';')[0]!;
}

const opens = async (url: string, cookie: string) => (await fetch(url + '/', { redirect: 'manual', headers: { cookie } })).status === 200;

describe('fleet-page sessions (hole 4)', () => {
  it('sign-out ends the session on the server: the old cookie no longer opens the page', async () => {
    const s = await start(undefined);
    const cookie = await signIn(s.url, s.token!);
    const other = await signIn(s.url, s.token!);
    expect(await opens(s.url, cookie)).toBe(true);
    const out = await fetch(s.url + '/logout', { method: 'POST', redirect: 'manual', headers: { cookie } });
    expect(out.status).toBe(303);
    expect(await opens(s.url, cookie)).toBe(false);
    // Only that session: another browser stays signed in.
    expect(await opens(s.url, other)).toBe(true);
  });

  it('admin-token reset ends every session, with or without a restart', async () => {
    let s = await start(undefined);
    const file = s.location;
    const before = await signIn(s.url, s.token!);
    await stop(s);
    // `vigil server admin-token reset` while the server is stopped, then a restart.
    const reset = (await openAt(file)).storage;
    const fresh = await reset.transaction((tx) => resetAdminToken(tx.tenants, tx.sessions));
    await reset.close();
    s = await start(file);
    expect(await opens(s.url, before)).toBe(false);
    // A reset while it runs ends the sessions at once.
    const during = await signIn(s.url, fresh);
    expect(await opens(s.url, during)).toBe(true);
    // As `vigil server admin-token reset` does it: another connection to the same database.
    const cli = (await openAt(file)).storage;
    await cli.transaction((tx) => resetAdminToken(tx.tenants, tx.sessions));
    await cli.close();
    expect(await opens(s.url, during)).toBe(false);
  });

  it('a restart with the same token keeps sessions; a different VIGIL_ADMIN_TOKEN ends them', async () => {
    const envA = { VIGIL_ADMIN_TOKEN: 'first-admin-token-from-the-environment' };
    let s = await start(undefined, envA);
    const file = s.location;
    const cookie = await signIn(s.url, envA.VIGIL_ADMIN_TOKEN);
    await stop(s);
    s = await start(file, envA);
    expect(await opens(s.url, cookie)).toBe(true);
    await stop(s);
    s = await start(file, { VIGIL_ADMIN_TOKEN: 'second-admin-token-from-the-environment' });
    expect(await opens(s.url, cookie)).toBe(false);
  });
});
