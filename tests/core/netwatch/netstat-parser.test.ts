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
