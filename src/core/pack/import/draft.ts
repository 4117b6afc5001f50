/**
 * Feeds -> one pack draft. Duplicates are merged (a file by SHA-256, or by its SHA-1/MD5
 * when another feed gives the SHA-256; domains, URLs and addresses by value), with the
 * union of their sources. The draft deliberately does not validate: it has no
 * applications and no advice, and its hashes and network entries name the advice ids
 * "known-bad-file" and "known-bad-host" that the author writes; `vigil pack validate`
 * names each of these. What could not be mapped goes into the import report, not into the
 * pack: the pack schema has no place for it, and a signed pack should carry only pack data.
 */
import type { FeedResult, FeedSource, Unmapped } from './feed.js';

export const DRAFT_HASH_ADVICE = 'known-bad-file';
export const DRAFT_NETWORK_ADVICE = 'known-bad-host';

export interface DraftOptions {
  id: string;
  title?: string;
  /** ISO date of this draft (the pack's `published`). */
  published: string;
}

interface DraftHash {
  sha256: string;
  sha1?: string;
  md5?: string;
  fileName?: string;
  description?: string;
  advice: string;
  sources: string[];
}
interface DraftNet<K extends string> {
  value: string;
  key: K;
  description?: string;
  sources: string[];
}

export interface ImportReport {
  feeds: string[];
  counts: { hashes: number; domains: number; urls: number; ips: number; sources: number; duplicatesMerged: number; unmapped: number };
  unmapped: Unmapped[];
  /** Conflicts and merges worth a second look. */
  notes: string[];
  /** What the author must add before the draft validates. */
  todo: string[];
}

export function toPackId(text: string): string {
  const id = text.toLowerCase().replace(/[^a-z0-9._-]+/g, '-').replace(/^[^a-z0-9]+|-+$/g, '').slice(0, 80);
  return id || 'imported-feed';
}

export function buildDraft(feeds: FeedResult[], opts: DraftOptions): { draft: Record<string, unknown>; report: ImportReport } {
  const notes: string[] = feeds.flatMap((f) => f.notes ?? []);
  const unmapped: Unmapped[] = feeds.flatMap((f) => f.unmapped);
  let merged = 0;

  // Sources: one per URL, ids from their names, unique.
  const sourceByUrl = new Map<string, FeedSource & { id: string }>();
  const usedIds = new Set<string>();
  for (const s of feeds.flatMap((f) => f.sources)) {
    if (sourceByUrl.has(s.url)) continue;
    const stem = toPackId(s.name).slice(0, 76);
    let id = stem;
    for (let n = 2; usedIds.has(id); n++) id = `${stem}-${n}`;
    usedIds.add(id);
    sourceByUrl.set(s.url, { ...s, id });
  }
  const ids = (urls: string[]) => [...new Set(urls.map((u) => sourceByUrl.get(u)?.id).filter((x): x is string => !!x))];
  const union = (a: string[], b: string[]) => [...new Set([...a, ...b])];

  const items = feeds.flatMap((f) => f.items);
  const hashes = new Map<string, DraftHash>();
  const bySha1 = new Map<string, DraftHash>();
  const byMd5 = new Map<string, DraftHash>();
  const fill = (h: DraftHash, it: { sha1?: string; md5?: string; fileName?: string; description?: string; origin: string }) => {
    for (const k of ['sha1', 'md5'] as const) {
      const v = it[k];
      if (!v) continue;
      if (h[k] && h[k] !== v) notes.push(`${it.origin}: ${k.toUpperCase()} ${v} differs from ${h[k]} given elsewhere for SHA-256 ${h.sha256}; kept the first`);
      else h[k] = v;
    }
    h.fileName ??= it.fileName;
    h.description ??= it.description;
  };
  // SHA-256 entries first, so SHA-1/MD5-only entries can join them whatever the feed order.
  for (const it of items) {
    if (it.kind !== 'file' || !it.sha256) continue;
    const existing = hashes.get(it.sha256);
    if (existing) {
      merged++;
      existing.sources = union(existing.sources, ids(it.sources));
      fill(existing, it);
    } else {
      const h: DraftHash = { sha256: it.sha256, advice: DRAFT_HASH_ADVICE, sources: ids(it.sources) };
      fill(h, it);
      hashes.set(it.sha256, h);
    }
  }
  for (const h of hashes.values()) {
    if (h.sha1) bySha1.set(h.sha1, h);
    if (h.md5) byMd5.set(h.md5, h);
  }
  const seenWeak = new Set<string>();
  for (const it of items) {
    if (it.kind !== 'file' || it.sha256) continue;
    const target = (it.sha1 && bySha1.get(it.sha1)) || (it.md5 && byMd5.get(it.md5));
    if (target) {
      merged++;
      target.sources = union(target.sources, ids(it.sources));
      fill(target, it);
      continue;
    }
    const key = `${it.sha1 ?? ''}/${it.md5 ?? ''}`;
    if (seenWeak.has(key)) {
      merged++;
      continue;
    }
    seenWeak.add(key);
    unmapped.push({
      origin: it.origin,
      value: [it.sha1 && `SHA-1 ${it.sha1}`, it.md5 && `MD5 ${it.md5}`, it.fileName].filter(Boolean).join(', '),
      reason: 'no SHA-256: a pack matches files by SHA-256; add it if a source publishes it',
    });
  }

  const nets = { domain: new Map<string, DraftNet<'domain'>>(), url: new Map<string, DraftNet<'url'>>(), ip: new Map<string, DraftNet<'ip'>>() };
  for (const it of items) {
    if (it.kind === 'file') continue;
    const map = nets[it.kind] as Map<string, DraftNet<string>>;
    const existing = map.get(it.value);
    if (existing) {
      merged++;
      existing.sources = union(existing.sources, ids(it.sources));
      existing.description ??= it.description;
    } else {
      map.set(it.value, { key: it.kind, value: it.value, sources: ids(it.sources), ...(it.description ? { description: it.description } : {}) });
    }
  }
  const netList = <K extends 'domain' | 'url' | 'ip'>(m: Map<string, DraftNet<K>>) =>
    [...m.values()].map((n) => ({ [n.key]: n.value, ...(n.description ? { description: n.description } : {}), sources: n.sources }));

  const title = opts.title ?? feeds.find((f) => f.title)?.title;
  const summary = feeds.find((f) => f.summary)?.summary;
  const hashList = [...hashes.values()].map((h) => ({
    sha256: h.sha256,
    ...(h.sha1 ? { sha1: h.sha1 } : {}),
    ...(h.md5 ? { md5: h.md5 } : {}),
    ...(h.fileName ? { fileName: h.fileName } : {}),
    ...(h.description ? { description: h.description } : {}),
    advice: h.advice,
    sources: h.sources,
  }));
  const hasNetwork = nets.domain.size + nets.url.size + nets.ip.size > 0;
  const draft: Record<string, unknown> = {
    format: 1,
    id: opts.id,
    version: 1,
    ...(title ? { title } : {}),
    ...(summary ? { summary } : {}),
    published: opts.published,
    sources: [...sourceByUrl.values()].map((s) => ({ id: s.id, publisher: s.publisher, title: s.title, url: s.url, ...(s.published ? { published: s.published } : {}) })),
    applications: [],
    versionRules: [],
    hashes: hashList,
    candidateFiles: [],
    signers: [],
    ...(hasNetwork ? { network: { domains: netList(nets.domain), urls: netList(nets.url), ips: netList(nets.ip), advice: DRAFT_NETWORK_ADVICE } } : {}),
    artifacts: [],
    advice: [],
  };

  const todo = [
    'applications: describe the affected application and where it installs (at least one)',
    `advice: write the advice entries "${DRAFT_HASH_ADVICE}"${hasNetwork ? ` and "${DRAFT_NETWORK_ADVICE}"` : ''} (and a "check this with IT" entry for fallbackAdvice)`,
  ];
  if (!title) todo.push('title: name the incident');
  if (!summary) todo.push('summary: a paragraph on what happened');
  const noName = hashList.filter((h) => !h.fileName).length;
  const noDesc = hashList.filter((h) => !h.description).length;
  if (noName) todo.push(`hashes: ${noName} without a fileName: give the name the sources use`);
  if (noDesc) todo.push(`hashes: ${noDesc} without a description: say what each file is`);
  const uncited = hashList.filter((h) => !h.sources.length).length + [...nets.domain.values(), ...nets.url.values(), ...nets.ip.values()].filter((n) => !n.sources.length).length;
  if (uncited) todo.push(`${uncited} indicators cite no source (the feed gave none): add the advisory that names them`);
  const httpSources = [...sourceByUrl.values()].filter((s) => !s.url.startsWith('https://')).length;
  if (httpSources) todo.push(`sources: ${httpSources} URLs are not https: find the https address of each advisory`);
  todo.push('then: vigil pack validate, vigil check --pack DRAFT --root <fixture tree>, vigil pack sign');

  return {
    draft,
    report: {
      feeds: feeds.map((f) => f.feed),
      counts: { hashes: hashList.length, domains: nets.domain.size, urls: nets.url.size, ips: nets.ip.size, sources: sourceByUrl.size, duplicatesMerged: merged, unmapped: unmapped.length },
      unmapped,
      notes,
      todo,
    },
  };
}
