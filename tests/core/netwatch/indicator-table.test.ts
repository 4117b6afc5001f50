import { describe, expect, it } from 'vitest';
import { collectIndicators, domainsToResolve, IndicatorTable, usableResolvedAddress } from '../../../src/core/netwatch/indicator-table.js';
import { C2, netPack } from './packs.js';

describe('IndicatorTable', () => {
  const set = collectIndicators([
    netPack({ ...C2, ips: ['198.51.100.99', '2001:DB8:0:0::99'] }),
    netPack({ id: 'other-pack', domains: ['akamaicontainer.com'] }),
  ]);

  it('collects indicators per pack, with the pack title and network advice', () => {
    expect(domainsToResolve(set)).toEqual([...new Set(C2.domains)].sort());
    expect(set.ips.map((i) => i.value)).toEqual(['198.51.100.99', '2001:db8::99']);
    expect(set.packs.get('test-softphone-2023')).toMatchObject({ packTitle: 'Test softphone incident', advice: { id: 'isolate' } });
    expect(set.domains.filter((d) => d.value === 'akamaicontainer.com').map((d) => d.packId)).toEqual(['test-softphone-2023', 'other-pack']);
  });

  it('matches literal IPs and resolved addresses, never unusable answers', () => {
    const t = new IndicatorTable(set, [
      { domain: 'akamaicontainer.com', addresses: ['203.0.113.7', '2001:DB8:BEEF::7', '0.0.0.0', '127.0.0.1', '224.0.0.1'], resolvedAt: new Date(5) },
      { domain: 'not-in-pack.example', addresses: ['203.0.113.200'] },
    ]);
    expect(t.lookupAddress('198.51.100.99').map((h) => h.indicator)).toEqual([expect.objectContaining({ kind: 'ip', value: '198.51.100.99' })]);
    expect(t.lookupAddress('203.0.113.7').map((h) => [h.indicator.packId, h.indicator.value, h.resolvedAt?.getTime()])).toEqual([
      ['test-softphone-2023', 'akamaicontainer.com', 5],
      ['other-pack', 'akamaicontainer.com', 5],
    ]);
    expect(t.lookupAddress('2001:db8:beef::7')).toHaveLength(2);
    for (const a of ['0.0.0.0', '127.0.0.1', '224.0.0.1', '203.0.113.200']) expect(t.lookupAddress(a), a).toEqual([]);
    expect(t.addressesOf('AkamaiContainer.com.').sort()).toEqual(['2001:db8:beef::7', '203.0.113.7']);
    expect(t.addressCount).toBe(4);
  });

  it('keeps loopback answers only when asked (tests, labs)', () => {
    expect(usableResolvedAddress('127.0.0.57')).toBe(false);
    expect(usableResolvedAddress('127.0.0.57', { keepLoopback: true })).toBe(true);
    expect(usableResolvedAddress('0.0.0.0', { keepLoopback: true })).toBe(false);
    const t = new IndicatorTable(set, [{ domain: 'sbmsa.wiki', addresses: ['127.0.0.57', '::1'] }], { keepLoopback: true });
    expect(t.lookupAddress('127.0.0.57')).toHaveLength(1);
    expect(t.lookupAddress('::1')).toHaveLength(1);
  });

  it('never puts the hosts of URL indicators (GitHub) in the address or domain tables', () => {
    const t = new IndicatorTable(set, [{ domain: 'raw.githubusercontent.com', addresses: ['185.199.108.133'] }]);
    expect(t.lookupAddress('185.199.108.133')).toEqual([]);
    expect(t.matchDomain('raw.githubusercontent.com')).toEqual([]);
    expect(t.matchDomain('github.com')).toEqual([]);
  });

  it('matches DNS names and their subdomains, most specific first', () => {
    const t = new IndicatorTable(set);
    expect(t.matchDomain('www.journalide.org').map((r) => r.value)).toEqual(['www.journalide.org', 'journalide.org']);
    expect(t.matchDomain('A.B.SBMSA.WIKI.').map((r) => r.value)).toEqual(['sbmsa.wiki']);
    expect(t.matchDomain('notsbmsa.wiki')).toEqual([]);
    expect(t.matchDomain('wiki')).toEqual([]);
    expect(t.matchDomain('')).toEqual([]);
  });

  it('matches full URLs against URL indicators by host and path prefix', () => {
    const t = new IndicatorTable(set);
    expect(t.matchUrl('https://raw.githubusercontent.com/IconStorages/images/main/icon12.ico').map((r) => r.kind)).toEqual(['url']);
    expect(t.matchUrl('https://raw.githubusercontent.com/iconstorages/images/main/icon0.ico')).toHaveLength(1);
    expect(t.matchUrl('https://github.com/IconStorages/images')).toHaveLength(1);
    expect(t.matchUrl('https://github.com/IconStorages/images/raw/main/icon1.ico')).toHaveLength(1);
    expect(t.matchUrl('https://github.com/IconStorages/images-not')).toEqual([]);
    expect(t.matchUrl('https://raw.githubusercontent.com/someone/else/main/x.ico')).toEqual([]);
    expect(t.matchUrl('http://officeaddons.com/x').map((r) => r.value)).toEqual(['officeaddons.com']);
    expect(t.matchUrl('not a url')).toEqual([]);
  });
});
