/**
 * Normalising indicator values from feeds into the forms the pack format accepts: refanged
 * ("example[.]com", "hxxp://"), lowercase hex hashes of the right length, lowercase DNS
 * names, absolute URLs, single IP addresses. Each function returns the value or a reason it
 * cannot be one, so the caller decides whether that is an error or an unmapped entry.
 */
import { isIP } from 'node:net';
import { NetworkIndicatorsSchema } from '../schema.js';

export type Checked = { ok: true; value: string } | { ok: false; reason: string };

/** Undoes the usual defanging and drops invisible characters vendors paste along (U+200E in the Sophos 3CX list). */
export function refang(raw: string): string {
  return raw
    .replace(/[\u200b-\u200f\u2060\ufeff]/g, '')
    .trim()
    .replace(/\[\.\]|\(\.\)|\{\.\}|\[dot\]|\(dot\)/gi, '.')
    .replace(/\[:\/\/\]/g, '://')
    .replace(/\[:\]/g, ':')
    .replace(/\[@\]|\[at\]/gi, '@')
    .replace(/^hxxp(s?):\/\//i, 'http$1://')
    .replace(/^fxp:\/\//i, 'ftp://');
}

export type HashAlgorithm = 'sha256' | 'sha1' | 'md5';
const HASH_LENGTH: Record<HashAlgorithm, number> = { sha256: 64, sha1: 40, md5: 32 };
const HASH_NAME: Record<HashAlgorithm, string> = { sha256: 'SHA-256', sha1: 'SHA-1', md5: 'MD5' };

/**
 * STIX hash-algorithm-ov names (and the spellings feeds use: "sha256", "SHA_256", "md5").
 * `unsupported` ones are real algorithms a pack cannot match on.
 */
export function hashAlgorithm(name: string): { algorithm: HashAlgorithm } | { unsupported: string } | undefined {
  const n = name.toUpperCase().replace(/[_\s]/g, '-');
  if (n === 'SHA-256' || n === 'SHA256') return { algorithm: 'sha256' };
  if (n === 'SHA-1' || n === 'SHA1') return { algorithm: 'sha1' };
  if (n === 'MD5') return { algorithm: 'md5' };
  if (['SHA-512', 'SHA512', 'SHA3-256', 'SHA3-512', 'SSDEEP', 'TLSH', 'SHA-384', 'SHA384', 'SHA-224', 'SHA3-224', 'SHA3-384', 'IMPHASH', 'AUTHENTIHASH'].includes(n)) {
    return { unsupported: name };
  }
  return undefined;
}

export function checkHash(algorithm: HashAlgorithm, raw: string): Checked {
  const v = raw.trim().toLowerCase();
  const want = HASH_LENGTH[algorithm];
  if (!/^[0-9a-f]*$/.test(v)) return { ok: false, reason: `${JSON.stringify(raw)} is not hexadecimal` };
  if (v.length !== want) return { ok: false, reason: `${HASH_NAME[algorithm]} must be ${want} hex digits, got ${v.length}` };
  return { ok: true, value: v };
}

const DomainValue = NetworkIndicatorsSchema.shape.domains.unwrap().element.shape.domain;
const UrlValue = NetworkIndicatorsSchema.shape.urls.unwrap().element.shape.url;

export function checkDomain(raw: string): Checked {
  const v = refang(raw).toLowerCase().replace(/\.$/, '');
  if (isIP(v)) return { ok: false, reason: 'an IP address, not a domain name' };
  return DomainValue.safeParse(v).success ? { ok: true, value: v } : { ok: false, reason: `${JSON.stringify(raw)} is not a DNS name` };
}

export function checkIp(raw: string): Checked {
  const v = refang(raw).toLowerCase();
  const slash = /^(.*)\/(\d{1,3})$/.exec(v);
  if (slash) {
    const [, addr, bits] = slash as unknown as [string, string, string];
    const full = isIP(addr) === 4 ? 32 : isIP(addr) === 6 ? 128 : -1;
    if (full === Number(bits)) return { ok: true, value: addr };
    return { ok: false, reason: `${raw} is an address range: a pack names single addresses an advisory attributes to the attacker` };
  }
  return isIP(v) ? { ok: true, value: v } : { ok: false, reason: `${JSON.stringify(raw)} is not an IP address` };
}

/**
 * A URL as the pack stores it. Vendor lists often omit the scheme
 * ("raw.githubusercontent.com/IconStorages/images/main/"); URL indicators are matched by
 * host and path, never by scheme, so https:// is supplied.
 */
export function checkUrl(raw: string): Checked {
  let v = refang(raw);
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(v)) v = `https://${v}`;
  let u: URL;
  try {
    u = new URL(v);
  } catch {
    return { ok: false, reason: `${JSON.stringify(raw)} is not a URL` };
  }
  if (!u.hostname) return { ok: false, reason: `${JSON.stringify(raw)} has no host` };
  const out = u.toString();
  return UrlValue.safeParse(out).success ? { ok: true, value: out } : { ok: false, reason: `${JSON.stringify(raw)} is not a URL` };
}

/** A bare host ("akamaicontainer[.]com", no scheme, no path) in a URL column is a domain. */
export function isBareHost(raw: string): boolean {
  const v = refang(raw);
  return !/[/:?#@]/.test(v.replace(/:\d+$/, ''));
}

/** File names vendors write in notes ("WIN: MSI 3cxdesktopapp-18.12.407.msi"). */
export function fileNameIn(text: string): string | undefined {
  const m = /(?:^|[\s"'(:/\\])([\w][\w.+-]*?\.(?:exe|dll|msi|dmg|pkg|dylib|so|zip|nupkg|7z|rar|ico|js|ps1|bat|cmd|vbs|lnk|jar|sys|scr|app|bin|elf|sh|py|doc|docx|xls|xlsx|pdf|iso|img))\b/i.exec(refang(text));
  return m?.[1]?.trim();
}
