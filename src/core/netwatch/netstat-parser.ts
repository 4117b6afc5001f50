/**
 * Parser for Windows `netstat -nao`.
 *
 * Modelled on real output of Windows 10/11 and Server 2016-2022 (en-US; zh-CN, whose
 * header is translated but whose rows are not; de-DE, whose TCP states are translated:
 * ABHÖREN, HERGESTELLT, WARTEND, SCHLIESSEN_WARTEN, SYN_GESENDET, as systeminformation's
 * lib/network.js also maps them). Samples are in tests/fixtures/netwatch/windows/.
 *
 * Checked against real captures published by others (tests/fixtures/netwatch/README.md,
 * "real captures (published)"): jc's Windows 10 `netstat -aon` (CRLF; IPv6 UDP rows whose
 * foreign address is `*:*`; link-local rows with `%9`/`%64` zones wider than the column)
 * and `netstat -aonb` (TIME_WAIT with PID 0, CLOSE_WAIT, outside peers; the -b lines
 * under each row start with neither TCP nor UDP and are skipped). Both parse without a
 * problem and needed no change.
 *
 *   Proto  Local Address          Foreign Address        State           PID
 *   TCP    192.168.1.5:54321      142.250.72.14:443      ESTABLISHED     8812
 *   TCP    [fe80::1%5]:49670      [fe80::2%5]:445        ESTABLISHED     4
 *   UDP    0.0.0.0:5353           *:*                                    3220
 *
 * Only rows are parsed; headers in any language are skipped because they do not start
 * with TCP/UDP. netstat writes in the console's OEM code page; decoded as UTF-8, "Ö" in
 * ABHÖREN becomes U+FFFD, so translated states are matched on their ASCII prefix. A row
 * whose state is not recognised keeps it in `stateRaw` (matching never depends on it).
 * TIME_WAIT rows carry PID 0: the socket no longer belongs to a process.
 */
import { splitHostPort, type Connection, type Endpoint, type SourceProblem } from './connection.js';
import { canonicalIp } from './ip-address.js';
import { stateFromName } from './state-names.js';

/** "0.0.0.0:135", "[::]:0", "[fe80::1%5]:49670", "*:*" -> endpoint; null when malformed. */
export function parseNetstatEndpoint(text: string, family: 4 | 6): Endpoint | null {
  if (text === '*:*') return { address: family === 6 ? '::' : '0.0.0.0', port: 0 };
  const hp = splitHostPort(text);
  if (!hp) return null;
  const port = hp.port === '*' ? 0 : Number(hp.port);
  if (!/^\d{1,5}$/.test(hp.port) && hp.port !== '*') return null;
  if (port > 65535) return null;
  const ip = canonicalIp(hp.host);
  if (!ip) return null;
  const ep: Endpoint = { address: ip.address, port };
  if (ip.scope !== undefined) ep.scope = ip.scope;
  return ep;
}

export function parseNetstatNao(text: string): { connections: Connection[]; problems: SourceProblem[] } {
  const connections: Connection[] = [];
  let bad = 0;
  let firstBad = '';
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const t = lines[i]!.trim();
    const f = t.split(/\s+/);
    const proto = f[0]?.toUpperCase();
    if (proto !== 'TCP' && proto !== 'UDP') continue;
    const fail = () => {
      if (bad++ === 0) firstBad = `line ${i + 1}: ${t.slice(0, 100)}`;
    };
    const isTcp = proto === 'TCP';
    // TCP: proto local foreign state pid; UDP: proto local foreign pid.
    if (f.length < (isTcp ? 5 : 4)) {
      fail();
      continue;
    }
    const pidText = f[f.length - 1]!;
    if (!/^\d+$/.test(pidText)) {
      fail();
      continue;
    }
    const family: 4 | 6 = f[1]!.startsWith('[') ? 6 : 4;
    const local = parseNetstatEndpoint(f[1]!, family);
    const remote = parseNetstatEndpoint(f[2]!, family);
    if (!local || !remote) {
      fail();
      continue;
    }
    const c: Connection = { protocol: isTcp ? 'tcp' : 'udp', family, local, remote, state: 'BOUND' };
    if (isTcp) {
      const raw = f.slice(3, -1).join(' ');
      const state = stateFromName(raw);
      c.state = state ?? 'UNKNOWN';
      if (!state) c.stateRaw = raw;
    } else if (f.length !== 4) {
      fail();
      continue;
    }
    const pid = Number(pidText);
    if (pid > 0) c.pid = pid;
    connections.push(c);
  }
  const problems: SourceProblem[] = bad > 0 ? [{ code: 'parse', message: `netstat -nao: skipped ${bad} malformed row(s), first at ${firstBad}`, count: bad }] : [];
  return { connections, problems };
}
