import { copyFile, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { FindingSchema } from '../../../src/shared/scan.js';
import { RecordedCommandRunner } from '../../../src/core/os/command-runner.js';
import { LocalTargetFs } from '../../../src/core/os/target-fs.js';
import { DISPLAYDNS_ARGS, WindowsDnsCacheReader } from '../../../src/core/netwatch/dns-cache-windows.js';
import { HostsFileReader } from '../../../src/core/netwatch/hosts-file.js';
import { collectIndicators, IndicatorTable } from '../../../src/core/netwatch/indicator-table.js';
import { ProcNetSource } from '../../../src/core/netwatch/proc-net-source.js';
import { NetWatcher, type WatchMatch, type WatchProblem } from '../../../src/core/netwatch/watcher.js';
import { FIXTURES, fixture } from './fixtures.js';
import { C2, netPack } from './packs.js';

const TCP_HEADER = '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n';
const line = (sl: number, local: string, remote: string, st: string, inode: number) =>
  `   ${sl}: ${local} ${remote} ${st} 00000000:00000000 00:00000000 00000000     0        0 ${inode} 1 0000000000000000 20 0 0 10 -1\n`;
// 127.0.0.1 -> 127.0.0.57:40157, in /proc's little-endian hex.
const C = (port: number) => `0100007F:${port.toString(16).toUpperCase().padStart(4, '0')}`;
const SERVER = '3900007F:9CDD';

async function tree() {
  const root = await mkdtemp(path.join(tmpdir(), 'vigil-watch-'));
  await mkdir(path.join(root, 'net'));
  for (const f of ['tcp6', 'udp', 'udp6']) await writeFile(path.join(root, 'net', f), '');
  await mkdir(path.join(root, '4242/fd'), { recursive: true });
  await writeFile(path.join(root, '4242/comm'), '3CXDesktopApp\n');
  await symlink('/opt/3cx/3CXDesktopApp', path.join(root, '4242/exe'));
  const setTcp = (text: string) => writeFile(path.join(root, 'net/tcp'), TCP_HEADER + text);
  const own = (fd: number, inode: number) => symlink(`socket:[${inode}]`, path.join(root, `4242/fd/${fd}`));
  return { root, setTcp, own };
}

const table = new IndicatorTable(collectIndicators([netPack({ domains: ['c2.example'] })]), [{ domain: 'c2.example', addresses: ['127.0.0.57'] }], { keepLoopback: true });
const provider = { table: () => table };

describe('NetWatcher (connection polls over a /proc fixture tree)', () => {
  it('emits one match per (process, remote) pair, counts later sightings, and keeps the process through TIME_WAIT', async () => {
    const t = await tree();
    await t.setTcp('');
    const w = new NetWatcher({ source: new ProcNetSource({ procRoot: t.root, littleEndian: true }), indicators: provider });
    const events: WatchMatch[] = [];
    w.on('match', (m) => events.push(m));

    expect((await w.pollOnce()).matched).toBe(0);

    await t.own(5, 1001);
    await t.setTcp(line(0, C(50000), SERVER, '01', 1001));
    const p2 = await w.pollOnce();
    expect(p2.newMatches).toHaveLength(1);
    expect(events).toHaveLength(1);
    const m = events[0]!;
    expect(m.kind).toBe('connection');
    expect(m.finding).toMatchObject({
      category: 'network',
      severity: 'compromised',
      packId: 'test-softphone-2023',
      evidence: { indicator: 'c2.example', process: { pid: 4242, name: '3CXDesktopApp', path: '/opt/3cx/3CXDesktopApp' }, remote: { address: '127.0.0.57', port: 40157, host: 'c2.example' } },
      advice: { id: 'isolate' },
    });
    expect(m.finding.title).toBe('3CXDesktopApp (pid 4242) is connected to c2.example (127.0.0.57), a server named by the "Test softphone incident" incident pack.');
    expect(FindingSchema.safeParse(m.finding).success).toBe(true);

    // Same socket, then TIME_WAIT (inode 0, no owner), then a second socket of the same process.
    await w.pollOnce();
    await t.setTcp(line(0, C(50000), SERVER, '06', 0));
    await w.pollOnce();
    await t.own(6, 1002);
    await t.setTcp(line(0, C(50000), SERVER, '06', 0) + line(1, C(50001), SERVER, '01', 1002));
    await w.pollOnce();
    expect(events).toHaveLength(1);
    expect(w.matches()).toHaveLength(1);
    expect(w.matches()[0]).toMatchObject({ connections: 2, sightings: 4 });
    expect(w.findings()[0]!.evidence.detail).toMatchObject({ connections: 2, sightings: 4 });
    expect(w.findings()[0]!.id).toBe(m.id);
    expect(w.stats()).toMatchObject({ polls: 5, matches: 1, errors: 0, connections: 2, indicatorAddresses: 1, indicatorDomains: 1 });
  });

  it('reports a brief connection seen only as TIME_WAIT, without a process', async () => {
    const t = await tree();
    await t.setTcp(line(0, C(50010), SERVER, '06', 0));
    const w = new NetWatcher({ source: new ProcNetSource({ procRoot: t.root, littleEndian: true }), indicators: provider });
    const r = await w.pollOnce();
    expect(r.newMatches).toHaveLength(1);
    const f = r.newMatches[0]!.finding;
    expect(f.evidence.process).toBeUndefined();
    expect(f.evidence.detail).toMatchObject({ state: 'TIME_WAIT', process: 'not identified: the connection had already closed (TIME_WAIT)' });
    expect(f.title).toMatch(/^A program that has already closed the connection was connected to c2\.example/);
  });

  it('gives each process its own match, even when two processes run the same executable', async () => {
    // Two `node` processes to the same C2, one of them listed first: keyed by executable
    // path they were one match, and the second process (the one that mattered) was hidden.
    const t = await tree();
    await mkdir(path.join(t.root, '4243/fd'), { recursive: true });
    await writeFile(path.join(t.root, '4243/comm'), '3CXDesktopApp\n');
    await symlink('/opt/3cx/3CXDesktopApp', path.join(t.root, '4243/exe'));
    await symlink('socket:[2001]', path.join(t.root, '4243/fd/7'));
    await t.own(5, 1001);
    await t.setTcp(line(0, C(50000), SERVER, '01', 1001) + line(1, C(50002), SERVER, '01', 2001));
    const w = new NetWatcher({ source: new ProcNetSource({ procRoot: t.root, littleEndian: true }), indicators: provider });
    const r = await w.pollOnce();
    expect(r.newMatches.map((m) => m.finding.evidence.process?.pid).sort()).toEqual([4242, 4243]);
    expect(new Set(r.newMatches.map((m) => m.id)).size).toBe(2);
    expect((await w.pollOnce()).newMatches).toEqual([]);
  });

  it('gives the same finding id to the same process and host after a restart of the watcher', async () => {
    const t = await tree();
    await t.own(5, 1001);
    await t.setTcp(line(0, C(50000), SERVER, '01', 1001));
    const ids: string[] = [];
    for (let i = 0; i < 2; i++) {
      const w = new NetWatcher({ source: new ProcNetSource({ procRoot: t.root, littleEndian: true }), indicators: provider });
      ids.push((await w.pollOnce()).newMatches[0]!.id);
    }
    expect(ids[0]).toBe(ids[1]);
  });

  it('survives a broken source: reports each distinct problem once, counts errors, keeps polling', async () => {
    const t = await tree();
    await t.setTcp('   0: garbage\n');
    const w = new NetWatcher({ source: new ProcNetSource({ procRoot: t.root, littleEndian: true }), indicators: provider });
    const problems: WatchProblem[] = [];
    w.on('problem', (p) => problems.push(p));
    await w.pollOnce();
    await w.pollOnce();
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ source: 'procfs', code: 'parse' });
    expect(w.stats().problems).toBe(2);

    const throwing = new NetWatcher({
      source: { name: 'broken', snapshot: () => Promise.reject(new Error('EIO reading table')), attribute: () => Promise.reject(new Error('x')) },
      indicators: provider,
    });
    await throwing.pollOnce();
    await throwing.pollOnce();
    expect(throwing.stats()).toMatchObject({ polls: 2, errors: 2, lastError: 'broken: EIO reading table' });
  });

  it('start() polls at the interval until stop()', async () => {
    const t = await tree();
    await t.setTcp('');
    const w = new NetWatcher({ source: new ProcNetSource({ procRoot: t.root, littleEndian: true }), indicators: provider, intervalMs: 20 });
    const polled = new Promise<void>((resolve) => {
      let n = 0;
      w.on('poll', () => ++n === 3 && resolve());
    });
    w.start();
    await polled;
    await w.stop();
    const n = w.stats().polls;
    await new Promise((r) => setTimeout(r, 60));
    expect(w.stats().polls).toBe(n);
    expect(w.stats().running).toBe(false);
    expect(() => new NetWatcher({ source: w as never, indicators: provider, intervalMs: 0 })).toThrow(RangeError);
  });
});

describe('NetWatcher DNS evidence', () => {
  it('reports DNS cache lookups and hosts lines once each, with the right severities', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'vigil-watch-dns-'));
    await copyFile(path.join(FIXTURES, 'hosts/windows-hosts.txt'), path.join(dir, 'hosts'));
    const runner = new RecordedCommandRunner({ [RecordedCommandRunner.key('ipconfig', DISPLAYDNS_ARGS)]: fixture('windows/ipconfig-displaydns-en-us.txt') });
    const full = new IndicatorTable(collectIndicators([netPack(C2)]));
    const w = new NetWatcher({
      source: new ProcNetSource({ procRoot: path.join(dir, 'none') }),
      indicators: { table: () => full },
      dnsCache: new WindowsDnsCacheReader(runner),
      hosts: new HostsFileReader(new LocalTargetFs(dir), 'hosts'),
    });
    const first = await w.pollDnsOnce();
    const summary = first.map((m) => [m.kind, m.finding.severity, m.finding.ruleId, m.indicator.value]);
    expect(summary).toEqual([
      ['hosts-file', 'info', 'dns.hosts-block', 'akamaicontainer.com'],
      ['hosts-file', 'info', 'dns.hosts-block', 'akamaicontainer.com'],
      ['hosts-file', 'info', 'dns.hosts-block', 'msstorageazure.com'],
      ['hosts-file', 'attention', 'dns.hosts-redirect', 'pbxphonenetwork.com'],
      ['dns-cache', 'compromised', 'dns.cache', 'akamaicontainer.com'],
      ['dns-cache', 'compromised', 'dns.cache', 'www.journalide.org'],
      ['dns-cache', 'compromised', 'dns.cache', 'journalide.org'],
      ['dns-cache', 'compromised', 'dns.cache', 'msstorageboxes.com'],
      ['dns-cache', 'compromised', 'dns.cache', 'glcloudservice.com'],
    ]);
    for (const m of first) expect(FindingSchema.safeParse(m.finding).success).toBe(true);
    expect(first.find((m) => m.kind === 'dns-cache')!.finding.title).toBe('This PC looked up akamaicontainer.com, a server named by the "Test softphone incident" incident pack.');
    expect(first.find((m) => m.finding.ruleId === 'dns.hosts-redirect')!.finding.evidence.path).toBe(path.join(dir, 'hosts'));
    expect(await w.pollDnsOnce()).toEqual([]);
    expect(w.matches().every((m) => m.sightings === 2)).toBe(true);
    await rm(dir, { recursive: true });
    expect(await w.pollDnsOnce()).toEqual([]);
    expect(w.stats().dnsPolls).toBe(3);
  });
});
