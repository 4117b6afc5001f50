/**
 * Vendor IoC lists in the Sophos layout (github.com/sophoslabs/IoCs): a header row naming
 * a type column (Indicator_type, Indicator or type), a Data column and a Note(s) column,
 * then one indicator per row; a "Description" row carries the advisory's URL and title,
 * which become the source every row cites. Built from the real "3CX IoCs 2023-03.csv"
 * (BOM, CRLF, defanged "[.]" values, a U+200E mark after the URL) and the header and type
 * spellings found across that repository's lists.
 */
import { parseCsv, CsvError } from './csv.js';
import type { FeedItem, FeedResult, FeedSource, Unmapped } from './feed.js';
import { capProblems, FeedError, MAX_FEED_BYTES } from './feed.js';
import { checkDomain, checkHash, checkIp, checkUrl, fileNameIn, isBareHost, refang, type HashAlgorithm } from './indicator-values.js';

const TYPE_COLUMNS = ['indicator_type', 'indicator', 'type'];
const DATA_COLUMNS = ['data', 'hash', 'value'];
const NOTE_COLUMNS = ['note', 'notes'];

const HASH_TYPES: Record<string, HashAlgorithm> = { sha256: 'sha256', sha_256: 'sha256', sha1: 'sha1', sha_1: 'sha1', md5: 'md5' };
const UNMAPPED_TYPES: Record<string, string> = {
  filename: 'a file name alone is not matched: write it as an artefact with a location if the sources say where it lies',
  file_name: 'a file name alone is not matched: write it as an artefact with a location if the sources say where it lies',
  file_path: 'write it as an artefact (a location relative to a user profile or the system root) by hand',
  file_path_name: 'write it as an artefact (a location relative to a user profile or the system root) by hand',
  filepath: 'write it as an artefact (a location relative to a user profile or the system root) by hand',
  path: 'write it as an artefact (a location relative to a user profile or the system root) by hand',
  url_path: 'a path without a host cannot be matched; add the full URL if a source gives it',
  certificate_serial: 'certificate details belong in the pack\'s signers, written by hand with the issuer, application and disposition',
};

/** Header names and indicator types as the lists spell them: "Indicator type", "Indicator_Type", "SHA-256", "IP address". */
function normal(name: string): string {
  return name.trim().toLowerCase().replace(/[\s-]+/g, '_');
}

function column(header: string[], names: string[]): number {
  return header.findIndex((h) => names.includes(normal(h)));
}

/** Parses a Sophos-layout CSV; throws FeedError naming the line and column of each problem. */
export function sophosCsvFeed(text: string, feed: string): FeedResult {
  if (Buffer.byteLength(text) > MAX_FEED_BYTES) throw new FeedError(feed, [`the file is larger than ${MAX_FEED_BYTES} bytes`]);
  let records;
  try {
    records = parseCsv(text);
  } catch (err) {
    if (err instanceof CsvError) throw new FeedError(feed, [err.message]);
    throw err;
  }
  const header = records[0];
  if (!header) throw new FeedError(feed, ['the file is empty: expected a header row such as Indicator_type,Data,Note']);
  const typeCol = column(header.fields, TYPE_COLUMNS);
  const dataCol = column(header.fields, DATA_COLUMNS);
  const noteCol = column(header.fields, NOTE_COLUMNS);
  if (typeCol < 0 || dataCol < 0) {
    throw new FeedError(feed, [`line ${header.line}: expected a header with an Indicator_type (or Indicator) column and a Data column, got ${JSON.stringify(header.fields.join(','))}`]);
  }
  const rows = records.slice(1);
  const sources: FeedSource[] = [];
  let title: string | undefined;
  // The description row may sit anywhere, but every row cites it: read it first.
  for (const r of rows) {
    if (normal(r.fields[typeCol] ?? '') !== 'description') continue;
    const rawUrl = refang(r.fields[dataCol] ?? '');
    const url = /^https?:\/\//i.test(rawUrl) ? checkUrl(rawUrl) : ({ ok: false } as const);
    const note = noteCol >= 0 ? (r.fields[noteCol] ?? '').trim() : '';
    title ??= note || undefined;
    if (url.ok && !sources.some((s) => s.url === url.value)) {
      const host = new URL(url.value).hostname.replace(/^(www|news)\./, '');
      sources.push({ url: url.value, name: host.split('.')[0] ?? host, publisher: host, title: note || url.value });
    }
  }
  const cites = sources.map((s) => s.url);
  const items: FeedItem[] = [];
  const unmapped: Unmapped[] = [];
  const problems: string[] = [];
  for (const r of rows) {
    const type = normal(r.fields[typeCol] ?? '');
    const raw = (r.fields[dataCol] ?? '').trim();
    const note = noteCol >= 0 ? (r.fields[noteCol] ?? '').trim() : '';
    const origin = `${feed} line ${r.line}`;
    if (type === 'description') continue;
    if (!type && !raw) continue;
    const base = { origin, sources: cites, ...(note ? { description: note } : {}) };
    const skip = (reason: string) => unmapped.push({ origin, value: `${type || '(no type)'}: ${raw}`, reason });
    const alg = HASH_TYPES[type];
    if (alg) {
      const h = checkHash(alg, raw);
      if (!h.ok) {
        problems.push(`line ${r.line}: Data: ${h.reason}`);
        continue;
      }
      const fileName = fileNameIn(note);
      items.push({ ...base, kind: 'file', [alg]: h.value, ...(fileName ? { fileName } : {}) });
      continue;
    }
    if (type === 'domain') {
      const d = checkDomain(raw);
      if (d.ok) items.push({ ...base, kind: 'domain', value: d.value });
      else skip(d.reason);
      continue;
    }
    if (type === 'ip' || type === 'ip_address' || type === 'ip_port') {
      const ip = checkIp(type === 'ip_port' ? refang(raw).replace(/:(\d+)$/, '') : raw);
      if (ip.ok) items.push({ ...base, kind: 'ip', value: ip.value });
      else skip(ip.reason);
      continue;
    }
    if (type === 'url' || type === 'domain_port') {
      // Vendor "URL" rows are often bare hosts (the 3CX list's C2 domains): those are domains.
      const bare = type === 'domain_port' ? refang(raw).replace(/:(\d+)$/, '') : raw;
      if (isBareHost(bare)) {
        const d = checkDomain(bare.replace(/:\d+$/, ''));
        if (d.ok) items.push({ ...base, kind: 'domain', value: d.value });
        else {
          const ip = checkIp(bare.replace(/:\d+$/, ''));
          if (ip.ok) items.push({ ...base, kind: 'ip', value: ip.value });
          else skip(d.reason);
        }
        continue;
      }
      const u = checkUrl(raw);
      if (u.ok) items.push({ ...base, kind: 'url', value: u.value });
      else skip(u.reason);
      continue;
    }
    skip(UNMAPPED_TYPES[type] ?? `indicator type "${type || '(empty)'}" is not something a pack matches (it holds file hashes, domain names, URLs and IP addresses)`);
  }
  if (problems.length) throw new FeedError(feed, capProblems(problems));
  return { feed, ...(title ? { title } : {}), items, sources, unmapped };
}
