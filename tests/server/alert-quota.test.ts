/**
 * Issue 11, hole 5: one device stored 1,000 alerts (16.9 MiB) in a second, with no quota
 * or retention, and its flood pushed every other tenant's alerts off "Recent alerts".
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { AlertList, DeviceDetail } from '../../src/shared/protocol.js';
import { startTestServer, type TestServer } from './helpers/test-server.js';
import { enrol, signedPost } from './helpers/signed-request.js';
import { connectionAlert, heartbeatFor } from './helpers/sample-reports.js';

type Detail = DeviceDetail & { refusedAlerts: number };
const servers: TestServer[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
});
async function server(opts: Parameters<typeof startTestServer>[0]) {
  const s = await startTestServer({ deviceRateLimit: { capacity: 1000, refillPerSec: 1000 }, ...opts });
  servers.push(s);
  return s;
}
async function device(srv: TestServer, tenant: string, stableId: string) {
  const e = await enrol(srv.url, await srv.createToken(tenant), stableId);
  return { deviceId: e.deviceId, deviceSecret: e.deviceSecret };
}
const batch = (from: number, n: number) => Array.from({ length: n }, (_, i) => connectionAlert(from + i));

describe('alert quotas (hole 5)', () => {
  it('stores up to the device quota, refuses the rest by id with Retry-After, counts them, and reports the count back', async () => {
    const srv = await server({ alertQuota: { capacity: 150, refillPerSec: 0.001 } });
    const cred = await device(srv, 'Flood Dental', 'hw-uuid-flood-0001');
    const first = await signedPost(srv.url, '/v1/alerts', cred, { deviceId: cred.deviceId, alerts: batch(0, 100) });
    expect(first.status).toBe(200);
    expect(first.body.stored).toHaveLength(100);
    const second = await signedPost(srv.url, '/v1/alerts', cred, { deviceId: cred.deviceId, alerts: batch(100, 100) });
    expect(second.status).toBe(200);
    expect(second.body.stored).toHaveLength(50);
    expect(second.body.refused).toEqual(batch(150, 50).map((a) => a.alertId));
    expect(second.body.retryAfterSec).toBeGreaterThan(0);
    // Resending an alert already stored is a duplicate, never a quota refusal.
    const dup = await signedPost(srv.url, '/v1/alerts', cred, { deviceId: cred.deviceId, alerts: batch(0, 5) });
    expect(dup.body).toEqual({ stored: [], duplicates: batch(0, 5).map((a) => a.alertId) });
    const d = (await srv.admin<Detail>(`/v1/devices/${cred.deviceId}`)).body;
    expect(d).toMatchObject({ alertCount: 150, refusedAlerts: 50 });
    expect(Number((await srv.database.get<{ n: number }>('SELECT COUNT(*) AS n FROM alerts'))!.n)).toBe(150);
    const hb = await signedPost(srv.url, '/v1/heartbeats', cred, heartbeatFor(cred.deviceId));
    expect(hb.body).toMatchObject({ ok: true, refusedAlerts: 50 });
    const page = await fleetPage(srv);
    expect(page).toMatch(/50 refused/);
  });

  it('the quota lives in the database: two server instances on one database share one device\'s quota (issue 15)', async () => {
    const quota = { capacity: 120, refillPerSec: 0.001 };
    const a = await server({ alertQuota: quota });
    const b = await server({ alertQuota: quota, dbFile: a.dbFile });
    const cred = await device(a, 'Shared Dental', 'hw-uuid-shared-001');
    const one = await signedPost(a.url, '/v1/alerts', cred, { deviceId: cred.deviceId, alerts: batch(0, 100) });
    const two = await signedPost(b.url, '/v1/alerts', cred, { deviceId: cred.deviceId, alerts: batch(100, 100) });
    expect(one.body.stored).toHaveLength(100);
    // An in-process bucket would have let the second server store 100 more.
    expect(two.body.stored).toHaveLength(20);
    expect(two.body.refused).toHaveLength(80);
    expect((await b.admin<Detail>(`/v1/devices/${cred.deviceId}`)).body).toMatchObject({ alertCount: 120, refusedAlerts: 80 });
  });

  it('recent alerts are per tenant and paged: a flood from one tenant pushes no other tenant off', async () => {
    const srv = await server({});
    const quiet = await device(srv, 'Quiet Clinic', 'hw-uuid-quiet-0001');
    const loud = await device(srv, 'Loud Clinic', 'hw-uuid-loud-0001');
    expect((await signedPost(srv.url, '/v1/alerts', quiet, { deviceId: quiet.deviceId, alerts: [connectionAlert(9999)] })).status).toBe(200);
    for (let i = 0; i < 3; i++) await signedPost(srv.url, '/v1/alerts', loud, { deviceId: loud.deviceId, alerts: batch(i * 100, 100) });
    const html = await fleetPage(srv);
    expect(html).toContain('(event 9999)');
    // The admin API pages with offset.
    const p1 = (await srv.admin<AlertList>('/v1/alerts?tenant=Loud%20Clinic&limit=100')).body.alerts;
    const p2 = (await srv.admin<AlertList>('/v1/alerts?tenant=Loud%20Clinic&limit=100&offset=100')).body.alerts;
    expect(p1).toHaveLength(100);
    expect(p2).toHaveLength(100);
    expect(new Set([...p1, ...p2].map((a) => a.alertId)).size).toBe(200);
    // The fleet page pages one tenant's alerts without losing the others.
    const tenantId = p1[0]!.tenant.id;
    const older = await fleetPage(srv, `?alertsTenant=${tenantId}&alertsPage=2`);
    expect(older).toContain('(event 9999)');
    expect(older).toMatch(/Loud Clinic[\s\S]*page 3/);
  });

  it('deletes alerts older than the retention setting, keeping the device counts', async () => {
    const t0 = Date.now();
    let srv = await server({});
    const file = srv.dbFile;
    const cred = await device(srv, 'Retention Dental', 'hw-uuid-retention-01');
    await signedPost(srv.url, '/v1/alerts', cred, { deviceId: cred.deviceId, alerts: batch(0, 10) });
    await srv.close();
    servers.pop();
    srv = await server({ dbFile: file, alertRetentionDays: 30, now: () => t0 + 31 * 86_400_000 });
    expect(Number((await srv.database.get<{ n: number }>('SELECT COUNT(*) AS n FROM alerts'))!.n)).toBe(0);
    expect((await srv.admin<Detail>(`/v1/devices/${cred.deviceId}`)).body.alertCount).toBe(10);
  });
});

async function fleetPage(srv: TestServer, query = ''): Promise<string> {
  const login = await fetch(srv.url + '/login', { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ token: srv.adminToken }).toString() });
  const cookie = login.headers.get('set-cookie')!.split(';')[0]!;
  return (await fetch(srv.url + '/' + query, { headers: { cookie } })).text();
}
