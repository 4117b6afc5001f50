/**
 * Notifications to a Standard Webhooks receiver on loopback, verified by the
 * `standardwebhooks` package: alert bursts, verdict changes, silence, test events,
 * secrets shown once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Webhook } from 'standardwebhooks';
import { startTestServer, type TestServer } from './helpers/test-server.js';
import { enrol, signedPost } from './helpers/signed-request.js';
import { connectionAlert, heartbeatFor } from './helpers/sample-reports.js';
import { WebhookReceiver } from './helpers/webhook-receiver.js';
import { adminApi, until } from './helpers/wait-and-admin.js';
import { webhookSignature } from '../../src/server/notify/senders/webhook-sender.js';
import type { NotifyEvent } from '../../src/server/notify/events.js';

let srv: TestServer;
const rx = new WebhookReceiver();
let clock = Date.now();

const admin = adminApi(() => srv);


const events = () => rx.uniqueById().map((r) => r.json as NotifyEvent);

beforeAll(async () => {
  await rx.start();
  srv = await startTestServer({
    now: () => clock,
    notify: { publicUrl: 'https://fleet.partner.example', burstWindowMs: 300, policy: { pollMs: 20, baseDelayMs: 20, maxDelayMs: 100, silentScanMs: 100, timeoutMs: 2000 } },
  });
});
afterAll(async () => {
  await srv.close();
  await rx.stop();
});

describe('webhook notifications (Standard Webhooks)', () => {
  let cred: { deviceId: string; deviceSecret: string };

  it('adds a channel: the secret is whsec_ and shown in that answer only; the URL with its token is never shown again', async () => {
    const token = await srv.createToken('Acme Dental');
    const e = await enrol(srv.url, token, 'hw-notify-webhook-1', 'RECEPTION-PC');
    cred = { deviceId: e.deviceId, deviceSecret: e.deviceSecret };
    const bad = await admin('POST', '/v1/notify/channels', { name: 'x', config: { type: 'webhook', url: 'ftp://nope' } });
    expect(bad.status).toBe(400);
    expect(String((bad.body.error as { message: string }).message)).toContain('config.url');
    const noTenant = await admin('POST', '/v1/notify/channels', { name: 'x', tenant: 'Nobody', config: { type: 'webhook', url: rx.url } });
    expect(noTenant.status).toBe(400);

    const res = await admin('POST', '/v1/notify/channels', { name: 'SOC webhook', tenant: 'Acme Dental', minSeverity: 'attention', config: { type: 'webhook', url: rx.url } });
    expect(res.status).toBe(201);
    expect(res.body.secret).toMatch(/^whsec_[A-Za-z0-9+/=]{40,}$/);
    rx.secret = res.body.secret as string;
    const list = await admin('GET', '/v1/notify/channels');
    const text = JSON.stringify(list.body);
    expect(text).not.toContain(rx.secret.slice(6));
    expect(text).not.toContain('not-for-logs');
    expect(text).toContain('http://127.0.0.1:');
    expect((await fetch(srv.url + '/v1/notify/channels')).status).toBe(401);
  });

  it('a compromised heartbeat makes one verdict.worse event, never one per heartbeat', async () => {
    for (let i = 0; i < 3; i++) {
      clock += 1000;
      const r = await signedPost(srv.url, '/v1/heartbeats', cred, heartbeatFor(cred.deviceId, { sentAt: new Date(clock) }), { nowMs: clock });
      expect(r.status).toBe(200);
    }
    const ev = await until('verdict event', () => events().find((e) => e.type === 'verdict.worse'));
    expect(ev.data).toMatchObject({ type: 'verdict.worse', from: 'unknown', to: 'compromised', severity: 'compromised', tenant: { name: 'Acme Dental' }, device: { id: cred.deviceId, hostname: 'RECEPTION-PC', url: `https://fleet.partner.example/#${cred.deviceId}` } });
    await new Promise((r) => setTimeout(r, 200));
    expect(events().filter((e) => e.type.startsWith('verdict'))).toHaveLength(1);
  });

  it('a burst of alerts from one device in two requests is one notification listing them; a resend adds nothing', async () => {
    const before = events().length;
    await signedPost(srv.url, '/v1/alerts', cred, { deviceId: cred.deviceId, alerts: [connectionAlert(1), connectionAlert(2)] }, { nowMs: clock });
    await signedPost(srv.url, '/v1/alerts', cred, { deviceId: cred.deviceId, alerts: [connectionAlert(2), connectionAlert(3)] }, { nowMs: clock });
    await new Promise((r) => setTimeout(r, 100));
    expect(events().length).toBe(before); // held for the burst window
    clock += 400; // the burst window (300 ms of the server's clock) has passed
    const ev = await until('alert event', () => events().find((e) => e.type === 'alert'));
    expect(ev.data.type === 'alert' && ev.data.alerts.map((a) => a.alertId)).toEqual([connectionAlert(1), connectionAlert(2), connectionAlert(3)].map((a) => a.alertId));
    expect(ev.data).toMatchObject({ severity: 'compromised', device: { hostname: 'RECEPTION-PC' } });
    await signedPost(srv.url, '/v1/alerts', cred, { deviceId: cred.deviceId, alerts: [connectionAlert(3)] }, { nowMs: clock });
    await new Promise((r) => setTimeout(r, 500));
    expect(events().length).toBe(before + 1);
  });

  it('signatures verify with standardwebhooks; a changed body or the wrong secret does not', () => {
    const r = rx.received.at(-1)!;
    const headers = { 'webhook-id': r.id, 'webhook-timestamp': r.timestamp, 'webhook-signature': webhookSignature(rx.secret!, r.id, Number(r.timestamp), r.body) };
    expect(() => new Webhook(rx.secret!).verify(r.body, headers)).not.toThrow();
    expect(() => new Webhook(rx.secret!).verify(r.body.replace('RECEPTION', 'RECEPTIOM'), headers)).toThrow();
    expect(() => new Webhook('whsec_' + Buffer.alloc(32, 7).toString('base64')).verify(r.body, headers)).toThrow();
    expect(r.id).toMatch(/^msg_[A-Za-z0-9_-]{22}$/);
    expect(rx.rejected).toEqual([]);
  });

  it('back to clean makes verdict.ok; a silent device makes one device.silent event; the next request ends the silence', async () => {
    clock += 1000;
    await signedPost(srv.url, '/v1/heartbeats', cred, heartbeatFor(cred.deviceId, { sentAt: new Date(clock), compromised: false }), { nowMs: clock });
    const ok = await until('verdict.ok', () => events().find((e) => e.type === 'verdict.ok'));
    expect(ok.data).toMatchObject({ from: 'compromised', to: 'ok' });
    clock += 4 * 60_000; // > 3 intervals of 60 s
    const silent = await until('device.silent', () => events().find((e) => e.type === 'device.silent'));
    expect(silent.data).toMatchObject({ device: { id: cred.deviceId }, missedIntervals: 4, heartbeatIntervalSec: 60 });
    await new Promise((r) => setTimeout(r, 300));
    expect(events().filter((e) => e.type === 'device.silent')).toHaveLength(1);
    await signedPost(srv.url, '/v1/heartbeats', cred, heartbeatFor(cred.deviceId, { sentAt: new Date(clock), compromised: false }), { nowMs: clock });
    clock += 4 * 60_000;
    await until('second silence', () => events().filter((e) => e.type === 'device.silent').length === 2);
  });

  it('a never-seen device is never reported silent', async () => {
    const e = await enrol(srv.url, await srv.createToken('Acme Dental'), 'hw-notify-never-seen', 'NEVER-SEEN');
    clock += 10 * 60_000;
    await new Promise((r) => setTimeout(r, 400));
    expect(events().filter((x) => x.type === 'device.silent' && 'device' in x.data && x.data.device.id === e.deviceId)).toEqual([]);
  });

  it('a hanging receiver does not hold up ingest: alerts are stored and acknowledged while a send hangs', async () => {
    const list = (await admin('GET', '/v1/notify/channels')).body.channels as Array<{ id: string }>;
    rx.mode = 'hang';
    const hits = rx.hits;
    await admin('POST', `/v1/notify/channels/${list[0]!.id}/test`);
    await until('a hanging send', () => rx.hits > hits);
    const r = await signedPost(srv.url, '/v1/alerts', cred, { deviceId: cred.deviceId, alerts: [connectionAlert(40)] }, { nowMs: clock });
    expect(r.status).toBe(200);
    expect(r.body.stored).toEqual([connectionAlert(40).alertId]);
    const hb = await signedPost(srv.url, '/v1/heartbeats', cred, heartbeatFor(cred.deviceId, { sentAt: new Date(clock), compromised: false }), { nowMs: clock });
    expect(hb.status).toBe(200);
    rx.mode = 'ok';
    clock += 400;
    // After the 2 s deadline the hung test is retried, then the alert follows.
    await until('the alert after the hang', () => events().some((e) => e.data.type === 'alert' && e.data.alerts.some((a) => a.alertId === connectionAlert(40).alertId)));
  });

  it('a test event goes to the channel it was asked for; GET shows the last delivery', async () => {
    const list = (await admin('GET', '/v1/notify/channels')).body.channels as Array<{ id: string }>;
    const res = await admin('POST', `/v1/notify/channels/${list[0]!.id}/test`);
    expect(res.status).toBe(202);
    const ev = await until('test event', () => rx.uniqueById().find((r) => r.id === res.body.deliveryId));
    expect((ev.json as NotifyEvent).data).toMatchObject({ type: 'test', channel: 'SOC webhook' });
    const after = (await admin('GET', '/v1/notify/channels')).body.channels as Array<{ delivered: number; lastDeliveredAt: string; failed: number }>;
    expect(after[0]!.delivered).toBeGreaterThanOrEqual(5);
    expect(after[0]!.lastDeliveredAt).not.toBeNull();
    expect((await admin('DELETE', `/v1/notify/channels/${list[0]!.id}`)).status).toBe(200);
    expect(((await admin('GET', '/v1/notify/channels')).body.channels as unknown[]).length).toBe(0);
  });

  it('a channel that asks for the daily digest gets one per tenant per day, from 07:00 UTC', async () => {
    const res = await admin('POST', '/v1/notify/channels', { name: 'digest', tenant: 'Acme Dental', events: ['digest'], config: { type: 'webhook', url: rx.url } });
    rx.secret = res.body.secret as string;
    const d = new Date(clock);
    clock = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() + 1, 6, 59);
    await new Promise((r) => setTimeout(r, 300));
    expect(events().filter((e) => e.type === 'digest')).toEqual([]);
    clock += 2 * 60_000;
    const ev = await until('digest', () => events().find((e) => e.type === 'digest'));
    expect(ev.data).toMatchObject({ type: 'digest', tenant: { name: 'Acme Dental' }, day: new Date(clock).toISOString().slice(0, 10), devices: 2, byStatus: { ok: 1, unknown: 1, compromised: 0 } });
    clock += 3600_000;
    await new Promise((r) => setTimeout(r, 300));
    expect(events().filter((e) => e.type === 'digest')).toHaveLength(1);
  });
});
