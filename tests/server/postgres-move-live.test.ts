/**
 * issue 15: the documented move from SQLite to PostgreSQL (docs/SERVER.md), end to end with
 * the real server: a SQLite server with enrolled devices, heartbeats, alerts and a notify
 * channel is stopped, moved with `vigil server move-to-postgres`, and started over
 * PostgreSQL; the devices carry on with the credentials they have (their secrets moved byte
 * for byte), resent alerts are duplicates (nothing stored twice), the admin token and the
 * fleet list are the same.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { DeviceCredential } from '../../src/core/report/hmac-auth.js';
import { createDatabase, sharedAdminUrl } from '../helpers/postgres-cluster.js';
import { needsTools } from '../helpers/system-tool.js';
import { connectionAlert, heartbeatFor } from './helpers/sample-reports.js';
import { runServerCli, startServerCli } from './helpers/server-cli.js';
import { enrol, signedPost } from './helpers/signed-request.js';

const ADMIN = 'vigil_admin_move-test-0123456789abcdefghijklmnopq';

describe('moving a live SQLite backend to PostgreSQL', needsTools('initdb', 'pg_ctl'), () => {
  it('keeps every device, credential, alert and the admin token', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'vigil-move-live-'));
    const env = { VIGIL_ADMIN_TOKEN: ADMIN };
    const token = JSON.parse((await runServerCli(['token', 'create', '--tenant', 'Acme Dental', '--json', '--db', 'fleet.db'], dir)).stdout).enrollToken as string;
    expect((await runServerCli(['notify', 'add', '--name', 'SOC', '--type', 'webhook', '--tenant', 'Acme Dental', '--db', 'fleet.db'], dir, { VIGIL_NOTIFY_URL: 'https://127.0.0.1:9/vigil' })).code).toBe(0);

    const sqlite = await startServerCli(['--port', '0', '--db', 'fleet.db'], dir, env);
    const creds: DeviceCredential[] = [];
    try {
      for (let i = 0; i < 5; i++) {
        const r = await enrol(sqlite.url, token, `hw-move-${i}`, `MOVE-PC-${i}`);
        expect(r.status).toBe(201);
        creds.push({ deviceId: r.deviceId, deviceSecret: r.deviceSecret });
        expect((await signedPost(sqlite.url, '/v1/heartbeats', creds[i]!, heartbeatFor(r.deviceId, { hostname: `MOVE-PC-${i}`, compromised: i === 0 }))).status).toBe(200);
      }
      const sent = await signedPost(sqlite.url, '/v1/alerts', creds[0]!, { deviceId: creds[0]!.deviceId, alerts: [0, 1, 2].map(connectionAlert) });
      expect(sent.status).toBe(200);
    } finally {
      sqlite.run.interrupt();
      expect(await sqlite.done).toBe(0);
    }
    const before = await admin(sqlite.url, '/v1/devices').catch(() => undefined);
    expect(before).toBeUndefined(); // stopped: the move must not race writes

    const url = await createDatabase(await sharedAdminUrl()); // empty, not migrated
    const moved = await runServerCli(['move-to-postgres', '--from', 'fleet.db', '--to', url], dir);
    expect(moved.code, moved.stderr).toBe(0);
    expect(moved.stdout).toMatch(/^devices\s+5\s+5$/m);
    expect(moved.stdout).toMatch(/^alerts\s+3\s+3$/m);
    expect(moved.stdout).toMatch(/^notify_channels\s+1\s+1$/m);
    expect(moved.stdout).toMatch(/every table's row count matches/);
    // A second move into the same (now full) database is refused, and changes nothing.
    const again = await runServerCli(['move-to-postgres', '--from', 'fleet.db', '--to', url], dir);
    expect(again.code).not.toBe(0);

    const pg = await startServerCli(['--port', '0', '--db', url], dir, env);
    try {
      const list = (await admin(pg.url, '/v1/devices')) as { devices: Array<{ hostname: string; status: string }> };
      expect(list.devices.map((d) => d.hostname).sort()).toEqual(['MOVE-PC-0', 'MOVE-PC-1', 'MOVE-PC-2', 'MOVE-PC-3', 'MOVE-PC-4']);
      expect(list.devices.find((d) => d.hostname === 'MOVE-PC-0')!.status).toBe('compromised');
      // The agents' credentials still sign; the alerts they resend are known.
      for (const [i, c] of creds.entries()) {
        expect((await signedPost(pg.url, '/v1/heartbeats', c, heartbeatFor(c.deviceId, { hostname: `MOVE-PC-${i}` }))).status).toBe(200);
      }
      const resent = await signedPost(pg.url, '/v1/alerts', creds[0]!, { deviceId: creds[0]!.deviceId, alerts: [0, 1, 2, 3].map(connectionAlert) });
      expect(resent.status).toBe(200);
      expect(resent.body).toMatchObject({ duplicates: [0, 1, 2].map((i) => connectionAlert(i).alertId) });
      const channels = (await admin(pg.url, '/v1/notify/channels')) as { channels: Array<{ name: string }> };
      expect(channels.channels.map((c) => c.name)).toEqual(['SOC']);
    } finally {
      pg.run.interrupt();
      expect(await pg.done).toBe(0);
    }
  });
});

async function admin(base: string, p: string): Promise<unknown> {
  const res = await fetch(base + p, { headers: { authorization: `Bearer ${ADMIN}` } });
  if (!res.ok) throw new Error(`${p}: ${res.status}`);
  return res.json();
}
