/**
 * IP addresses in one canonical form, so that an address read from /proc/net/tcp6, from
 * `netstat -nao`, from `lsof` and from a DNS answer compare equal as strings:
 * - IPv4 in dotted decimal;
 * - IPv6 in RFC 5952 form (lowercase, longest run of zero groups compressed);
 * - IPv4-mapped IPv6 (::ffff:1.2.3.4, as a dual-stack socket shows an IPv4 peer) as IPv4;
 * - the zone ("%5", "%en0") split off into `scope`; macOS/KAME link-local addresses that
 *   carry the interface index in their second group (fe80:4::1, as `lsof` prints them)
 *   are cleared of it, with the index moved to `scope`.
 */
import { isIPv4 } from 'node:net';

export interface CanonicalIp {
  address: string;
  family: 4 | 6;
  /** Zone or interface index of a link-local address, when the source gave one. */
  scope?: string;
}

function formatIPv4(b: Uint8Array, offset = 0): string {
  return `${b[offset]}.${b[offset + 1]}.${b[offset + 2]}.${b[offset + 3]}`;
}

/** RFC 5952 text of 16 bytes; IPv4-mapped addresses become dotted IPv4. */
export function formatIpBytes(b: Uint8Array): CanonicalIp {
  if (b.length === 4) return { address: formatIPv4(b), family: 4 };
  if (b.length !== 16) throw new RangeError(`an IP address has 4 or 16 bytes, not ${b.length}`);
  const mapped = b.subarray(0, 10).every((x) => x === 0) && b[10] === 0xff && b[11] === 0xff;
  if (mapped) return { address: formatIPv4(b, 12), family: 4 };
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((b[i]! << 8) | b[i + 1]!);
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestLen < 2) return { address: hex.join(':'), family: 6 };
  const head = hex.slice(0, bestStart).join(':');
  const tail = hex.slice(bestStart + bestLen).join(':');
  return { address: `${head}::${tail}`, family: 6 };
}

function parseIPv4Bytes(s: string): number[] | null {
  if (!isIPv4(s)) return null;
  return s.split('.').map(Number);
}

/** Parses IPv6 text (no brackets, no zone) to 16 bytes, or null. */
export function parseIPv6Bytes(text: string): Uint8Array | null {
  let s = text;
  let tail: number[] = [];
  const lastColon = s.lastIndexOf(':');
  if (lastColon >= 0 && s.indexOf('.', lastColon) > 0) {
    const v4 = parseIPv4Bytes(s.slice(lastColon + 1));
    if (!v4) return null;
    tail = v4;
    s = s.slice(0, lastColon + 1) + '0:0'; // placeholder groups, replaced below
  }
  const halves = s.split('::');
  if (halves.length > 2) return null;
  const parse = (part: string): number[] | null => {
    if (part === '') return [];
    const out: number[] = [];
    for (const g of part.split(':')) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return null;
      out.push(parseInt(g, 16));
    }
    return out;
  };
  const left = parse(halves[0]!);
  const right = halves.length === 2 ? parse(halves[1]!) : [];
  if (!left || !right) return null;
  let groups: number[];
  if (halves.length === 2) {
    const missing = 8 - left.length - right.length;
    if (missing < 1) return null;
    groups = [...left, ...new Array<number>(missing).fill(0), ...right];
  } else {
    groups = left;
  }
  if (groups.length !== 8) return null;
  const bytes = new Uint8Array(16);
  groups.forEach((g, i) => {
    bytes[i * 2] = g >> 8;
    bytes[i * 2 + 1] = g & 0xff;
  });
  if (tail.length === 4) bytes.set(tail, 12);
  return bytes;
}

/**
 * Canonical form of an address as a tool printed it ("[fe80::1%5]", "::ffff:10.0.0.1",
 * "fe80:4::aede:48ff:fe00:1122", "127.0.0.1"), or null when it is not an IP address
 * (a host name, "*", garbage).
 */
export function canonicalIp(input: string): CanonicalIp | null {
  let s = input.trim();
  if (s.startsWith('[') && s.endsWith(']')) s = s.slice(1, -1);
  let scope: string | undefined;
  const pct = s.indexOf('%');
  if (pct >= 0) {
    scope = s.slice(pct + 1);
    s = s.slice(0, pct);
    if (scope === '' || /\s/.test(scope)) return null;
  }
  if (isIPv4(s)) return scope === undefined ? { address: s, family: 4 } : null;
  const bytes = parseIPv6Bytes(s);
  if (!bytes) return null;
  // KAME: fe80:IDX::... carries the interface index in the second group.
  if (bytes[0] === 0xfe && (bytes[1]! & 0xc0) === 0x80 && (bytes[2] !== 0 || bytes[3] !== 0)) {
    const idx = (bytes[2]! << 8) | bytes[3]!;
    bytes[2] = 0;
    bytes[3] = 0;
    scope ??= String(idx);
  }
  const c = formatIpBytes(bytes);
  return scope === undefined || c.family === 4 ? c : { ...c, scope };
}

export function isUnspecified(address: string): boolean {
  return address === '0.0.0.0' || address === '::';
}

export function isLoopback(address: string): boolean {
  return address === '::1' || address.startsWith('127.');
}

/**
 * Addresses a DNS answer can carry that say "blocked" rather than "here is the server":
 * 0.0.0.0, ::, and loopback. DNS filters and hosts-file blocks use them.
 */
export function isSinkholeAddress(address: string): boolean {
  return isUnspecified(address) || isLoopback(address);
}

/** Multicast and limited broadcast: never the address of one server. */
export function isMulticastOrBroadcast(address: string): boolean {
  if (address === '255.255.255.255') return true;
  const first = Number(address.split('.')[0]);
  if (address.includes('.') && !address.includes(':')) return first >= 224 && first <= 239;
  const group = address.toLowerCase().split(':')[0]!;
  return group.length === 4 && group.startsWith('ff');
}
