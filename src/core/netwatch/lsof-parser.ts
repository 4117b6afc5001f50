/**
 * Parsers for `lsof -nP -i` (macOS; also Linux).
 *
 * Field output (`lsof -nP -i -FpcftPnT`, the one the live source uses) was built from
 * lsof 4.95 on Linux 6.18 (recorded in tests/fixtures/netwatch/linux/lsof-F.txt) and the
 * macOS shape (lsof 4.91, macOS 12-14: extra process fields g/R/u/L, file fields a/l/G/d/o,
 * TQR/TQS lines, KAME link-local addresses "fe80:8::..."), fixture in
 * tests/fixtures/netwatch/macos/. Each line is one field: a letter, then the value; "p"
 * starts a process, "f" a file; -F0 terminates fields with NUL instead of newline.
 *
 *   p14073        pid              f22            file descriptor
 *   cnode         command          tIPv4          type
 *                                  PTCP           protocol
 *                                  n127.0.0.1:47752->127.0.0.57:40157
 *                                  TST=ESTABLISHED
 *
 * Table output (`lsof -nP -i`) is parsed too (recorded Linux table, and the macOS tables
 * of the same fixture folder); command names there are cut to 9 characters and escape
 * spaces as \x20, so the field form is preferred.
 *
 * Real macOS tables published by others parse as expected (tests/fixtures/netwatch/README.md,
 * "real captures (published)"): miry/samples' `lsof -nP -iTCP:3000` (a KAME link-local
 * listener `[fe80:1::1]:3000`, IPv6 loopback pairs) and tekumara/notes' `Code\x20H` row.
 * No citable real macOS `-F` capture was found; the field fixture stays modelled.
 */
import { splitHostPort, type Connection, type Endpoint, type Protocol, type SourceProblem } from './connection.js';
import { canonicalIp } from './ip-address.js';
import { stateFromName } from './state-names.js';

/** "127.0.0.1:80", "[::1]:631", "*:5353", "*:*" -> endpoint (family decides what "*" means). */
export function parseLsofEndpoint(text: string, family: 4 | 6): Endpoint | null {
  const hp = splitHostPort(text);
  if (!hp) return null;
  let port: number;
  if (hp.port === '*') port = 0;
  else if (/^\d{1,5}$/.test(hp.port) && Number(hp.port) <= 65535) port = Number(hp.port);
  else return null; // a service name: lsof was run without -P
  if (hp.host === '*') return { address: family === 6 ? '::' : '0.0.0.0', port };
  const ip = canonicalIp(hp.host);
  if (!ip) return null; // a host name: lsof was run without -n
  const ep: Endpoint = { address: ip.address, port };
  if (ip.scope !== undefined) ep.scope = ip.scope;
  return ep;
}

/** The NAME of an internet file: "local", or "local->remote". */
export function parseLsofName(name: string, family: 4 | 6): { local: Endpoint; remote: Endpoint } | null {
  const arrow = name.indexOf('->');
  const local = parseLsofEndpoint(arrow < 0 ? name : name.slice(0, arrow), family);
  if (!local) return null;
  if (arrow < 0) return { local, remote: { address: family === 6 ? '::' : '0.0.0.0', port: 0 } };
  const remote = parseLsofEndpoint(name.slice(arrow + 2), family);
  return remote ? { local, remote } : null;
}

function build(
  protocol: Protocol,
  family: 4 | 6,
  ends: { local: Endpoint; remote: Endpoint },
  stateRaw: string | undefined,
  pid: number,
  command: string | undefined,
): Connection {
  const c: Connection = { protocol, family, local: ends.local, remote: ends.remote, state: 'UNKNOWN', pid };
  if (stateRaw !== undefined) {
    const s = stateFromName(stateRaw);
    if (s) c.state = s;
    else c.stateRaw = stateRaw;
  } else if (protocol === 'udp') {
    c.state = ends.remote.port === 0 ? 'BOUND' : 'ESTABLISHED';
  }
  if (command) c.processName = command;
  return c;
}

interface Tally {
  bad: number;
  first: string;
}
function problem(what: string, t: Tally): SourceProblem[] {
  return t.bad > 0 ? [{ code: 'parse', message: `${what}: skipped ${t.bad} malformed record(s), first: ${t.first}`, count: t.bad }] : [];
}

/** Parses `lsof -F` output with at least the p, c, f, t, P, n and T fields. */
export function parseLsofFields(text: string): { connections: Connection[]; problems: SourceProblem[] } {
  const connections: Connection[] = [];
  const tally: Tally = { bad: 0, first: '' };
  let pid: number | undefined;
  let command: string | undefined;
  let file: { fd: string; type?: string; proto?: string; name?: string; state?: string } | undefined;
  const flush = () => {
    if (!file) return;
    const f = file;
    file = undefined;
    const proto = f.proto?.toUpperCase();
    if (proto !== 'TCP' && proto !== 'UDP') {
      if (f.name !== undefined || f.proto !== undefined) {
        if (tally.bad++ === 0) tally.first = `fd ${f.fd}: protocol ${f.proto ?? 'missing'}`;
      }
      return;
    }
    const family: 4 | 6 = f.type === 'IPv6' ? 6 : 4;
    const ends = f.name !== undefined ? parseLsofName(f.name, family) : null;
    if (!ends || pid === undefined) {
      if (tally.bad++ === 0) tally.first = `fd ${f.fd}: ${pid === undefined ? 'no process' : `name ${JSON.stringify(f.name ?? '')}`}`;
      return;
    }
    connections.push(build(proto === 'TCP' ? 'tcp' : 'udp', family, ends, f.state, pid, command));
  };
  for (const raw of text.split(/\0\n?|\n/)) {
    const line = raw.replace(/\r$/, '');
    if (line === '') continue;
    const tag = line[0];
    const value = line.slice(1);
    switch (tag) {
      case 'p':
        flush();
        pid = /^\d+$/.test(value) ? Number(value) : undefined;
        command = undefined;
        if (pid === undefined && tally.bad++ === 0) tally.first = `process ${JSON.stringify(value)}`;
        break;
      case 'c':
        command = value;
        break;
      case 'f':
        flush();
        file = { fd: value };
        break;
      case 't':
        if (file) file.type = value;
        break;
      case 'P':
        if (file) file.proto = value;
        break;
      case 'n':
        if (file) file.name = value;
        break;
      case 'T':
        if (file && value.startsWith('ST=')) file.state = value.slice(3);
        break;
      default:
        // g R u L a l G d o k s i D F C ... : fields this parser does not need.
        break;
    }
  }
  flush();
  return { connections, problems: problem('lsof -F', tally) };
}

/** lsof escapes unprintable and space characters in COMMAND as \xNN. */
function unescapeLsof(s: string): string {
  return s.replace(/\\x([0-9a-fA-F]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
}

/** Parses the table `lsof -nP -i` prints (COMMAND PID USER FD TYPE DEVICE SIZE/OFF NODE NAME). */
export function parseLsofTable(text: string): { connections: Connection[]; problems: SourceProblem[] } {
  const connections: Connection[] = [];
  const tally: Tally = { bad: 0, first: '' };
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const t = lines[i]!.trim();
    if (t === '' || t.startsWith('COMMAND ')) continue;
    const f = t.split(/\s+/);
    const fail = () => {
      if (tally.bad++ === 0) tally.first = `line ${i + 1}: ${t.slice(0, 100)}`;
    };
    // NODE is TCP or UDP for internet files; NAME follows it, then "(STATE)" for TCP.
    const nodeAt = f.findIndex((x, k) => k >= 4 && (x === 'TCP' || x === 'UDP'));
    const typeAt = f.findIndex((x, k) => k >= 3 && (x === 'IPv4' || x === 'IPv6'));
    const name = nodeAt > 0 ? f[nodeAt + 1] : undefined;
    if (nodeAt < 0 || typeAt < 0 || name === undefined || !/^\d+$/.test(f[1] ?? '')) {
      fail();
      continue;
    }
    const family: 4 | 6 = f[typeAt] === 'IPv6' ? 6 : 4;
    const ends = parseLsofName(name, family);
    if (!ends) {
      fail();
      continue;
    }
    const stateTok = f[nodeAt + 2];
    const stateRaw = stateTok && /^\(.+\)$/.test(stateTok) ? stateTok.slice(1, -1) : undefined;
    connections.push(build(f[nodeAt] === 'TCP' ? 'tcp' : 'udp', family, ends, stateRaw, Number(f[1]), unescapeLsof(f[0]!)));
  }
  return { connections, problems: problem('lsof table', tally) };
}
