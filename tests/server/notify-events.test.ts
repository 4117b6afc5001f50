/** The pure decisions of notifications: which change makes which event, merging, backoff, channel schema. */
import { describe, expect, it } from 'vitest';
import { alertEvent, channelWants, isSilent, mergeAlertEvent, MAX_ALERTS_PER_EVENT, orderKey, verdictEvent } from '../../src/server/notify/events.js';
import { retryDelayMs } from '../../src/server/notify/delivery-worker.js';
import { ChannelInputSchema, redactUrl } from '../../src/server/notify/channel-config.js';
import { connectionAlert } from './helpers/sample-reports.js';
import type { Status } from '../../src/shared/scan.js';

const tenant = { id: 'ten_1', name: 'Acme' };
const device = { id: 'dev_1', hostname: 'PC', url: 'https://x/#dev_1' };

describe('verdict events', () => {
  const cases: Array<[Status, Status, string | null]> = [
    ['unknown', 'compromised', 'verdict.worse'],
    ['ok', 'attention', 'verdict.worse'],
    ['attention', 'compromised', 'verdict.worse'],
    ['compromised', 'attention', null], // better but not ok: no event
    ['compromised', 'ok', 'verdict.ok'],
    ['unknown', 'ok', null], // first scan clean: not news
    ['ok', 'ok', null],
    ['ok', 'unknown', 'verdict.worse'],
  ];
  for (const [from, to, want] of cases) {
    it(`${from} -> ${to}: ${want ?? 'none'}`, () => {
      expect(verdictEvent(tenant, device, from, to, null, 0)?.type ?? null).toBe(want);
    });
  }
});

describe('alert bursts', () => {
  it('merges a later part of a burst without repeating ids, up to the cap', () => {
    const a = alertEvent(tenant, device, [connectionAlert(1), connectionAlert(2)], 0)!;
    const b = alertEvent(tenant, device, [connectionAlert(2), connectionAlert(3)], 1)!;
    const m = mergeAlertEvent(a, b)!;
    expect(m.data.type === 'alert' && m.data.alerts.map((x) => x.alertId)).toEqual([1, 2, 3].map((i) => connectionAlert(i).alertId));
    const big = alertEvent(tenant, device, Array.from({ length: MAX_ALERTS_PER_EVENT }, (_, i) => connectionAlert(100 + i)), 0)!;
    expect(mergeAlertEvent(big, b)).toBeNull();
    expect(mergeAlertEvent(a, alertEvent(tenant, { ...device, id: 'dev_2' }, [connectionAlert(9)], 0)!)).toBeNull();
    expect(alertEvent(tenant, device, [], 0)).toBeNull();
  });
});

describe('silence, routing, order', () => {
  it('is silent only after more than N intervals, never when never seen', () => {
    expect(isSilent(null, 60, 10_000_000)).toBe(false);
    expect(isSilent(0, 60, 180_000)).toBe(false);
    expect(isSilent(0, 60, 180_001)).toBe(true);
  });
  it('routes by tenant, event type and minimum severity; orders per device', () => {
    const ev = verdictEvent(tenant, device, 'ok', 'attention', null, 0)!;
    expect(channelWants({ tenantId: null, events: ['verdict.worse'], minSeverity: 'attention' }, ev)).toBe(true);
    expect(channelWants({ tenantId: 'ten_2', events: ['verdict.worse'], minSeverity: 'attention' }, ev)).toBe(false);
    expect(channelWants({ tenantId: null, events: ['alert'], minSeverity: 'attention' }, ev)).toBe(false);
    expect(channelWants({ tenantId: null, events: ['verdict.worse'], minSeverity: 'compromised' }, ev)).toBe(false);
    expect(orderKey(ev)).toBe('dev_1');
  });
});

describe('backoff', () => {
  it('doubles from the base, stays within [ceiling/2, ceiling], caps at the maximum', () => {
    const p = { baseDelayMs: 1000, maxDelayMs: 60_000 };
    expect(retryDelayMs(1, p, () => 0)).toBe(500);
    expect(retryDelayMs(1, p, () => 1)).toBe(1000);
    expect(retryDelayMs(4, p, () => 1)).toBe(8000);
    expect(retryDelayMs(50, p, () => 1)).toBe(60_000);
    expect(retryDelayMs(50, p, () => 0)).toBe(30_000);
  });
});

describe('channel schema', () => {
  it('fills defaults and names what is wrong', () => {
    const ok = ChannelInputSchema.parse({ name: 'x', config: { type: 'syslog', host: 'siem' } });
    expect(ok).toMatchObject({ minSeverity: 'attention', config: { port: 6514, tls: true, facility: 16, appName: 'vigil' } });
    const bad = ChannelInputSchema.safeParse({ name: 'x', config: { type: 'webhook', url: 'https://h', secret: 'nope' } });
    expect(bad.success).toBe(false);
    expect(bad.error!.issues[0]!.path).toEqual(['config', 'secret']);
    expect(ChannelInputSchema.safeParse({ name: 'x', config: { type: 'carrier-pigeon' } }).success).toBe(false);
    expect(ChannelInputSchema.safeParse(null).success).toBe(false);
    expect(redactUrl('https://prod.westeurope.logic.azure.com:443/workflows/abc/triggers?sig=SECRET')).toBe('https://prod.westeurope.logic.azure.com/…');
    expect(redactUrl('::')).toBe('(invalid URL)');
  });
});

describe('the pack-distribution hook', () => {
  it('queues pack.failing / pack.withdrawn for channels that want them, in the caller\'s transaction', async () => {
    const { openTestDatabase } = await import('./helpers/test-database.js');
    const { storageOver } = await import('../../src/server/database/storage.js');
    const { Notifier } = await import('../../src/server/notify/notifier.js');
    const storage = storageOver((await openTestDatabase()).database);
    try {
      const t = (await storage.transaction((tx) => tx.tenants.createToken('Acme Dental', 0))).tenant;
      const n = new Notifier(storage, { publicUrl: () => 'https://fleet.example' });
      await n.add({ name: 'packs', events: ['pack.failing', 'pack.withdrawn'], config: { type: 'slack', url: 'https://hooks.slack.com/services/x' } }, 0);
      await n.add({ name: 'alerts only', events: ['alert'], config: { type: 'slack', url: 'https://hooks.slack.com/services/y' } }, 0);
      await storage.transaction((tx) => n.packEvent(tx, 'pack.failing', { id: t.id, name: t.name }, { id: '3cx-2023', version: 4 }, [{ id: 'dev_1', hostname: 'PC-1' }], 'signature does not verify', 1000));
      // Rolled back with its cause: nothing queued.
      await expect(
        storage.transaction(async (tx) => {
          await n.packEvent(tx, 'pack.withdrawn', { id: t.id, name: t.name }, { id: '3cx-2023', version: 3 }, [], 'replaced', 1000);
          throw new Error('the cause failed');
        }),
      ).rejects.toThrow('the cause failed');
      const due = await storage.notify.due(2000, 10);
      expect(due).toHaveLength(1);
      expect(due[0]!.channel_id).toBe((await n.get('packs'))!.id);
      expect(JSON.parse(due[0]!.event_json).data).toMatchObject({ type: 'pack.failing', pack: { id: '3cx-2023', version: 4 }, devices: [{ hostname: 'PC-1', url: 'https://fleet.example/#dev_1' }] });
    } finally {
      await storage.close();
    }
  });
});
