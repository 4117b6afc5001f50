/**
 * The agent's connection watcher, built from loaded packs: the platform's source is chosen
 * and driven for real - recorded netstat/tasklist/ipconfig outputs on "Windows", a fixture
 * /proc tree on Linux - and every finding reaches the agent's callback.
 */
import { copyFile, mkdir, mkdtemp, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Finding } from '../../../src/shared/scan.js';
import type { LogFields, Logger } from '../../../src/core/logging/logger.js';
import { RecordedCommandRunner } from '../../../src/core/os/command-runner.js';
import type { LoadedPack } from '../../../src/core/pack/load.js';
import { createAgentConnectionWatcher } from '../../../src/core/netwatch/agent-connection-watcher.js';
import { DISPLAYDNS_ARGS } from '../../../src/core/netwatch/dns-cache-windows.js';
import type { DnsResolver } from '../../../src/core/netwatch/indicator-resolver.js';
import { NETSTAT_ARGS, tasklistArgs, win32ProcessArgs } from '../../../src/core/netwatch/windows-source.js';
import { FIXTURES, fixture } from './fixtures.js';
import { C2, netPack, type NetSpec } from './packs.js';

const key = RecordedCommandRunner.key;

function loaded(spec: NetSpec): LoadedPack {
  const pack = netPack(spec);
  return { pack, ref: { id: pack.id, version: pack.version, title: pack.title, origin: 'builtin' } };
}

interface Line {
  level: string;
  msg: string;
  fields: LogFields;
}
function recordingLogger(lines: Line[] = [], base: LogFields = {}): Logger & { lines: Line[] } {
  const at = (level: string) => (msg: string, fields?: LogFields) => lines.push({ level, msg, fields: { ...base, ...fields } });
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), child: (f) => recordingLogger(lines, { ...base, ...f }) };
}

/** A resolver that answers from a table and fails everything else the way c-ares does offline. */
function zone(answers: Record<string, string>): DnsResolver {
  const fail = (h: string) => Promise.reject(Object.assign(new Error(`queryA ETIMEOUT ${h}`), { code: 'ETIMEOUT' }));
  return {
    resolve4: async (h) => (answers[h] ? [{ address: answers[h]!, ttl: 300 }] : fail(h)),
    resolve6: async (h) => Promise.reject(Object.assign(new Error(`queryAaaa ENODATA ${h}`), { code: answers[h] ? 'ENODATA' : 'ETIMEOUT' })),
  };
}

/** Resolves once `until` holds for what was delivered so far (checked on every delivery). */
function collect(until: (fs: Finding[]) => boolean): { onMatch: (f: Finding) => void; done: Promise<Finding[]>; got: Finding[] } {
  const got: Finding[] = [];
  let resolve!: (fs: Finding[]) => void;
  const done = new Promise<Finding[]>((r) => (resolve = r));
  return {
    got,
    done,
    onMatch: (f) => {
      got.push(f);
      if (until(got)) resolve(got);
    },
  };
}

describe('createAgentConnectionWatcher', () => {
  it('on Windows: polls netstat, reads the DNS cache and the hosts file, and hands the agent every finding but hosts-file blocks', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'vigil-agent-watch-'));
    await copyFile(path.join(FIXTURES, 'hosts/windows-hosts.txt'), path.join(dir, 'hosts'));
    const runner = new RecordedCommandRunner({
      [key('netstat', NETSTAT_ARGS)]: fixture('windows/netstat-nao-en-us.txt'),
      [key('tasklist', tasklistArgs(7324))]: '"3CXDesktopApp.exe","7324","Console","1","187,420 K"\r\n',
      [key('powershell.exe', win32ProcessArgs([7324]))]: fixture('windows/win32-process.json'),
      [key('ipconfig', DISPLAYDNS_ARGS)]: fixture('windows/ipconfig-displaydns-en-us.txt'),
    });
    const log = recordingLogger();
    const w = createAgentConnectionWatcher({
      // The literal IP is matched from the first poll; msstorageboxes.com only once the
      // resolver has answered (it maps it to the address pid 7324 is dialling, SYN_SENT).
      packs: [loaded({ ...C2, ips: ['203.0.113.7'] })],
      intervalMs: 20,
      logger: log,
      platform: 'windows',
      runner,
      hostsFile: path.join(dir, 'hosts'),
      dns: zone({ 'msstorageboxes.com': '198.51.100.20' }),
    });
    expect(w.stats()).toBeUndefined();
    const c = collect(
      (fs) =>
        fs.some((f) => f.evidence.remote?.address === '198.51.100.20') &&
        fs.some((f) => f.ruleId === 'dns.cache') &&
        fs.some((f) => f.ruleId === 'dns.hosts-redirect') &&
        fs.some((f) => f.evidence.remote?.address === '203.0.113.7' && f.evidence.process === undefined),
    );
    w.start(c.onMatch);
    const got = await c.done;
    await w.stop();
    expect(w.stats()).toMatchObject({ source: 'netstat -nao', running: false });

    const byIp = got.find((f) => f.evidence.remote?.address === '203.0.113.7' && f.evidence.process);
    expect(byIp).toMatchObject({
      category: 'network',
      severity: 'compromised',
      evidence: { indicator: '203.0.113.7', process: { pid: 7324, name: '3CXDesktopApp.exe', path: 'C:\\Users\\alice\\AppData\\Local\\Programs\\3CXDesktopApp\\app\\3CXDesktopApp.exe' } },
    });
    expect(got.find((f) => f.evidence.remote?.address === '198.51.100.20')).toMatchObject({
      evidence: { indicator: 'msstorageboxes.com', remote: { host: 'msstorageboxes.com', port: 443 }, process: { pid: 7324 }, detail: { state: 'SYN_SENT' } },
    });
    // The blocking hosts lines were matched (the watcher has them) but not handed over.
    expect(w.matches().filter((m) => m.finding.ruleId === 'dns.hosts-block')).toHaveLength(3);
    expect(got.filter((f) => f.severity === 'info')).toEqual([]);
    expect(got.find((f) => f.ruleId === 'dns.hosts-redirect')).toMatchObject({ severity: 'attention', evidence: { indicator: 'pbxphonenetwork.com' } });
    // Each finding once, however many polls ran.
    expect(new Set(got.map((f) => f.id)).size).toBe(got.length);
    expect(w.stats()!.polls).toBeGreaterThan(1);
    // Unresolvable domains are logged once each (A and AAAA failing alike), not per family or retry.
    const dnsWarnings = log.lines.filter((l) => l.msg.startsWith('could not resolve'));
    expect(dnsWarnings.length).toBe(C2.domains.length - 1);
    expect(new Set(dnsWarnings.map((l) => l.fields.domain)).size).toBe(dnsWarnings.length);
    expect(log.lines.find((l) => l.msg === 'connection watch started')?.fields).toMatchObject({ component: 'netwatch', platform: 'windows', source: 'netstat -nao' });
  });

  it('on Linux: reads /proc, names the process, and keeps watching when the agent throws', async () => {
    const root = await mkdtemp(path.join(tmpdir(), 'vigil-agent-proc-'));
    await mkdir(path.join(root, 'net'));
    for (const f of ['tcp6', 'udp', 'udp6']) await writeFile(path.join(root, 'net', f), '');
    // 10.0.0.5:50000 -> 203.0.113.7:443 (inode 1001, pid 4242) and -> 198.51.100.9:443
    // (inode 1002, pid 4243), in /proc's little-endian hex.
    const row = (sl: number, remote: string, port: string, inode: number) =>
      `   ${sl}: 0500000A:${port} ${remote}:01BB 01 00000000:00000000 00:00000000 00000000  1000        0 ${inode} 1 0000000000000000 20 0 0 10 -1\n`;
    await writeFile(
      path.join(root, 'net/tcp'),
      '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n' + row(0, '077100CB', 'C350', 1001) + row(1, '096433C6', 'C351', 1002),
    );
    for (const [pid, inode] of [
      [4242, 1001],
      [4243, 1002],
    ] as const) {
      await mkdir(path.join(root, `${pid}/fd`), { recursive: true });
      await writeFile(path.join(root, `${pid}/comm`), '3CXDesktopApp\n');
      await symlink('/opt/3cx/3CXDesktopApp', path.join(root, `${pid}/exe`));
      await symlink(`socket:[${inode}]`, path.join(root, `${pid}/fd/5`));
    }
    const log = recordingLogger();
    const w = createAgentConnectionWatcher({
      packs: [loaded({ ips: ['203.0.113.7', '198.51.100.9'] })],
      intervalMs: 20,
      logger: log,
      platform: 'linux',
      procRoot: root,
      hostsFile: path.join(root, 'no-hosts-here'),
      dns: zone({}),
    });
    const got: Finding[] = [];
    const both = new Promise<void>((resolve) =>
      w.start((f) => {
        got.push(f);
        if (got.length === 2) resolve();
        // The agent failing on the first finding must not cost the second one.
        if (got.length === 1) throw new Error('outbox is closed');
      }),
    );
    await both;
    await w.stop();
    expect(got.map((f) => [f.evidence.indicator, f.evidence.process?.pid, f.evidence.process?.name, f.evidence.process?.path]).sort()).toEqual([
      ['198.51.100.9', 4243, '3CXDesktopApp', '/opt/3cx/3CXDesktopApp'],
      ['203.0.113.7', 4242, '3CXDesktopApp', '/opt/3cx/3CXDesktopApp'],
    ]);
    expect(w.stats()).toMatchObject({ source: 'procfs', errors: 0 });
    expect(log.lines.find((l) => l.level === 'error')).toMatchObject({ msg: 'the agent failed to take a connection finding', fields: { findingId: got[0]!.id } });
  });

  it('does not start without network indicators, and stops cleanly when never started', async () => {
    const log = recordingLogger();
    const w = createAgentConnectionWatcher({ packs: [loaded({ urls: [] })], logger: log, platform: 'linux', procRoot: path.join(tmpdir(), 'vigil-no-proc') });
    w.start(() => {
      throw new Error('no finding expected');
    });
    expect(w.stats()).toBeUndefined();
    expect(w.matches()).toEqual([]);
    expect(log.lines.map((l) => l.msg)).toEqual(['the packs name no network domains or addresses; connection watch not started']);
    await expect(w.stop()).resolves.toBeUndefined();
  });
});
