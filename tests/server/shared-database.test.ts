/**
 * Issue 15: what must hold when several server processes share one database is decided in
 * the database. Here two server instances (two connections) share one database: the same
 * signed request sent to both is stored once and refused once; the same alert sent to both
 * at once is stored once; an enrolment token's last use goes to one; a queued notification
 * is claimed by one worker, and claimed again by another only once the first one's lease
 * has lapsed (a killed process). The same tests are meant to run over PostgreSQL.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './helpers/test-server.js';
import { enrol, enrollRequest, signedPost } from './helpers/signed-request.js';
import { connectionAlert } from './helpers/sample-reports.js';
import { openTestDatabase } from './helpers/test-database.js';
import { storageOver, type Storage } from '../../src/server/database/storage.js';

const servers: TestServer[] = [];
const storages: Storage[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
  for (const s of storages.splice(0)) await s.close();
});

async function pair(): Promise<[TestServer, TestServer]> {
  const a = await startTestServer({ deviceRateLimit: { capacity: 1000, refillPerSec: 1000 } });
  servers.push(a);
  const b = await startTestServer({ deviceRateLimit: { capacity: 1000, refillPerSec: 1000 }, dbFile: a.dbFile });
  servers.push(b);
  return [a, b];
}

describe('two server instances on one database (issue 15)', () => {
  it('the same signed request sent to both is stored once and refused once as a replay', async () => {
    const [a, b] = await pair();
    const cred = await enrol(a.url, await a.createToken('Replay Dental'), 'hw-uuid-replay-x01');
    const body = { deviceId: cred.deviceId, alerts: [connectionAlert(1)] };
    const o = { nowMs: Date.now(), nonce: 'the-same-nonce-for-both-0001' };
    const [r1, r2] = await Promise.all([signedPost(a.url, '/v1/alerts', cred, body, o), signedPost(b.url, '/v1/alerts', cred, body, o)]);
    const statuses = [r1.status, r2.status].sort();
    expect(statuses).toEqual([200, 401]);
    expect([r1, r2].find((r) => r.status === 401)!.body.error?.code).toBe('replayed_request');
    expect(Number((await a.database.get<{ n: number }>('SELECT COUNT(*) AS n FROM alerts'))!.n)).toBe(1);
  });

  it('the same alert sent to both at once (two requests) is stored once, and the other answer calls it a duplicate', async () => {
    const [a, b] = await pair();
    const cred = await enrol(a.url, await a.createToken('Twice Dental'), 'hw-uuid-twice-x001');
    const alerts = [connectionAlert(7), connectionAlert(8)];
    const [r1, r2] = await Promise.all([
      signedPost(a.url, '/v1/alerts', cred, { deviceId: cred.deviceId, alerts }),
      signedPost(b.url, '/v1/alerts', cred, { deviceId: cred.deviceId, alerts }),
    ]);
    expect(r1.status).toBe(200);
    expect(r2.status).toBe(200);
    const stored = [...(r1.body.stored as string[]), ...(r2.body.stored as string[])].sort();
    const dups = [...(r1.body.duplicates as string[]), ...(r2.body.duplicates as string[])].sort();
    expect(stored).toEqual(alerts.map((x) => x.alertId).sort());
    expect(dups).toEqual(stored);
    expect((await a.database.get<{ alert_count: number }>('SELECT alert_count FROM devices WHERE id = ?', [cred.deviceId]))!.alert_count).toBe(2);
  });

  it('a token with one use left enrols one device, whichever instance the two enrolments reach', async () => {
    const [a, b] = await pair();
    const token = await a.createToken('Last Use Dental', { maxUses: 1 });
    const post = (url: string, stable: string) =>
      fetch(url + '/v1/enroll', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(enrollRequest(token, stable)) });
    const [r1, r2] = await Promise.all([post(a.url, 'hw-uuid-last-00001'), post(b.url, 'hw-uuid-last-00002')]);
    expect([r1.status, r2.status].sort()).toEqual([201, 401]);
    expect((await a.database.get<{ uses: number }>('SELECT uses FROM enroll_tokens'))!.uses).toBe(1);
    expect(Number((await a.database.get<{ n: number }>('SELECT COUNT(*) AS n FROM devices'))!.n)).toBe(1);
  });

  it('a queued notification is claimed by one worker; another may claim it only when the lease lapses', async () => {
    const first = await openTestDatabase();
    const one = storageOver(first.database);
    const two = storageOver((await openTestDatabase({ location: first.location })).database);
    storages.push(one, two);
    const t0 = 1_000_000;
    await one.database.run("INSERT INTO notify_channels (id, name, tenant_id, type, min_severity, events, config_json, created_at) VALUES ('chn_1', 'soc', NULL, 'webhook', 'attention', '[\"alert\"]', '{}', ?)", [t0]);
    await one.notify.enqueue('msg_1', 'chn_1', 'device:dev_1', 'alert', '{}', t0, t0);
    await one.notify.enqueue('msg_2', 'chn_1', 'device:dev_1', 'alert', '{}', t0, t0);
    const claim = (s: Storage, owner: string, now: number) =>
      s.transaction(async (tx) => {
        const got: string[] = [];
        for (const r of await tx.notify.claimable(now, 10)) if (await tx.notify.claim(r.seq, owner, now, now + 5_000)) got.push(r.delivery_id);
        return got;
      });
    // Only the head of the device's line is due, and only one worker gets it.
    expect(await claim(one, 'worker-1', t0)).toEqual(['msg_1']);
    expect(await claim(two, 'worker-2', t0 + 1_000)).toEqual([]);
    // Worker 1 dies without marking it; once the lease lapses worker 2 sends it again.
    expect(await two.notify.nextDueAt()).toBe(t0 + 5_000);
    expect(await claim(two, 'worker-2', t0 + 5_000)).toEqual(['msg_1']);
    const seq = (await two.database.get<{ seq: number }>("SELECT seq FROM notify_outbox WHERE delivery_id = 'msg_1'"))!.seq;
    await two.notify.markDelivered(seq, t0 + 5_100);
    // Delivered: the next row of the line is due, to one worker.
    expect(await claim(one, 'worker-1', t0 + 5_200)).toEqual(['msg_2']);
    expect(await claim(two, 'worker-2', t0 + 5_200)).toEqual([]);
  });
});
