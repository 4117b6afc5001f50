import { describe, expect, it } from 'vitest';
import { parseIpconfigDisplayDns, parseDnsClientCacheJson } from '../../../src/core/netwatch/dns-cache-windows.js';
import { matchDnsCache, matchHostsFile } from '../../../src/core/netwatch/dns-evidence.js';
import { parseHostsFile } from '../../../src/core/netwatch/hosts-file.js';
import { collectIndicators, IndicatorTable } from '../../../src/core/netwatch/indicator-table.js';
import { C2, netPack } from './packs.js';
import { fixture } from './fixtures.js';

const table = new IndicatorTable(collectIndicators([netPack(C2)]));

describe('DNS cache evidence', () => {
  it('reports lookups of pack domains (answered, negative, sinkholed, via CNAME) and never raw.githubusercontent.com', () => {
    const { records } = parseIpconfigDisplayDns(fixture('windows/ipconfig-displaydns-en-us.txt'));
    const m = matchDnsCache(records, table);
    expect(m.map((x) => [x.entry, x.matchedName, x.indicator.value, x.addresses.join(' '), x.negative, x.blocked])).toEqual([
      ['akamaicontainer.com', 'akamaicontainer.com', 'akamaicontainer.com', '203.0.113.7', false, false],
      ['www.journalide.org', 'www.journalide.org', 'www.journalide.org', '', true, false],
      ['www.journalide.org', 'www.journalide.org', 'journalide.org', '', true, false],
      ['cdn.example.net', 'edge.msstorageboxes.com', 'msstorageboxes.com', '2001:db8:beef::7', false, false],
      ['glcloudservice.com', 'glcloudservice.com', 'glcloudservice.com', '0.0.0.0', false, true],
    ]);
    expect(m.find((x) => x.entry === 'akamaicontainer.com')?.ttl).toBe(57);
  });

  it('works the same on Get-DnsClientCache records', () => {
    const { records } = parseDnsClientCacheJson(fixture('windows/get-dnsclientcache-selected.json'));
    expect(matchDnsCache(records, table).map((x) => [x.entry, x.negative])).toEqual([
      ['akamaitechcloudservices.com', false],
      ['officeaddons.com', true],
    ]);
  });

  it('does not count hosts-file lines that Windows preloaded into the cache as lookups', () => {
    const { records } = parseIpconfigDisplayDns(fixture('windows/ipconfig-displaydns-en-us.txt'));
    const hosts = parseHostsFile('0.0.0.0 glcloudservice.com\n203.0.113.99 akamaicontainer.com\n').entries;
    const m = matchDnsCache(records, table, hosts);
    expect(m.map((x) => x.entry)).not.toContain('glcloudservice.com');
    // A hosts line for a different address does not hide a real lookup.
    expect(m.map((x) => x.entry)).toContain('akamaicontainer.com');
  });
});

describe('hosts file evidence', () => {
  it('reports blocks as info and redirects as attention', () => {
    const { entries } = parseHostsFile(fixture('hosts/windows-hosts.txt'));
    expect(matchHostsFile(entries, table).map((m) => [m.name, m.entry.address, m.indicator.value, m.severity])).toEqual([
      ['akamaicontainer.com', '0.0.0.0', 'akamaicontainer.com', 'info'],
      ['www.akamaicontainer.com', '0.0.0.0', 'akamaicontainer.com', 'info'],
      ['msstorageazure.com', '0.0.0.0', 'msstorageazure.com', 'info'],
      ['pbxphonenetwork.com', '10.20.30.40', 'pbxphonenetwork.com', 'attention'],
    ]);
    const linux = parseHostsFile(fixture('hosts/linux-hosts.txt')).entries;
    expect(matchHostsFile(linux, table).map((m) => [m.name, m.blocked])).toEqual([['sbmsa.wiki', true]]);
  });
});
