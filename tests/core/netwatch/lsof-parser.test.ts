import { describe, expect, it } from 'vitest';
import { parseLsofFields, parseLsofName, parseLsofTable } from '../../../src/core/netwatch/lsof-parser.js';
import { parsePsPidComm } from '../../../src/core/netwatch/ps-parser.js';
import { fixture } from './fixtures.js';

const brief = (cs: ReturnType<typeof parseLsofFields>['connections']) =>
  cs.map((c) => `${c.pid} ${c.processName ?? ''} ${c.protocol}${c.family} ${c.local.address}:${c.local.port}>${c.remote.address}:${c.remote.port} ${c.state}`);

describe('lsof field output (-F)', () => {
  it('parses the recording from Linux (lsof 4.95)', () => {
    const { connections, problems } = parseLsofFields(fixture('linux/lsof-F.txt'));
    expect(problems).toEqual([]);
    expect(brief(connections)).toEqual([
      '14073 node tcp4 127.0.0.57:40157>0.0.0.0:0 LISTEN',
      '14073 node tcp6 ::1:40106>:::0 LISTEN',
      '14073 node tcp4 127.0.0.1:40101>0.0.0.0:0 LISTEN',
      '14073 node tcp4 127.0.0.1:47752>127.0.0.57:40157 ESTABLISHED',
      '14073 node tcp6 ::1:43940>::1:40106 ESTABLISHED',
      '14073 node tcp6 127.0.0.1:40580>127.0.0.1:40101 ESTABLISHED',
      '14073 node udp4 127.0.0.1:48172>127.0.0.57:40999 ESTABLISHED',
      '14073 node udp6 ::1:40998>:::0 BOUND',
      '14073 node tcp4 127.0.0.57:40157>127.0.0.1:47752 ESTABLISHED',
      '14073 node tcp6 ::1:40106>::1:43940 ESTABLISHED',
      '14073 node tcp4 127.0.0.1:40101>127.0.0.1:40580 ESTABLISHED',
    ]);
  });

  it('parses the macOS all-fields shape: extra fields ignored, KAME scope split off', () => {
    const { connections, problems } = parseLsofFields(fixture('macos/lsof-i-F-all-fields.txt'));
    expect(problems).toEqual([]);
    expect(brief(connections)).toEqual([
      '1190 Google Chrome Helper tcp4 192.168.1.4:61472>142.250.72.14:443 ESTABLISHED',
      '7324 3CX Desktop App tcp4 192.168.1.4:50112>203.0.113.7:443 ESTABLISHED',
      '7324 3CX Desktop App tcp6 2001:db8:10::4:50200>2001:db8:beef::7:443 SYN_SENT',
      '459 rapportd tcp4 0.0.0.0:49224>0.0.0.0:0 LISTEN',
      '459 rapportd tcp6 :::49224>:::0 LISTEN',
      '459 rapportd tcp6 fe80::1c18:b13a:3f78:eff5:60024>fe80::1488:95ef:9ff3:ef56:49713 ESTABLISHED',
      '380 netbiosd udp4 0.0.0.0:137>0.0.0.0:0 BOUND',
      '380 netbiosd udp4 0.0.0.0:0>0.0.0.0:0 BOUND',
    ]);
    expect(connections[5]!.local.scope).toBe('11');
  });

  it('accepts NUL-terminated fields (-F0)', () => {
    const text = 'p42\0cweird name\0\nf7\0tIPv4\0PTCP\0n10.0.0.1:5000->198.51.100.20:443\0TST=ESTABLISHED\0\n';
    expect(brief(parseLsofFields(text).connections)).toEqual(['42 weird name tcp4 10.0.0.1:5000>198.51.100.20:443 ESTABLISHED']);
  });

  it('skips malformed files: truncated names, host names, unknown protocols, bad pids', () => {
    const { connections, problems } = parseLsofFields(fixture('macos/lsof-F-malformed.txt'));
    expect(brief(connections)).toEqual(['7324 3CX Desktop App tcp4 192.168.1.4:50112>203.0.113.7:443 ESTABLISHED', '99  udp4 10.0.0.1:5353>198.51.100.20:53 ESTABLISHED']);
    expect(problems).toEqual([expect.objectContaining({ code: 'parse', count: 5 })]);
  });

  it('parses names', () => {
    expect(parseLsofName('*:*', 6)).toEqual({ local: { address: '::', port: 0 }, remote: { address: '::', port: 0 } });
    expect(parseLsofName('10.0.0.1:https->1.2.3.4:443', 4)).toBeNull();
    expect(parseLsofName('10.0.0.1:1->', 4)).toBeNull();
  });
});

describe('lsof table output (-nP -i)', () => {
  it('parses the recording from Linux', () => {
    const { connections, problems } = parseLsofTable(fixture('linux/lsof-nP-i.txt'));
    expect(problems).toEqual([]);
    expect(brief(connections)).toEqual(brief(parseLsofFields(fixture('linux/lsof-F.txt')).connections));
  });

  it('parses the macOS shape: escaped names, CLOSED, UDP without state, KAME scopes', () => {
    const { connections, problems } = parseLsofTable(fixture('macos/lsof-nP-i.txt'));
    expect(problems).toEqual([]);
    expect(brief(connections)).toEqual([
      '1 launchd tcp6 :::22>:::0 LISTEN',
      '140 logd tcp6 fe80::aede:48ff:fe00:1122:49165>fe80::aede:48ff:fe33:4455:50274 ESTABLISHED',
      '459 rapportd tcp4 0.0.0.0:49224>0.0.0.0:0 LISTEN',
      '631 Google  tcp4 127.0.0.1:50763>127.0.0.1:49389 CLOSE',
      '7324 3CX Des tcp4 192.168.1.4:50112>203.0.113.7:443 ESTABLISHED',
      '7324 3CX Des tcp6 2001:db8:10::4:50200>2001:db8:beef::7:443 SYN_SENT',
      '380 netbiosd udp4 0.0.0.0:137>0.0.0.0:0 BOUND',
      '436 identitys udp4 0.0.0.0:0>0.0.0.0:0 BOUND',
      '201 mDNSRespo udp6 fe80::1:5353>ff02::fb:5353 ESTABLISHED',
    ]);
  });

  it('skips truncated lines', () => {
    const text = [
      'COMMAND     PID USER   FD   TYPE             DEVICE SIZE/OFF NODE NAME',
      'node       1200 me    23u  IPv4 0x1      0t0  TCP 192.168.1.4:52012->140.82.112.25:443 (ESTABLISHED)',
      'node       1200 me    24u  IPv4 0x2      0t0  TCP',
      'node       12x0 me    25u  IPv4 0x3      0t0  TCP 1.2.3.4:1->5.6.7.8:2 (ESTABLISHED)',
      'node       1200 me    26u  IPv4 0x4',
    ].join('\n');
    const { connections, problems } = parseLsofTable(text);
    expect(connections).toHaveLength(1);
    expect(problems[0]).toMatchObject({ code: 'parse', count: 3 });
  });
});

describe('lsof table output: real published macOS captures', () => {
  // Sources and commits in tests/fixtures/netwatch/README.md, "real captures (published)".
  it('miry/samples: lsof -nP -iTCP:3000 with two listeners on [::1] and their loopback peers', () => {
    const { connections, problems } = parseLsofTable(fixture('macos/published-miry-lsof-nP-iTCP3000.txt'));
    expect(problems).toEqual([]);
    expect(brief(connections)).toEqual([
      '84882 crystal-r tcp6 ::1:3000>:::0 LISTEN',
      '84882 crystal-r tcp6 ::1:3000>::1:61993 ESTABLISHED',
      '84884 nc tcp6 ::1:61993>::1:3000 ESTABLISHED',
      '84906 crystal-r tcp6 ::1:3000>:::0 LISTEN',
      '84906 crystal-r tcp6 ::1:3000>::1:61994 ESTABLISHED',
      '84908 nc tcp6 ::1:61994>::1:3000 ESTABLISHED',
    ]);
  });

  it('miry/samples: a KAME link-local listener [fe80:1::1] (scope embedded in the address) next to ::1 and 127.0.0.1', () => {
    const { connections, problems } = parseLsofTable(fixture('macos/published-miry-lsof-nP-iTCP3000-grep-listen.txt'));
    expect(problems).toEqual([]);
    expect(brief(connections)).toEqual([
      '77323 crystal-r tcp6 ::1:3000>:::0 LISTEN',
      '77665 crystal-r tcp6 fe80::1:3000>:::0 LISTEN',
      '77911 crystal-r tcp4 127.0.0.1:3000>0.0.0.0:0 LISTEN',
    ]);
    expect(connections[1]!.local).toEqual({ address: 'fe80::1', port: 3000, scope: '1' });
  });

  it('tekumara/notes: COMMAND cut to 9 characters after escaping ("Code\\x20H"), a wildcard IPv6 listener', () => {
    const { connections, problems } = parseLsofTable(fixture('macos/published-tekumara-lsof-i-P-n-grep-listen.txt'));
    expect(problems).toEqual([]);
    expect(brief(connections)).toEqual([
      '2866 Code H tcp4 127.0.0.1:6333>0.0.0.0:0 LISTEN',
      '40002 com.docke tcp6 :::6333>:::0 LISTEN',
    ]);
  });
});

describe('ps -o pid=,comm=', () => {
  it('maps pids to executable paths with spaces, skipping junk', () => {
    const { commands, problems } = parsePsPidComm(fixture('macos/ps-pid-comm.txt'));
    expect(commands.get(7324)).toBe('/Applications/3CX Desktop App.app/Contents/MacOS/3CX Desktop App');
    expect(commands.get(459)).toBe('/usr/libexec/rapportd');
    expect(problems).toEqual([expect.objectContaining({ code: 'parse', count: 1 })]);
  });
});
