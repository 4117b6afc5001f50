/**
 * The one record every connection source returns, whatever the OS and tool behind it,
 * and the interface the watcher polls. Addresses are canonical (see ip-address.ts).
 */
export type Protocol = 'tcp' | 'udp';

/** TCP states by their Linux names; `BOUND` is a UDP socket with no fixed peer. */
export type SocketState =
  | 'ESTABLISHED'
  | 'SYN_SENT'
  | 'SYN_RECV'
  | 'FIN_WAIT1'
  | 'FIN_WAIT2'
  | 'TIME_WAIT'
  | 'CLOSE'
  | 'CLOSE_WAIT'
  | 'LAST_ACK'
  | 'LISTEN'
  | 'CLOSING'
  | 'NEW_SYN_RECV'
  | 'BOUND'
  | 'UNKNOWN';

export interface Endpoint {
  /** Canonical IP; "0.0.0.0" or "::" when unbound or unconnected. */
  address: string;
  /** 0 when not bound or not connected. */
  port: number;
  /** Zone / interface of a link-local address, when the tool printed one. */
  scope?: string;
}

export interface Connection {
  protocol: Protocol;
  /** Socket family: a dual-stack (IPv6) socket talking to an IPv4 peer is family 6. */
  family: 4 | 6;
  local: Endpoint;
  remote: Endpoint;
  state: SocketState;
  /** The state as the tool printed it, kept when it was not recognised (e.g. localized). */
  stateRaw?: string;
  pid?: number;
  processName?: string;
  processPath?: string;
  /** Linux socket inode (0 for TIME_WAIT entries, which no process owns any more). */
  inode?: number;
  uid?: number;
}

/** Something a source could not do; reported, never thrown. */
export interface SourceProblem {
  code: 'parse' | 'permission' | 'vanished' | 'command' | 'io';
  message: string;
  /** How many times this problem occurred in the snapshot (e.g. malformed lines). */
  count?: number;
}

export interface ConnectionSnapshot {
  connections: Connection[];
  problems: SourceProblem[];
}

export interface SnapshotOptions {
  /**
   * `all`: fill in pid, name and path for every connection the source can (costs a walk
   * of the process table on Linux the first time); `none`: addresses and states only,
   * plus whatever the tool prints anyway. The watcher asks for `none` and attributes only
   * the connections that match an indicator.
   */
  attribute?: 'all' | 'none';
}

export interface ConnectionSource {
  /** Which implementation this is, for stats and docs ("procfs", "netstat -nao", "lsof"). */
  readonly name: string;
  snapshot(opts?: SnapshotOptions): Promise<ConnectionSnapshot>;
  /** Returns the connections with pid, process name and path filled in where possible. */
  attribute(connections: readonly Connection[]): Promise<ConnectionSnapshot>;
}

/** A parsed snapshot as is, or attributed when the caller asked for `all` (every source's last step). */
export async function withAttribution(source: Pick<ConnectionSource, 'attribute'>, parsed: ConnectionSnapshot, opts: SnapshotOptions): Promise<ConnectionSnapshot> {
  if (opts.attribute !== 'all') return parsed;
  const a = await source.attribute(parsed.connections);
  return { connections: a.connections, problems: mergeProblems([...parsed.problems, ...a.problems]) };
}

/** The distinct process ids the connections name (0 and unknown left out). */
export function distinctPids(connections: readonly Connection[]): number[] {
  return [...new Set(connections.map((c) => c.pid ?? 0).filter((p) => p > 0))];
}

/** Identifies one socket across snapshots (protocol and both endpoints). */
export function connectionKey(c: Connection): string {
  return `${c.protocol}|${c.local.address}|${c.local.port}|${c.remote.address}|${c.remote.port}`;
}

/** Adds up problems with the same code and message so a bad file reports once, with a count. */
export function mergeProblems(problems: readonly SourceProblem[]): SourceProblem[] {
  const byKey = new Map<string, SourceProblem>();
  for (const p of problems) {
    const key = `${p.code}\u0000${p.message}`;
    const seen = byKey.get(key);
    if (seen) seen.count = (seen.count ?? 1) + (p.count ?? 1);
    else byKey.set(key, { ...p });
  }
  return [...byKey.values()];
}

/** Splits "host:port" as netstat and lsof print it: "1.2.3.4:80", "[fe80::1%5]:445", "*:*". */
export function splitHostPort(text: string): { host: string; port: string } | null {
  if (text.startsWith('[')) {
    const close = text.indexOf(']:');
    if (close < 0) return null;
    return { host: text.slice(1, close), port: text.slice(close + 2) };
  }
  const colon = text.lastIndexOf(':');
  if (colon <= 0) return null;
  const host = text.slice(0, colon);
  // An unbracketed IPv6 address with a port would be ambiguous; tools bracket them.
  if (host.includes(':')) return null;
  return { host, port: text.slice(colon + 1) };
}
