import { afterAll, describe, expect, it } from 'vitest';
import { collectIndicators } from '../../../src/core/netwatch/indicator-table.js';
import { IndicatorResolver, SystemDnsResolver, type DnsResolver, type ResolvedAddress, type ResolverError } from '../../../src/core/netwatch/indicator-resolver.js';
import { startDnsServer, type TestDnsServer } from './dns-server.js';
import { netPack } from './packs.js';

type Answer = ResolvedAddress[] | { code: string } | Promise<ResolvedAddress[]>;

/** A DNS resolver whose answers the test sets per name and family. */
class ScriptedResolver implements DnsResolver {
  answers = new Map<string, Answer>();
  calls: string[] = [];
  private answer(key: string): Promise<ResolvedAddress[]> {
    this.calls.push(key);
    const a = this.answers.get(key);
    if (a === undefined) return Promise.reject(Object.assign(new Error(`queryA ENOTFOUND ${key}`), { code: 'ENOTFOUND' }));
    if (a instanceof Promise) return a;
    if (Array.isArray(a)) return Promise.resolve(a);
    return Promise.reject(Object.assign(new Error(`query ${a.code} ${key}`), { code: a.code }));
  }
  resolve4(host: string) {
    return this.answer(`${host}/4`);
  }
  resolve6(host: string) {
    return this.answer(`${host}/6`);
  }
}

function clock(start = 1_700_000_000_000) {
  let t = start;
  return { now: () => new Date(t), advance: (ms: number) => (t += ms), get t() { return t; } };
}

describe('IndicatorResolver', () => {
  const set = collectIndicators([netPack({ domains: ['short.example', 'long.example', 'gone.example', 'flaky.example'], ips: ['198.51.100.99'] })]);

  it('resolves A and AAAA, schedules by TTL within the bounds, and records "no such name"', async () => {
    const dns = new ScriptedResolver();
    dns.answers.set('short.example/4', [{ address: '203.0.113.1', ttl: 5 }]);
    dns.answers.set('short.example/6', [{ address: '2001:db8::1', ttl: 3 }]);
    dns.answers.set('long.example/4', [{ address: '203.0.113.2', ttl: 86400 }]);
    dns.answers.set('long.example/6', { code: 'ENODATA' });
    dns.answers.set('flaky.example/4', [{ address: '203.0.113.4', ttl: 600 }]);
    dns.answers.set('flaky.example/6', { code: 'ENODATA' });
    const c = clock();
    const r = new IndicatorResolver(set, dns, { now: c.now, minRefreshMs: 60_000, maxRefreshMs: 3_600_000, negativeRefreshMs: 900_000 });
    expect(r.table().lookupAddress('198.51.100.99')).toHaveLength(1); // literal IPs before any DNS
    expect(r.table().lookupAddress('203.0.113.1')).toEqual([]);
    await r.refreshDue();
    const t = r.table();
    expect(t.lookupAddress('203.0.113.1').map((h) => h.indicator.value)).toEqual(['short.example']);
    expect(t.lookupAddress('2001:db8::1')).toHaveLength(1);
    expect(t.lookupAddress('203.0.113.2')).toHaveLength(1);
    const st = Object.fromEntries(r.status().map((s) => [s.domain, s]));
    expect(st['short.example']!.nextRefreshAt.getTime() - c.t).toBe(60_000); // TTL 3 s, clamped up
    expect(st['long.example']!.nextRefreshAt.getTime() - c.t).toBe(3_600_000); // TTL 1 day, clamped down
    expect(st['flaky.example']!.nextRefreshAt.getTime() - c.t).toBe(600_000);
    expect(st['gone.example']).toMatchObject({ addresses: [], nonexistent: true, failures: 0 });
    expect(st['gone.example']!.nextRefreshAt.getTime() - c.t).toBe(900_000);

    // Nothing is due a second later; after a minute only short.example is asked again.
    dns.calls = [];
    c.advance(1000);
    await r.refreshDue();
    expect(dns.calls).toEqual([]);
    c.advance(60_000);
    dns.answers.set('short.example/4', [{ address: '203.0.113.11', ttl: 300 }]);
    await r.refreshDue();
    expect(dns.calls).toEqual(['short.example/4', 'short.example/6']);
    expect(r.table().lookupAddress('203.0.113.1')).toEqual([]);
    expect(r.table().lookupAddress('203.0.113.11')).toHaveLength(1);
  });

  it('keeps the last addresses through failures, backs off, reports, and drops them when too stale', async () => {
    const dns = new ScriptedResolver();
    dns.answers.set('flaky.example/4', [{ address: '203.0.113.4', ttl: 60 }]);
    dns.answers.set('flaky.example/6', { code: 'ENODATA' });
    const c = clock();
    const only = collectIndicators([netPack({ domains: ['flaky.example'] })]);
    const r = new IndicatorResolver(only, dns, { now: c.now, retryMs: 10_000, minRefreshMs: 60_000, maxRefreshMs: 3_600_000, maxStaleMs: 120_000 });
    const errors: ResolverError[] = [];
    r.on('error', (e) => errors.push(e));
    await r.refreshDue();
    dns.answers.set('flaky.example/4', { code: 'ETIMEOUT' });
    c.advance(60_000);
    await r.refreshDue();
    let s = r.status()[0]!;
    expect(s).toMatchObject({ addresses: ['203.0.113.4'], failures: 1, lastError: expect.stringMatching(/^A: ETIMEOUT/) });
    expect(s.nextRefreshAt.getTime() - c.t).toBe(10_000);
    expect(r.table().lookupAddress('203.0.113.4')).toHaveLength(1);
    c.advance(10_000);
    await r.refreshDue();
    expect(r.status()[0]!.nextRefreshAt.getTime() - c.t).toBe(20_000);
    expect(errors.map((e) => [e.domain, e.family, e.code])).toEqual([
      ['flaky.example', 4, 'ETIMEOUT'],
      ['flaky.example', 4, 'ETIMEOUT'],
    ]);
    c.advance(60_000); // 130 s since the last good answer
    await r.refreshDue();
    s = r.status()[0]!;
    expect(s.addresses).toEqual([]);
    expect(r.table().lookupAddress('203.0.113.4')).toEqual([]);
    // Recovery resets the failure count.
    dns.answers.set('flaky.example/4', [{ address: '203.0.113.5', ttl: 60 }]);
    c.advance(80_000);
    await r.refreshDue();
    expect(r.status()[0]).toMatchObject({ addresses: ['203.0.113.5'], failures: 0 });
    expect(r.status()[0]!.lastError).toBeUndefined();
  });

  it('never makes a reader of table() wait for DNS', async () => {
    const dns = new ScriptedResolver();
    let release: (v: ResolvedAddress[]) => void = () => {};
    dns.answers.set('short.example/4', new Promise<ResolvedAddress[]>((r) => (release = r)));
    dns.answers.set('short.example/6', { code: 'ENODATA' });
    const only = collectIndicators([netPack({ domains: ['short.example'] })]);
    const r = new IndicatorResolver(only, dns);
    const before = r.table();
    const updated = new Promise((resolve) => r.once('updated', resolve));
    const round = r.refreshDue();
    expect(r.table()).toBe(before); // the pending lookup does not block or blank the table
    expect(r.table().lookupAddress('203.0.113.9')).toEqual([]);
    release([{ address: '203.0.113.9', ttl: 60 }]);
    await round;
    await updated;
    expect(r.table()).not.toBe(before);
    expect(r.table().lookupAddress('203.0.113.9')).toHaveLength(1);
  });

  it('start() resolves in the background and stop() ends the schedule', async () => {
    const dns = new ScriptedResolver();
    dns.answers.set('short.example/4', [{ address: '203.0.113.3', ttl: 60 }]);
    dns.answers.set('short.example/6', []);
    const r = new IndicatorResolver(collectIndicators([netPack({ domains: ['short.example'] })]), dns);
    const updated = new Promise((resolve) => r.once('updated', resolve));
    r.start();
    await updated;
    r.stop();
    expect(r.table().addressesOf('short.example')).toEqual(['203.0.113.3']);
    expect(() => new IndicatorResolver(set, dns, { minRefreshMs: 10, maxRefreshMs: 5 })).toThrow(RangeError);
  });
});

describe('SystemDnsResolver against a DNS server on loopback', () => {
  let server: TestDnsServer;
  afterAll(() => server?.close());

  it('returns addresses with TTLs, and the codes the scheduler relies on', async () => {
    server = await startDnsServer({
      'c2.test': { a: ['127.0.0.57', '203.0.113.7'], aaaa: ['::1'], ttl: 42 },
      'broken.test': 'servfail',
    });
    const dns = new SystemDnsResolver({ servers: [`${server.address}:${server.port}`], timeoutMs: 1000, tries: 1 });
    expect(await dns.resolve4('c2.test')).toEqual([
      { address: '127.0.0.57', ttl: 42 },
      { address: '203.0.113.7', ttl: 42 },
    ]);
    expect(await dns.resolve6('c2.test')).toEqual([{ address: '::1', ttl: 42 }]);
    await expect(dns.resolve4('nothing.test')).rejects.toMatchObject({ code: 'ENOTFOUND' });
    await expect(dns.resolve4('broken.test')).rejects.toMatchObject({ code: 'ESERVFAIL' });

    const r = new IndicatorResolver(collectIndicators([netPack({ domains: ['c2.test', 'nothing.test'] })]), dns, { keepLoopback: true });
    await r.refreshDue();
    expect(r.table().addressesOf('c2.test').sort()).toEqual(['127.0.0.57', '203.0.113.7', '::1']);
    expect(r.status().find((s) => s.domain === 'nothing.test')).toMatchObject({ nonexistent: true, failures: 0 });
    expect(server.queries).toContain('c2.test AAAA');
  });
});
