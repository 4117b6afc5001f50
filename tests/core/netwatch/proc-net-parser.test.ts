import { describe, expect, it } from 'vitest';
import { decodeProcAddress, parseProcNet, PROC_NET_FILES } from '../../../src/core/netwatch/proc-net-parser.js';
import { fixture } from './fixtures.js';

const LE = { littleEndian: true };

describe('parseProcNet on /proc/net files recorded on Linux 6.18', () => {
  it('reads tcp: listeners, an established pair, and the TIME_WAIT left by a brief connection', () => {
    const { connections, problems } = parseProcNet(fixture('linux/proc-net-tcp.txt'), { ...PROC_NET_FILES.tcp, ...LE });
    expect(problems).toEqual([]);
    expect(connections).toHaveLength(7);
    expect(connections[0]).toMatchObject({ protocol: 'tcp', family: 4, local: { address: '127.0.0.57', port: 40157 }, remote: { address: '0.0.0.0', port: 0 }, state: 'LISTEN', inode: 24767, uid: 0 });
    expect(connections[3]).toMatchObject({ local: { address: '127.0.0.1', port: 47752 }, remote: { address: '127.0.0.57', port: 40157 }, state: 'ESTABLISHED', inode: 24770 });
    // The brief connection: closed by the client, so the client side lingers in TIME_WAIT without an owner.
    expect(connections[4]).toMatchObject({ local: { port: 47756 }, remote: { address: '127.0.0.57', port: 40157 }, state: 'TIME_WAIT', inode: 0 });
  });

  it('reads tcp6, including an IPv4 peer of a dual-stack socket as IPv4', () => {
    const { connections, problems } = parseProcNet(fixture('linux/proc-net-tcp6.txt'), { ...PROC_NET_FILES.tcp6, ...LE });
    expect(problems).toEqual([]);
    expect(connections.map((c) => `${c.local.address}:${c.local.port}>${c.remote.address}:${c.remote.port} ${c.state}`)).toEqual([
      '::1:40106>:::0 LISTEN',
      '::1:40106>::1:43940 ESTABLISHED',
      '127.0.0.1:40580>127.0.0.1:40101 ESTABLISHED',
      '::1:43940>::1:40106 ESTABLISHED',
    ]);
    expect(connections.every((c) => c.family === 6)).toBe(true);
  });

  it('reads udp and udp6: connected is ESTABLISHED, unconnected is BOUND', () => {
    const udp = parseProcNet(fixture('linux/proc-net-udp.txt'), { ...PROC_NET_FILES.udp, ...LE });
    expect(udp.connections).toEqual([expect.objectContaining({ protocol: 'udp', remote: { address: '127.0.0.57', port: 40999 }, state: 'ESTABLISHED', inode: 24774 })]);
    const udp6 = parseProcNet(fixture('linux/proc-net-udp6.txt'), { ...PROC_NET_FILES.udp6, ...LE });
    expect(udp6.connections).toEqual([expect.objectContaining({ local: { address: '::1', port: 40998 }, state: 'BOUND' })]);
  });

  it('decodes addresses in either byte order', () => {
    expect(decodeProcAddress('0100007F:0050', 4, true)).toEqual({ address: '127.0.0.1', port: 80 });
    expect(decodeProcAddress('7F000001:0050', 4, false)).toEqual({ address: '127.0.0.1', port: 80 });
    expect(decodeProcAddress('00000000000000000000000001000000:01BB', 6, true)).toEqual({ address: '::1', port: 443 });
    expect(decodeProcAddress('00000000000000000000000000000001:01BB', 6, false)).toEqual({ address: '::1', port: 443 });
    expect(decodeProcAddress('B80D0120000000000000000001000000:0016', 6, true)).toEqual({ address: '2001:db8::1', port: 22 });
  });

  it('skips malformed lines, counts them, and keeps the good ones', () => {
    const good = '   3: 0100007F:BA88 3900007F:9CDD 01 00000000:00000000 00:00000000 00000000     0        0 24770 2 000000006852b98d 20 0 0 10 -1';
    const text = [
      '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
      good,
      '   4: 0100007F:BA8C 3900007F:9CDD 06 00000000:00000000', // truncated
      '   5: 0100007G:BA8C 3900007F:9CDD 01 00000000:00000000 00:00000000 00000000 0 0 1 1', // bad hex
      '   6: 0100007F:BA8C 3900007F 01 00000000:00000000 00:00000000 00000000 0 0 1 1', // no port
      '   7: 0100007F:BA8C 3900007F:9CDD XX 00000000:00000000 00:00000000 00000000 0 0 1 1', // bad state
      '   8: 00000000000000000000000001000000:9CAA 3900007F:9CDD 01 00000000:00000000 00:00000000 00000000 0 0 1 1', // v6 in v4 file
      '   9: 0100007F:BA88 3900007F:9CDD 01 00000000:00000000 00:00000000 00000000  -1 0 2 1', // negative uid
      'garbage',
      '',
    ].join('\n');
    const r = parseProcNet(text, { ...PROC_NET_FILES.tcp, ...LE, source: 'fixture/tcp' });
    expect(r.connections).toHaveLength(1);
    expect(r.problems).toEqual([{ code: 'parse', message: expect.stringMatching(/^fixture\/tcp: skipped 7 malformed line\(s\), first at line 3:/), count: 7 }]);
  });

  it('keeps an unknown state code as UNKNOWN with the raw code', () => {
    const r = parseProcNet('   0: 0100007F:0001 0100007F:0002 1F 00000000:00000000 00:00000000 00000000 0 0 5 1', { ...PROC_NET_FILES.tcp, ...LE });
    expect(r.connections[0]).toMatchObject({ state: 'UNKNOWN', stateRaw: '1F' });
  });
});
