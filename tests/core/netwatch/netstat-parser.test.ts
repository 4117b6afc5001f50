import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseNetstatEndpoint, parseNetstatNao } from '../../../src/core/netwatch/netstat-parser.js';
import { fixture, FIXTURES } from './fixtures.js';

describe('parseNetstatNao (Windows netstat -nao)', () => {
  it('parses en-US rows: states, PIDs, IPv6 with zone ids, UDP without state', () => {
    const { connections, problems } = parseNetstatNao(fixture('windows/netstat-nao-en-us.txt'));
    expect(problems).toEqual([]);
    expect(connections).toHaveLength(24);
    expect(connections.find((c) => c.local.port === 50112)).toEqual({
      protocol: 'tcp', family: 4, local: { address: '192.168.1.23', port: 50112 }, remote: { address: '203.0.113.7', port: 443 }, state: 'ESTABLISHED', pid: 7324,
    });
    // TIME_WAIT belongs to PID 0 (no process any more): no pid.
    const tw = connections.find((c) => c.local.port === 50113)!;
    expect(tw.state).toBe('TIME_WAIT');
    expect(tw.pid).toBeUndefined();
    expect(connections.find((c) => c.local.port === 50120)?.state).toBe('SYN_SENT');
    expect(connections.find((c) => c.local.port === 50131)?.state).toBe('CLOSE_WAIT');
    expect(connections.find((c) => c.local.port === 50140)?.state).toBe('FIN_WAIT2');
    expect(connections.find((c) => c.local.port === 49670)).toMatchObject({
      family: 6, local: { address: 'fe80::1c18:b13a:3f78:eff5', scope: '12' }, remote: { address: 'fe80::2', port: 445, scope: '12' },
    });
    expect(connections.find((c) => c.local.port === 50200)?.remote).toEqual({ address: '2001:db8:beef::7', port: 443 });
    const udp6 = connections.filter((c) => c.protocol === 'udp' && c.family === 6);
    expect(udp6.map((c) => [c.local.address, c.remote.address, c.state, c.pid])).toEqual([
      ['::', '::', 'BOUND', 2384],
      ['fe80::1c18:b13a:3f78:eff5', '::', 'BOUND', 5512],
    ]);
  });

  it('skips a translated header (zh-CN, read as UTF-8 from GBK bytes) and parses the rows', () => {
    const { connections, problems } = parseNetstatNao(fixture('windows/netstat-nao-zh-cn.gbk.txt'));
    expect(problems).toEqual([]);
    expect(connections.map((c) => c.pid)).toEqual([1036, 4732, 4220, 8400]);
  });

  it('maps de-DE states, including ABHÖREN mangled by the OEM code page', () => {
    const text = readFileSync(path.join(FIXTURES, 'windows/netstat-nao-de-de.cp850.txt')).toString('utf8');
    expect(text).toContain('ABH\uFFFDREN');
    const { connections, problems } = parseNetstatNao(text);
    expect(problems).toEqual([]);
    expect(connections.map((c) => c.state)).toEqual(['LISTEN', 'ESTABLISHED', 'TIME_WAIT', 'CLOSE_WAIT', 'SYN_SENT', 'LISTEN', 'BOUND']);
  });

  it('skips truncated and malformed rows with one counted problem, keeps unknown states raw', () => {
    const { connections, problems } = parseNetstatNao(fixture('windows/netstat-nao-malformed.txt'));
    expect(connections.map((c) => c.local.port)).toEqual([50112, 5355, 50116]);
    expect(connections[2]).toMatchObject({ state: 'UNKNOWN', stateRaw: 'SOME_NEW_STATE' });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ code: 'parse', count: 6 });
    expect(problems[0]!.message).toMatch(/first at line 6: TCP +192\.168\.1\.23:50114/);
  });

  it('parses endpoints', () => {
    expect(parseNetstatEndpoint('*:*', 6)).toEqual({ address: '::', port: 0 });
    expect(parseNetstatEndpoint('[::]:0', 6)).toEqual({ address: '::', port: 0 });
    expect(parseNetstatEndpoint('0.0.0.0:135', 4)).toEqual({ address: '0.0.0.0', port: 135 });
    expect(parseNetstatEndpoint('1.2.3.4:65536', 4)).toBeNull();
    expect(parseNetstatEndpoint('1.2.3.4', 4)).toBeNull();
    expect(parseNetstatEndpoint('fe80::1:80', 6)).toBeNull(); // unbracketed IPv6 is ambiguous
  });
});

// Real captures published by others (source and commit in tests/fixtures/netwatch/README.md,
// "real captures (published)"): jc's Windows 10 fixtures, kept byte for byte (CRLF).
describe('parseNetstatNao on real published Windows 10 captures (jc tests/fixtures/windows/windows-10)', () => {
  it('netstat -aon: every row parsed, listeners, loopback pairs, UDP *:*, link-local zones', () => {
    const text = fixture('windows/published-jc-win10-netstat-aon.txt');
    expect(text).toContain('\r\n');
    const { connections, problems } = parseNetstatNao(text);
    expect(problems).toEqual([]);
    // 71 TCP rows and 137 UDP rows in the capture.
    expect(connections.filter((c) => c.protocol === 'tcp')).toHaveLength(71);
    expect(connections.filter((c) => c.protocol === 'udp')).toHaveLength(137);
    expect(connections[0]).toEqual({
      protocol: 'tcp', family: 4, local: { address: '0.0.0.0', port: 135 }, remote: { address: '0.0.0.0', port: 0 }, state: 'LISTEN', pid: 1712,
    });
    expect(connections.find((c) => c.local.port === 1031)).toEqual({
      protocol: 'tcp', family: 4, local: { address: '127.0.0.1', port: 1031 }, remote: { address: '127.0.0.1', port: 1032 }, state: 'ESTABLISHED', pid: 10644,
    });
    // The System process (PID 4) owns SMB and NetBIOS listeners.
    expect(connections.find((c) => c.local.address === '192.168.31.221')).toMatchObject({ local: { port: 139 }, state: 'LISTEN', pid: 4 });
    expect(connections.find((c) => c.protocol === 'tcp' && c.local.address === '::1' && c.local.port === 8307)).toEqual({
      protocol: 'tcp', family: 6, local: { address: '::1', port: 8307 }, remote: { address: '::', port: 0 }, state: 'LISTEN', pid: 9396,
    });
    expect(connections.find((c) => c.protocol === 'udp' && c.local.port === 67)).toEqual({
      protocol: 'udp', family: 4, local: { address: '0.0.0.0', port: 67 }, remote: { address: '0.0.0.0', port: 0 }, state: 'BOUND', pid: 34064,
    });
    // An IPv6 UDP row prints its foreign address as the IPv4-looking "*:*".
    expect(connections.find((c) => c.protocol === 'udp' && c.local.address === '::' && c.local.port === 5355)).toEqual({
      protocol: 'udp', family: 6, local: { address: '::', port: 5355 }, remote: { address: '::', port: 0 }, state: 'BOUND', pid: 3404,
    });
    // The last two rows: link-local addresses with zone ids, wider than the column.
    expect(connections.slice(-2)).toEqual([
      { protocol: 'udp', family: 6, local: { address: 'fe80::244e:2f1e:2096:62b2', port: 1900, scope: '9' }, remote: { address: '::', port: 0 }, state: 'BOUND', pid: 8844 },
      { protocol: 'udp', family: 6, local: { address: 'fe80::f5d1:8bf7:c410:e325', port: 52284, scope: '64' }, remote: { address: '::', port: 0 }, state: 'BOUND', pid: 8844 },
    ]);
    // Rows repeated in the capture (41 sockets bound to 0.0.0.0:5353 by three processes) are all kept.
    expect(connections.filter((c) => c.protocol === 'udp' && c.local.address === '0.0.0.0' && c.local.port === 5353)).toHaveLength(41);
  });

  it('netstat -aonb (TCP part): outside peers, CLOSE_WAIT, TIME_WAIT with PID 0; the -b name lines are skipped, not counted', () => {
    const { connections, problems } = parseNetstatNao(fixture('windows/published-jc-win10-netstat-aonb-tcp.txt'));
    expect(problems).toEqual([]);
    expect(connections).toHaveLength(114);
    const count = (state: string) => connections.filter((c) => c.state === state).length;
    expect([count('LISTEN'), count('ESTABLISHED'), count('CLOSE_WAIT'), count('TIME_WAIT')]).toEqual([51, 54, 6, 3]);
    expect(connections.find((c) => c.local.port === 1028)).toEqual({
      protocol: 'tcp', family: 4, local: { address: '192.168.31.221', port: 1028 }, remote: { address: '169.150.202.133', port: 443 }, state: 'ESTABLISHED', pid: 6608,
    });
    expect(connections.find((c) => c.local.port === 4607)).toMatchObject({ remote: { address: '192.229.221.95', port: 80 }, state: 'CLOSE_WAIT', pid: 27568 });
    const tw = connections.filter((c) => c.state === 'TIME_WAIT');
    expect(tw.map((c) => [c.local.port, c.remote.address, c.remote.port, c.pid])).toEqual([
      [4713, '157.240.252.61', 5222, undefined],
      [4718, '192.168.31.99', 53, undefined],
      [4719, '192.168.31.99', 53, undefined],
    ]);
  });
});
