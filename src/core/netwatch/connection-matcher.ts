/**
 * Pure decisions on connection snapshots: which connections talk to an indicator's
 * address, in which direction, and what changed since the previous snapshot.
 *
 * Only the remote address is matched (the local address of a listening test server, or
 * of this PC, is never evidence). Sockets without a peer (listening, unconnected UDP) are
 * skipped. TIME_WAIT sockets are matched: they are what is left of a brief connection
 * (up to 60 s on Linux, 30 s on macOS, 120-240 s on Windows) and carry the peer address,
 * but no owning process.
 */
import { connectionKey, type Connection } from './connection.js';
import type { AddressHit, IndicatorTable } from './indicator-table.js';
import { isUnspecified } from './ip-address.js';

export type Direction = 'outbound' | 'inbound' | 'unknown';

export interface ConnectionMatch {
  connection: Connection;
  hits: readonly AddressHit[];
  direction: Direction;
}

function listeningKey(address: string, port: number): string {
  return `${address}|${port}`;
}

/**
 * Outbound when the local port is not one this machine listens on; inbound when it is
 * (the peer connected to a local server). UDP has no listeners, so unknown.
 */
export function directionOf(c: Connection, listening: ReadonlySet<string>): Direction {
  if (c.protocol !== 'tcp') return 'unknown';
  const p = c.local.port;
  const wildcard = c.family === 6 ? '::' : '0.0.0.0';
  if (listening.has(listeningKey(c.local.address, p)) || listening.has(listeningKey(wildcard, p)) || listening.has(listeningKey('::', p))) {
    return 'inbound';
  }
  return 'outbound';
}

export function listeningSockets(connections: readonly Connection[]): Set<string> {
  const out = new Set<string>();
  for (const c of connections) if (c.protocol === 'tcp' && c.state === 'LISTEN') out.add(listeningKey(c.local.address, c.local.port));
  return out;
}

/** Whether a socket has a peer worth matching. */
export function hasPeer(c: Connection): boolean {
  return c.remote.port !== 0 && !isUnspecified(c.remote.address) && c.state !== 'LISTEN';
}

export function matchConnections(connections: readonly Connection[], table: IndicatorTable): ConnectionMatch[] {
  const matches: ConnectionMatch[] = [];
  let listening: Set<string> | undefined;
  for (const c of connections) {
    if (!hasPeer(c)) continue;
    const hits = table.lookupAddress(c.remote.address);
    if (hits.length === 0) continue;
    listening ??= listeningSockets(connections);
    matches.push({ connection: c, hits, direction: directionOf(c, listening) });
  }
  return matches;
}

/** Keys of this snapshot and which connections were not in the previous one. */
export function diffSnapshots(previous: ReadonlySet<string>, connections: readonly Connection[]): { keys: Set<string>; added: Connection[] } {
  const keys = new Set<string>();
  const added: Connection[] = [];
  for (const c of connections) {
    const k = connectionKey(c);
    keys.add(k);
    if (!previous.has(k)) added.push(c);
  }
  return { keys, added };
}
