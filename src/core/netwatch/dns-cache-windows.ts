/**
 * The Windows DNS client cache: every name this PC resolved recently (for its TTL, up to
 * a day), whichever process asked. A cached lookup of a C2 domain is evidence even when
 * the connection itself was too brief to see.
 *
 * Two readers, one record shape:
 * - `ipconfig /displaydns` (the default: a small native tool, no PowerShell). Modelled on
 *   Windows 10/11 and Server 2008-2019 output (en-US; the de-DE labels
 *   "Eintragsname . . . :" etc. in the same layout), fixtures in
 *   tests/fixtures/netwatch/windows/. Each entry is a header (the name looked up), a
 *   dashes line, then either record groups
 *       Record Name . . . . . : example.com
 *       Record Type . . . . . : 1
 *       Time To Live  . . . . : 299
 *       Data Length . . . . . : 4
 *       Section . . . . . . . : Answer
 *       A (Host) Record . . . : 93.184.216.34
 *   separated by blank lines, or one line saying the name does not exist / has no
 *   records of a type. Labels are localized, so fields are read by position (name, type,
 *   TTL, length, section, data), never by label; only the " : " separator is relied on.
 *   ipconfig writes in the OEM code page: localized labels may decode badly as UTF-8,
 *   which does not matter because they are not read; names and addresses are ASCII.
 *   Checked against real output posted in opendr-io/opendr issue #77 (en-US, two A
 *   records per entry; an entry header pasted with other indentation), fixtures
 *   windows/published-opendr-*.txt: parsed as is, no change needed.
 * - `Get-DnsClientCache | Select-Object Entry,Name,Type,Status,Section,TimeToLive,Data |
 *   ConvertTo-Json -Compress` (language-independent, but starts PowerShell). Modelled on
 *   the MSFT_DNSClientCache class as Windows PowerShell 5.1 serializes it: one object or
 *   an array; Type numeric (1 A, 28 AAAA, 5 CNAME, 12 PTR); Status 0 success, 9003 name
 *   does not exist, 9501 no records; Data null for negative entries. The unselected form
 *   (RecordName/RecordType aliases, CIM properties) is accepted too. No real published
 *   JSON output was found; this form is still checked against modelled fixtures only.
 */
import { z } from 'zod';
import type { CommandRunner } from '../os/command-runner.js';
import type { SourceProblem } from './connection.js';

export const DNS_TYPE = { A: 1, NS: 2, CNAME: 5, SOA: 6, PTR: 12, MX: 15, TXT: 16, AAAA: 28, SRV: 33 } as const;

export interface DnsCacheRecord {
  /** The name that was looked up (the entry header). */
  entry: string;
  /** Owner name of this record (differs from entry after a CNAME). */
  name: string;
  /** DNS type number; 0 for a negative entry. */
  type: number;
  ttl?: number;
  /** Address (A/AAAA) or target name (CNAME/PTR). */
  data?: string;
  section?: string;
  /** `negative`: the lookup found no such name or no records of the type asked for. */
  status: 'ok' | 'negative';
}

const lower = (s: string) => s.trim().toLowerCase().replace(/\.+$/, '');

/** Parses `ipconfig /displaydns` text. */
export function parseIpconfigDisplayDns(text: string): { records: DnsCacheRecord[]; problems: SourceProblem[] } {
  const records: DnsCacheRecord[] = [];
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  let entry: string | undefined;
  let group: string[] = [];
  let entryHasRecords = false;
  let entryMessage: string | undefined;
  let bad = 0;
  let firstBad = '';

  const flushGroup = (lineNo: number) => {
    if (group.length === 0 || entry === undefined) {
      group = [];
      return;
    }
    const g = group;
    group = [];
    const type = parseInt(g[1] ?? '', 10);
    if (g.length < 4 || !Number.isInteger(type) || g[0] === '') {
      if (bad++ === 0) firstBad = `record ending at line ${lineNo}: ${g.join(' | ').slice(0, 100)}`;
      return;
    }
    const ttl = parseInt(g[2] ?? '', 10);
    const r: DnsCacheRecord = { entry, name: lower(g[0]!), type, data: g[g.length - 1]!.trim(), status: 'ok' };
    if (Number.isInteger(ttl)) r.ttl = ttl;
    if (g.length >= 6) r.section = g[g.length - 2]!;
    records.push(r);
    entryHasRecords = true;
  };
  const flushEntry = (lineNo: number) => {
    flushGroup(lineNo);
    if (entry !== undefined && !entryHasRecords && entryMessage !== undefined) {
      records.push({ entry, name: entry, type: 0, status: 'negative', data: entryMessage });
    }
    entry = undefined;
    entryHasRecords = false;
    entryMessage = undefined;
  };

  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const t = line.trim();
    const next = lines[i + 1]?.trim() ?? '';
    if (/^-{8,}$/.test(next) && t !== '' && !t.includes(' : ')) {
      flushEntry(i);
      entry = lower(t);
      i++; // skip the dashes
      continue;
    }
    if (entry === undefined) continue; // "Windows IP Configuration" and other preamble
    if (t === '') {
      flushGroup(i);
      continue;
    }
    const sep = line.indexOf(' : ');
    if (sep >= 0) {
      group.push(line.slice(sep + 3).trim());
      continue;
    }
    if (/^-{8,}$/.test(t)) continue;
    // A message line: "Name does not exist.", "No records of type AAAA" (localized).
    if (group.length === 0) entryMessage = t;
  }
  flushEntry(lines.length);
  const problems: SourceProblem[] = bad > 0 ? [{ code: 'parse', message: `ipconfig /displaydns: skipped ${bad} malformed record(s), first at ${firstBad}`, count: bad }] : [];
  return { records, problems };
}

const TYPE_NAMES: Record<string, number> = Object.fromEntries(Object.entries(DNS_TYPE));

const JsonRecord = z
  .object({
    Entry: z.string().nullish(),
    Name: z.string().nullish(),
    RecordName: z.string().nullish(),
    Type: z.union([z.number(), z.string()]).nullish(),
    RecordType: z.union([z.number(), z.string()]).nullish(),
    Status: z.union([z.number(), z.string()]).nullish(),
    Section: z.union([z.number(), z.string()]).nullish(),
    TimeToLive: z.number().nullish(),
    Data: z.string().nullish(),
  })
  .loose();
const JsonDoc = z.union([JsonRecord, z.array(JsonRecord)]);

function typeNumber(v: number | string | null | undefined): number | undefined {
  if (typeof v === 'number') return v;
  if (typeof v === 'string') return /^\d+$/.test(v) ? Number(v) : TYPE_NAMES[v.toUpperCase()];
  return undefined;
}

/** 0 for success (also when absent or "Success"), the DNS status code otherwise, -1 if unreadable. */
function statusCode(v: number | string | null | undefined): number {
  if (v === null || v === undefined) return 0;
  if (typeof v === 'number') return v;
  if (/^\d+$/.test(v)) return Number(v);
  return /^success$/i.test(v) ? 0 : -1;
}

const SECTIONS: Record<number, string> = { 1: 'Answer', 2: 'Authority', 3: 'Additional' };

/** Parses `Get-DnsClientCache ... | ConvertTo-Json` output. */
export function parseDnsClientCacheJson(text: string): { records: DnsCacheRecord[]; problems: SourceProblem[] } {
  const t = text.replace(/^\uFEFF/, '').trim();
  if (t === '') return { records: [], problems: [] }; // an empty cache prints nothing
  let doc: unknown;
  try {
    doc = JSON.parse(t);
  } catch (err) {
    return { records: [], problems: [{ code: 'parse', message: `Get-DnsClientCache: not valid JSON (${(err as Error).message})` }] };
  }
  const parsed = JsonDoc.safeParse(doc);
  if (!parsed.success) {
    return { records: [], problems: [{ code: 'parse', message: `Get-DnsClientCache: unexpected shape (${parsed.error.issues[0]?.message ?? 'invalid'})` }] };
  }
  const rows = Array.isArray(parsed.data) ? parsed.data : [parsed.data];
  const records: DnsCacheRecord[] = [];
  let bad = 0;
  for (const r of rows) {
    const entry = r.Entry ?? r.Name ?? r.RecordName;
    const name = r.RecordName ?? r.Name ?? r.Entry;
    if (!entry || !name) {
      bad++;
      continue;
    }
    const negative = statusCode(r.Status) !== 0;
    const rec: DnsCacheRecord = {
      entry: lower(entry),
      name: lower(name),
      type: negative ? 0 : (typeNumber(r.Type ?? r.RecordType) ?? 0),
      status: negative ? 'negative' : 'ok',
    };
    if (r.Data) rec.data = r.Data.trim();
    if (typeof r.TimeToLive === 'number') rec.ttl = r.TimeToLive;
    const section = typeof r.Section === 'number' ? SECTIONS[r.Section] : (r.Section ?? undefined);
    if (section) rec.section = section;
    records.push(rec);
  }
  const problems: SourceProblem[] = bad > 0 ? [{ code: 'parse', message: `Get-DnsClientCache: skipped ${bad} record(s) without a name`, count: bad }] : [];
  return { records, problems };
}

export const DISPLAYDNS_ARGS = ['/displaydns'] as const;
export const DNS_CLIENT_CACHE_ARGS = [
  '-NoProfile',
  '-NonInteractive',
  '-Command',
  '[Console]::OutputEncoding=[Text.Encoding]::UTF8; Get-DnsClientCache | Select-Object Entry,Name,Type,Status,Section,TimeToLive,Data | ConvertTo-Json -Compress',
] as const;

export interface DnsCacheReader {
  readonly name: string;
  read(): Promise<{ records: DnsCacheRecord[]; problems: SourceProblem[] }>;
}

/** Reads the live Windows DNS client cache through a CommandRunner. */
export class WindowsDnsCacheReader implements DnsCacheReader {
  readonly name: string;

  constructor(
    private readonly runner: CommandRunner,
    private readonly method: 'ipconfig' | 'powershell' = 'ipconfig',
    private readonly timeoutMs = 20_000,
  ) {
    this.name = method === 'ipconfig' ? 'ipconfig /displaydns' : 'Get-DnsClientCache';
  }

  async read(): Promise<{ records: DnsCacheRecord[]; problems: SourceProblem[] }> {
    const r =
      this.method === 'ipconfig'
        ? await this.runner.run('ipconfig', DISPLAYDNS_ARGS, { timeoutMs: this.timeoutMs })
        : await this.runner.run('powershell.exe', DNS_CLIENT_CACHE_ARGS, { timeoutMs: this.timeoutMs });
    if (r.code !== 0) {
      // ipconfig exits 1 with "Could not display the DNS Resolver Cache." when it is empty.
      if (this.method === 'ipconfig' && r.code === 1 && r.error === undefined) return { records: [], problems: [] };
      return { records: [], problems: [{ code: 'command', message: r.error ?? `${this.name} exited with ${r.code}: ${r.stderr.trim().slice(0, 200)}` }] };
    }
    return this.method === 'ipconfig' ? parseIpconfigDisplayDns(r.stdout) : parseDnsClientCacheJson(r.stdout);
  }
}
