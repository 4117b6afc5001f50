import { describe, expect, it } from 'vitest';
import { connectionKey } from '../../../src/core/netwatch/connection.js';
import { diffSnapshots, matchConnections } from '../../../src/core/netwatch/connection-matcher.js';
import { collectIndicators, IndicatorTable } from '../../../src/core/netwatch/indicator-table.js';
import { parseNetstatNao } from '../../../src/core/netwatch/netstat-parser.js';
import { parseProcNet, PROC_NET_FILES } from '../../../src/core/netwatch/proc-net-parser.js';
import { fixture } from './fixtures.js';
import { netPack } from './packs.js';

describe('matchConnections', () => {
  it('matches remote addresses only, in both directions, including TIME_WAIT, never listeners', () => {
    const set = collectIndicators([netPack({ domains: ['c2.example'] })]);
    const table = new IndicatorTable(set, [{ domain: 'c2.example', addresses: ['127.0.0.57'] }], { keepLoopback: true });
    const { connections } = parseProcNet(fixture('linux/proc-net-tcp.txt'), { ...PROC_NET_FILES.tcp, littleEndian: true });
    const m = matchConnections(connections, table);
    // The held client socket and the TIME_WAIT of the brief one; the listener on 127.0.0.57
    // and the server's accepted socket (local 127.0.0.57, remote 127.0.0.1) do not match.
    expect(m.map((x) => [x.connection.local.port, x.connection.state, x.direction, x.hits[0]!.indicator.value])).toEqual([
      [47752, 'ESTABLISHED', 'outbound', 'c2.example'],
      [47756, 'TIME_WAIT', 'outbound', 'c2.example'],
    ]);
  });

  it('tells inbound from outbound by the listening sockets of the same snapshot', () => {
    const table = new IndicatorTable(collectIndicators([netPack({ ips: ['::1', '203.0.113.7'] })]));
    const tcp6 = parseProcNet(fixture('linux/proc-net-tcp6.txt'), { ...PROC_NET_FILES.tcp6, littleEndian: true }).connections;
    expect(matchConnections(tcp6, table).map((x) => [x.connection.local.port, x.direction])).toEqual([
      [40106, 'inbound'],
      [43940, 'outbound'],
    ]);
    const win = parseNetstatNao(fixture('windows/netstat-nao-en-us.txt')).connections;
    const winTable = new IndicatorTable(collectIndicators([netPack({ ips: ['203.0.113.7'] })]));
    expect(matchConnections(win, winTable).map((x) => [x.connection.local.port, x.connection.pid, x.direction])).toEqual([
      [50112, 7324, 'outbound'],
      [50113, undefined, 'outbound'],
    ]);
  });

  it('matches nothing against an empty table', () => {
    const win = parseNetstatNao(fixture('windows/netstat-nao-en-us.txt')).connections;
    expect(matchConnections(win, new IndicatorTable(collectIndicators([])))).toEqual([]);
  });
});

describe('diffSnapshots', () => {
  it('reports connections that were not in the previous snapshot', () => {
    const a = parseNetstatNao(fixture('windows/netstat-nao-en-us.txt')).connections;
    const first = diffSnapshots(new Set(), a.slice(0, 5));
    expect(first.added).toHaveLength(5);
    const second = diffSnapshots(first.keys, a.slice(3, 8));
    expect(second.added.map(connectionKey)).toEqual(a.slice(5, 8).map(connectionKey));
  });
});
