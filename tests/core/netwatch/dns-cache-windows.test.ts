import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { RecordedCommandRunner } from '../../../src/core/os/command-runner.js';
import {
  DISPLAYDNS_ARGS,
  DNS_CLIENT_CACHE_ARGS,
  parseDnsClientCacheJson,
  parseIpconfigDisplayDns,
  WindowsDnsCacheReader,
} from '../../../src/core/netwatch/dns-cache-windows.js';
import { fixture, FIXTURES } from './fixtures.js';

describe('ipconfig /displaydns', () => {
  it('parses en-US entries: PTR, several A records, CNAME chains, negative entries', () => {
    const { records, problems } = parseIpconfigDisplayDns(fixture('windows/ipconfig-displaydns-en-us.txt'));
    expect(problems).toEqual([]);
    const of = (entry: string) => records.filter((r) => r.entry === entry);
    expect(of('1.0.0.127.in-addr.arpa')).toEqual([{ entry: '1.0.0.127.in-addr.arpa', name: '1.0.0.127.in-addr.arpa', type: 12, ttl: 86400, section: 'Answer', data: 'localhost', status: 'ok' }]);
    expect(of('raw.githubusercontent.com').map((r) => r.data)).toEqual(['185.199.108.133', '185.199.109.133']);
    expect(of('akamaicontainer.com')).toEqual([
      { entry: 'akamaicontainer.com', name: 'akamaicontainer.com', type: 0, status: 'negative', data: 'No records of type AAAA' },
      expect.objectContaining({ type: 1, ttl: 57, data: '203.0.113.7', status: 'ok' }),
    ]);
    expect(of('www.journalide.org')).toEqual([expect.objectContaining({ status: 'negative', data: 'Name does not exist.' })]);
    expect(of('cdn.example.net').map((r) => [r.name, r.type, r.data])).toEqual([
      ['cdn.example.net', 5, 'edge.msstorageboxes.com'],
      ['edge.msstorageboxes.com', 28, '2001:db8:beef::7'],
    ]);
    expect(new Set(records.map((r) => r.entry)).size).toBe(8);
  });

  it('reads de-DE output by position, whatever the labels decode to', () => {
    const text = readFileSync(path.join(FIXTURES, 'windows/ipconfig-displaydns-de-de.cp850.txt')).toString('utf8');
    const { records, problems } = parseIpconfigDisplayDns(text);
    expect(problems).toEqual([]);
    expect(records).toEqual([
      { entry: 'sourceslabs.com', name: 'sourceslabs.com', type: 1, ttl: 41, section: 'Antwort', data: '198.51.100.20', status: 'ok' },
      { entry: 'example.org', name: 'example.org', type: 28, ttl: 1200, section: 'Antwort', data: '2001:db8::1', status: 'ok' },
      { entry: 'pbxsources.com', name: 'pbxsources.com', type: 0, status: 'negative', data: 'Der Name existiert nicht.' },
    ]);
  });

  it('skips truncated and malformed records, keeps the rest', () => {
    const { records, problems } = parseIpconfigDisplayDns(fixture('windows/ipconfig-displaydns-malformed.txt'));
    expect(records.map((r) => `${r.entry} ${r.data}`)).toEqual(['ok.example.com 192.0.2.1', 'dunamistrd.com 198.51.100.99']);
    expect(problems).toEqual([expect.objectContaining({ code: 'parse', count: 2 })]);
  });

  it('treats an empty cache as no records', () => {
    expect(parseIpconfigDisplayDns('\r\nWindows IP Configuration\r\n\r\nCould not display the DNS Resolver Cache.\r\n')).toEqual({ records: [], problems: [] });
  });
});

describe('Get-DnsClientCache | ConvertTo-Json', () => {
  it('parses the selected form with status codes', () => {
    const { records, problems } = parseDnsClientCacheJson(fixture('windows/get-dnsclientcache-selected.json'));
    expect(problems).toEqual([]);
    expect(records).toEqual([
      { entry: 'akamaitechcloudservices.com', name: 'akamaitechcloudservices.com', type: 1, status: 'ok', data: '198.51.100.44', ttl: 42, section: 'Answer' },
      { entry: 'akamaitechcloudservices.com', name: 'akamaitechcloudservices.com', type: 0, status: 'negative', ttl: 42, section: 'Answer' },
      { entry: 'officeaddons.com', name: 'officeaddons.com', type: 0, status: 'negative', ttl: 300, section: 'Answer' },
      { entry: 'raw.githubusercontent.com', name: 'raw.githubusercontent.com', type: 1, status: 'ok', data: '185.199.110.133', ttl: 120, section: 'Answer' },
      { entry: 'login.live.com', name: 'login.live.com', type: 5, status: 'ok', data: 'login.msa.msidentity.com', ttl: 3000, section: 'Answer' },
    ]);
  });

  it('parses the unselected single-object form with enum names', () => {
    const { records } = parseDnsClientCacheJson(fixture('windows/get-dnsclientcache-full.json'));
    expect(records).toEqual([{ entry: 'azureonlinestorage.com', name: 'azureonlinestorage.com', type: 1, status: 'ok', data: '198.51.100.61', ttl: 233, section: 'Answer' }]);
  });

  it('reports truncated JSON and wrong shapes; empty output is an empty cache', () => {
    expect(parseDnsClientCacheJson('[{"Entry":"a.com","Da').problems[0]?.message).toMatch(/not valid JSON/);
    expect(parseDnsClientCacheJson('[1,2]').problems[0]?.message).toMatch(/unexpected shape/);
    expect(parseDnsClientCacheJson('[{"Type":1}]').problems[0]).toMatchObject({ count: 1 });
    expect(parseDnsClientCacheJson('')).toEqual({ records: [], problems: [] });
  });
});

describe('WindowsDnsCacheReader', () => {
  it('runs ipconfig, or PowerShell when asked, and reports a tool that cannot run', async () => {
    const runner = new RecordedCommandRunner({
      [RecordedCommandRunner.key('ipconfig', DISPLAYDNS_ARGS)]: fixture('windows/ipconfig-displaydns-en-us.txt'),
      [RecordedCommandRunner.key('powershell.exe', DNS_CLIENT_CACHE_ARGS)]: fixture('windows/get-dnsclientcache-selected.json'),
    });
    expect((await new WindowsDnsCacheReader(runner).read()).records).toHaveLength(11);
    expect((await new WindowsDnsCacheReader(runner, 'powershell').read()).records).toHaveLength(5);
    const broken = await new WindowsDnsCacheReader(new RecordedCommandRunner({})).read();
    expect(broken).toEqual({ records: [], problems: [{ code: 'command', message: 'ipconfig could not run: ENOENT' }] });
  });
});

// Real output posted in https://github.com/opendr-io/opendr/issues/77 (details in
// tests/fixtures/netwatch/README.md, "real captures (published)").
describe('ipconfig /displaydns on real published output', () => {
  it('an entry with two A records (mozilla.cloudflare-dns.com), no preamble', () => {
    const { records, problems } = parseIpconfigDisplayDns(fixture('windows/published-opendr-ipconfig-displaydns-mozilla.txt'));
    expect(problems).toEqual([]);
    expect(records).toEqual([
      { entry: 'mozilla.cloudflare-dns.com', name: 'mozilla.cloudflare-dns.com', type: 1, ttl: 265, section: 'Answer', data: '162.159.61.4', status: 'ok' },
      { entry: 'mozilla.cloudflare-dns.com', name: 'mozilla.cloudflare-dns.com', type: 1, ttl: 265, section: 'Answer', data: '172.64.41.4', status: 'ok' },
    ]);
  });

  it('an entry header pasted with one space of indentation (pypi.org) still starts the entry', () => {
    const { records, problems } = parseIpconfigDisplayDns(fixture('windows/published-opendr-ipconfig-displaydns-pypi.txt'));
    expect(problems).toEqual([]);
    expect(records.map((r) => [r.entry, r.name, r.type, r.ttl, r.section, r.data])).toEqual([
      ['pypi.org', 'pypi.org', 1, 45836, 'Answer', '151.101.192.223'],
      ['pypi.org', 'pypi.org', 1, 45836, 'Answer', '151.101.128.223'],
    ]);
  });
});
