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

describe('the built-in packs\' network indicators', () => {
  it('carry the single-source marker into DNS findings, and match the X_TRADER C2 only as a URL, never its host', async () => {
    const { builtinPacks } = await import('../../../src/core/pack/load.js');
    const { matchDnsCache } = await import('../../../src/core/netwatch/dns-evidence.js');
    const { dnsCacheFinding } = await import('../../../src/core/netwatch/netwatch-findings.js');
    const packs = (await builtinPacks()).map((p) => p.pack);
    const set = collectIndicators(packs);
    const t = new IndicatorTable(set, []);

    const single = matchDnsCache([{ entry: 'msedgeupdate.net', name: 'msedgeupdate.net', type: 1, data: '203.0.113.5', status: 'ok' }], t);
    expect(single).toHaveLength(1);
    const f = dnsCacheFinding(single[0]!, set.packs.get(single[0]!.indicator.packId), 'ipconfig /displaydns', new Date(0));
    expect(f.title).toMatch(/incident pack \(one public source\)\.$/);
    expect(f.evidence.detail).toMatchObject({ singleSource: true });
    const corroborated = matchDnsCache([{ entry: 'akamaicontainer.com', name: 'akamaicontainer.com', type: 1, data: '203.0.113.6', status: 'ok' }], t);
    const g = dnsCacheFinding(corroborated[0]!, set.packs.get(corroborated[0]!.indicator.packId), 'ipconfig /displaydns', new Date(0));
    expect(g.title).not.toMatch(/one public source/);
    expect(g.evidence.detail?.singleSource).toBeUndefined();

    expect(t.matchUrl('https://www.tradingtechnologies.com/trading/order-management?id=1').map((r) => [r.packId, r.kind])).toEqual([['x-trader-2023', 'url']]);
    expect(t.matchUrl('https://www.tradingtechnologies.com/xtrader-help/')).toEqual([]);
    expect(t.matchDomain('www.tradingtechnologies.com')).toEqual([]);
    expect(domainsToResolve(set)).not.toContain('www.tradingtechnologies.com');
  });
});
