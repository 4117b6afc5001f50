/**
 * Pack events for the partner's channels (issue 14 with issue 13's distribution): a device
 * that newly fails to load a backend pack is one `pack.failing` event (not one per
 * heartbeat), and a withdrawal through the admin API is one `pack.withdrawn` event per
 * tenant that had the pack, queued in the withdrawal's own transaction. Delivered to a
 * Standard Webhooks receiver on loopback that verifies every signature.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './helpers/test-server.js';
import { enrol, signedPost } from './helpers/signed-request.js';
import { heartbeatFor } from './helpers/sample-reports.js';
import { WebhookReceiver } from './helpers/webhook-receiver.js';
import { adminApi, until } from './helpers/wait-and-admin.js';
import type { NotifyEvent } from '../../src/server/notify/events.js';
import { generatePackKey, signPack } from '../../src/core/pack/pack-signature.js';
import { testPack } from '../helpers/test-pack.js';

let srv: TestServer;
const rx = new WebhookReceiver();
let clock = Date.now();
const partner = generatePackKey('acme-2026');

const admin = adminApi(() => srv);


const packEvents = () => rx.uniqueById().map((r) => r.json as NotifyEvent).filter((e) => e.type.startsWith('pack.'));

beforeAll(async () => {
  await rx.start();
  srv = await startTestServer({ now: () => clock, notify: { publicUrl: 'https://fleet.partner.example', policy: { pollMs: 20, baseDelayMs: 20, maxDelayMs: 100, timeoutMs: 2000 } } });
});
afterAll(async () => {
  await srv.close();
  await rx.stop();
});

describe('pack notifications', () => {
  it('a pack a device newly fails to load is one pack.failing event; reporting it again is not; failing again after a clean heartbeat is', async () => {
    const e = await enrol(srv.url, await srv.createToken('Acme Dental'), 'hw-notify-pack-1', 'RECEPTION-PC');
    await srv.createToken('Baker & Sons');
    const res = await admin('POST', '/v1/notify/channels', { name: 'pack watch', minSeverity: 'attention', events: ['pack.failing', 'pack.withdrawn'], config: { type: 'webhook', url: rx.url } });
    expect(res.status).toBe(201);
    rx.secret = res.body.secret as string;
    const cred = { deviceId: e.deviceId, deviceSecret: e.deviceSecret };
    const problem = { id: 'test-softphone-2023', version: 3, problem: 'signatures: key "mallory" is not trusted; keeping the last good pack' };
    const beat = async (packProblems: (typeof problem)[]) => {
      clock += 1000;
      const hb = { ...heartbeatFor(e.deviceId, { sentAt: new Date(clock), hostname: 'RECEPTION-PC' }), ...(packProblems.length ? { packProblems } : {}) };
      expect((await signedPost(srv.url, '/v1/heartbeats', cred, hb)).status).toBe(200);
    };
    await beat([]);
    for (let i = 0; i < 3; i++) await beat([problem]);
    const first = await until('pack.failing', () => packEvents().length >= 1 && packEvents());
    await new Promise((r) => setTimeout(r, 300));
    expect(packEvents()).toHaveLength(1);
    expect(first[0]).toMatchObject({ type: 'pack.failing', data: { tenant: { name: 'Acme Dental' }, severity: 'attention', pack: { id: 'test-softphone-2023', version: 3 }, devices: [{ id: e.deviceId, hostname: 'RECEPTION-PC' }], reason: problem.problem } });

    await beat([]);
    await beat([problem]);
    await until('a second pack.failing', () => packEvents().length >= 2);
    expect(packEvents().filter((x) => x.type === 'pack.failing')).toHaveLength(2);
  });

  it('withdrawing an every-tenant publication through the admin API is one pack.withdrawn event per tenant', async () => {
    expect((await admin('POST', '/v1/pack-keys', { keyId: partner.keyId, publicKey: partner.publicKey })).status).toBe(201);
    const pub = await admin('POST', '/v1/packs?all=true&by=alice', signPack(testPack({ version: 4 }), partner.keyId, partner.privateKeyPem));
    expect(pub.status).toBe(201);
    const before = packEvents().length;
    const w = await admin('POST', '/v1/packs/test-softphone-2023/withdraw', { by: 'alice' });
    expect(w.status).toBe(200);
    await until('two pack.withdrawn', () => packEvents().length >= before + 2);
    await new Promise((r) => setTimeout(r, 300));
    const withdrawn = packEvents().filter((x) => x.type === 'pack.withdrawn');
    expect(withdrawn.map((x) => (x.data as { tenant: { name: string } }).tenant.name).sort()).toEqual(['Acme Dental', 'Baker & Sons']);
    for (const x of withdrawn) expect(x.data).toMatchObject({ pack: { id: 'test-softphone-2023', version: 4 }, devices: [], reason: 'withdrawn by alice' });
    // Nothing left to withdraw: refused, and no further event.
    expect((await admin('POST', '/v1/packs/test-softphone-2023/withdraw', { by: 'alice' })).status).toBe(404);
    await new Promise((r) => setTimeout(r, 300));
    expect(packEvents().filter((x) => x.type === 'pack.withdrawn')).toHaveLength(2);
  });
});
