/**
 * STIX 2.1 objects -> feed items. Indicators are read through their patterns (the subset a
 * pack can hold: equality on file hashes, file names next to a hash, domain names, URLs
 * and single IP addresses, combined with OR or IN); observed-data contributes the file,
 * domain, URL and address observables it references. Sources are an object's own
 * external_references, else those of the report or grouping that contains it.
 * Anything else is listed as unmapped with the reason; a pattern that does not parse, a
 * hash of the wrong length or an unknown hash algorithm makes the feed malformed.
 */
import type { FeedItem, FeedResult, FeedSource, Unmapped } from './feed.js';
import { capProblems, FeedError } from './feed.js';
import { checkDomain, checkHash, checkIp, checkUrl, hashAlgorithm, type Checked } from './indicator-values.js';
import type { ExternalReference, StixIndicator, StixObject } from './stix-bundle.js';
import { formatPath, parseStixPattern, PatternSyntaxError, type Comparison, type Literal, type Observation } from './stix-pattern.js';

type FileDraft = { kind: 'file'; sha256?: string; sha1?: string; md5?: string; fileName?: string };
type Draftable = FileDraft | { kind: 'domain' | 'url' | 'ip'; value: string };
interface Mapped {
  items: Draftable[];
  unmapped: { value: string; reason: string }[];
}
const CERTIFICATE_REASON = "certificate details belong in the pack's signers, written by hand with the application and disposition";

/** A problem with the feed itself (not merely something a pack cannot hold). */
class Malformed extends Error {}

const none = (): Mapped => ({ items: [], unmapped: [] });
const join = (ms: Mapped[]): Mapped => ({ items: ms.flatMap((m) => m.items), unmapped: ms.flatMap((m) => m.unmapped) });

function formatLiteral(v: Literal | Literal[]): string {
  if (Array.isArray(v)) return `(${v.map((x) => formatLiteral(x)).join(', ')})`;
  if (v.kind === 'string') return `'${v.value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
  if (v.kind === 'timestamp') return `t'${v.value}'`;
  if (v.kind === 'binary') return `b'${v.value}'`;
  if (v.kind === 'hex') return `h'${v.value}'`;
  return String(v.value);
}
function formatComparison(c: Comparison): string {
  if (c.type === 'test') return `${formatPath(c.path)}${c.negated ? ' NOT' : ''} ${c.op} ${formatLiteral(c.value)}`;
  if (c.type === 'exists') return `${c.negated ? 'NOT ' : ''}EXISTS ${formatPath(c.path)}`;
  return c.terms.map((t) => (t.type === 'and' || t.type === 'or' ? `(${formatComparison(t)})` : formatComparison(t))).join(` ${c.type.toUpperCase()} `);
}
function formatObservation(o: Observation): string {
  if (o.type === 'observation') return `[${formatComparison(o.comparison)}]`;
  if (o.type === 'qualified') {
    const q = o.qualifier;
    const inner = o.inner.type === 'observation' || o.inner.type === 'qualified' ? formatObservation(o.inner) : `(${formatObservation(o.inner)})`;
    return `${inner} ${q.kind === 'WITHIN' ? `WITHIN ${q.seconds} SECONDS` : q.kind === 'REPEATS' ? `REPEATS ${q.times} TIMES` : `START t'${q.start}' STOP t'${q.stop}'`}`;
  }
  return o.terms.map(formatObservation).join(` ${o.type.toUpperCase()} `);
}

function unmapped(value: string, reason: string): Mapped {
  return { items: [], unmapped: [{ value, reason }] };
}

/** A file:hashes.<algorithm> equality: the hash, or a Malformed error naming the test. */
function fileHash(algorithmName: string, value: string, where: string): { algorithm: 'sha256' | 'sha1' | 'md5'; value: string } | { unsupported: string } {
  const alg = hashAlgorithm(algorithmName);
  if (!alg) {
    if (/^x_/i.test(algorithmName)) return { unsupported: algorithmName };
    throw new Malformed(`${where}: unknown hash algorithm ${JSON.stringify(algorithmName)} (STIX names MD5, SHA-1, SHA-256, SHA-512, SHA3-256, SHA3-512, SSDEEP, TLSH)`);
  }
  if ('unsupported' in alg) return alg;
  const h = checkHash(alg.algorithm, value);
  if (!h.ok) throw new Malformed(`${where}: ${h.reason}`);
  return { algorithm: alg.algorithm, value: h.value };
}

function valueItem(kind: 'domain' | 'url' | 'ip', checked: Checked, shown: string): Mapped {
  return checked.ok ? { items: [{ kind, value: checked.value }], unmapped: [] } : unmapped(shown, checked.reason);
}

/** One equality test, the unit a pack can hold. */
function mapEquality(c: Extract<Comparison, { type: 'test' }>, lit: Literal, where: string): Mapped {
  const shown = formatComparison({ ...c, op: '=', value: lit });
  const { objectType, steps } = c.path;
  if (lit.kind !== 'string') return unmapped(shown, 'the value is not a string');
  const v = lit.value;
  const prop = steps.join('.');
  if (objectType === 'domain-name' && prop === 'value') return valueItem('domain', checkDomain(v), shown);
  if (objectType === 'url' && prop === 'value') return valueItem('url', checkUrl(v), shown);
  if ((objectType === 'ipv4-addr' || objectType === 'ipv6-addr') && prop === 'value') return valueItem('ip', checkIp(v), shown);
  if (objectType === 'file' && steps[0] === 'hashes' && steps.length === 2 && typeof steps[1] === 'string') {
    const h = fileHash(steps[1], v, `${where}: ${formatPath(c.path)}`);
    if ('unsupported' in h) return unmapped(shown, `${h.unsupported} hashes cannot be matched: a pack matches files by SHA-256 (with SHA-1 and MD5 kept for reference)`);
    return { items: [{ kind: 'file', [h.algorithm]: h.value }], unmapped: [] };
  }
  if (objectType === 'file' && prop === 'name') return unmapped(shown, 'a file name alone is not matched: write it as an artefact with a location if the sources say where it lies');
  if (objectType === 'x509-certificate') return unmapped(shown, CERTIFICATE_REASON);
  return unmapped(shown, `${formatPath(c.path)} is not something a pack matches (it holds file hashes, domain names, URLs and IP addresses)`);
}

/** file:hashes.* = … AND file:name = … on one file object: one hash entry. */
function mapFileAnd(terms: Comparison[], where: string, shown: string): Mapped {
  const file: FileDraft = { kind: 'file' };
  const dropped: string[] = [];
  for (const t of terms) {
    if (t.type !== 'test') return unmapped(shown, 'an AND that is not equality tests on one file: a pack cannot express it');
    const { steps } = t.path;
    const isHash = steps[0] === 'hashes' && steps.length === 2 && typeof steps[1] === 'string';
    const isName = steps.length === 1 && steps[0] === 'name';
    if (!isHash && !isName) return unmapped(shown, `${formatPath(t.path)} narrows the file in a way a pack cannot express (it holds hashes and a name)`);
    if (t.negated || t.op !== '=' || Array.isArray(t.value) || t.value.kind !== 'string') {
      return unmapped(shown, 'an AND that is not equality tests on one file: a pack cannot express it');
    }
    if (isHash) {
      const h = fileHash(steps[1] as string, t.value.value, `${where}: ${formatPath(t.path)}`);
      if ('unsupported' in h) dropped.push(h.unsupported);
      else if (file[h.algorithm] && file[h.algorithm] !== h.value) return unmapped(shown, `two different ${h.algorithm.toUpperCase()} values for one file can never both match`);
      else file[h.algorithm] = h.value;
    } else file.fileName = t.value.value;
  }
  if (!file.sha256 && !file.sha1 && !file.md5) return unmapped(shown, dropped.length ? `only ${dropped.join(', ')} hashes, which a pack cannot match` : 'no hash: a pack matches files by hash');
  return { items: [file], unmapped: [] };
}

function mapComparison(c: Comparison, where: string): Mapped {
  if (c.type === 'and' || c.type === 'or') {
    if (c.type === 'or') return join(c.terms.map((t) => mapComparison(t, where)));
    if (c.terms.every((t) => t.type === 'test' && t.path.objectType === 'file')) return mapFileAnd(c.terms, where, formatComparison(c));
    if (c.terms.every((t) => t.type === 'test' && t.path.objectType === 'x509-certificate')) return unmapped(formatComparison(c), CERTIFICATE_REASON);
    return unmapped(formatComparison(c), 'an AND across different properties or objects: a pack matches single indicators');
  }
  if (c.type === 'exists') return unmapped(formatComparison(c), 'EXISTS tests have no place in a pack');
  if (c.negated) return unmapped(formatComparison(c), 'a negated test (NOT) cannot be expressed in a pack');
  if (c.op === '=') return mapEquality(c, c.value as Literal, where);
  if (c.op === 'IN') return join((c.value as Literal[]).map((lit) => mapEquality(c, lit, where)));
  return unmapped(formatComparison(c), `the ${c.op} operator matches many values; a pack holds exact values only`);
}

function mapObservation(o: Observation, where: string): Mapped {
  if (o.type === 'or') return join(o.terms.map((t) => mapObservation(t, where)));
  if (o.type === 'observation') return mapComparison(o.comparison, where);
  if (o.type === 'qualified') return unmapped(formatObservation(o), `the ${o.qualifier.kind} qualifier sets a time window or count; a pack has none`);
  return unmapped(formatObservation(o), `observations joined by ${o.type.toUpperCase()} must all be seen together; a pack matches single indicators`);
}

/** Maps one indicator's pattern; throws Malformed for a pattern that is not valid STIX. */
export function mapIndicatorPattern(ind: StixIndicator): Mapped {
  if (ind.pattern_type !== undefined && ind.pattern_type !== 'stix') {
    return unmapped(ind.pattern.replace(/\s+/g, ' ').slice(0, 200), `pattern_type "${ind.pattern_type}" is not STIX patterning; translate it by hand`);
  }
  let ast: Observation;
  try {
    ast = parseStixPattern(ind.pattern);
  } catch (err) {
    if (err instanceof PatternSyntaxError) throw new Malformed(`${ind.id}: pattern: ${err.message}`);
    throw err;
  }
  return mapObservation(ast, `${ind.id}: pattern`);
}

function mapSco(o: { type: string; hashes?: Record<string, string>; name?: string; value?: string }, where: string): Mapped {
  if (o.type === 'file') {
    const file: FileDraft = { kind: 'file', ...(o.name ? { fileName: o.name } : {}) };
    const dropped: string[] = [];
    for (const [alg, value] of Object.entries(o.hashes ?? {})) {
      const h = fileHash(alg, value, `${where}: hashes.${alg}`);
      if ('unsupported' in h) dropped.push(h.unsupported);
      else file[h.algorithm] = h.value;
    }
    if (!file.sha256 && !file.sha1 && !file.md5) return unmapped(`file ${o.name ?? ''}`.trim(), dropped.length ? `only ${dropped.join(', ')} hashes, which a pack cannot match` : 'a file without hashes: a pack matches files by hash');
    return { items: [file], unmapped: [] };
  }
  const v = o.value ?? '';
  if (o.type === 'domain-name') return valueItem('domain', checkDomain(v), v);
  if (o.type === 'url') return valueItem('url', checkUrl(v), v);
  if (o.type === 'ipv4-addr' || o.type === 'ipv6-addr') return valueItem('ip', checkIp(v), v);
  return none();
}

function isoDate(s: string | undefined): string | undefined {
  const m = s ? /^(\d{4}-\d{2}-\d{2})T/.exec(s) : null;
  return m?.[1];
}

export function stixFeed(objects: StixObject[], feed: string): FeedResult {
  const byId = new Map<string, StixObject>();
  for (const o of objects) if (o.id) byId.set(o.id, o);
  const nameOf = (id: string | undefined) => {
    const o = id ? byId.get(id) : undefined;
    return o && 'name' in o && typeof o.name === 'string' ? o.name : undefined;
  };
  const sources = new Map<string, FeedSource>();
  const refsToSources = (refs: ExternalReference[] | undefined, creator: string | undefined, published?: string): string[] => {
    const urls: string[] = [];
    for (const r of refs ?? []) {
      if (!r.url) continue; // ATT&CK or CAPEC ids and the like: nothing a reader can open
      if (!sources.has(r.url)) {
        sources.set(r.url, { url: r.url, name: r.source_name, publisher: nameOf(creator) ?? r.source_name, title: r.description ?? r.source_name, ...(published ? { published } : {}) });
      }
      urls.push(r.url);
    }
    return urls;
  };
  const containersOf = new Map<string, string[]>();
  const observedBy = new Map<string, StixObject[]>();
  const indicates = new Map<string, string[]>();
  let title: string | undefined;
  let summary: string | undefined;
  for (const o of objects) {
    if (o.type === 'report' || o.type === 'grouping') {
      const c = o as Extract<StixObject, { object_refs: string[]; type: 'report' | 'grouping' }>;
      title ??= c.name;
      summary ??= c.description;
      const urls = refsToSources(c.external_references, c.created_by_ref, isoDate(c.published));
      for (const ref of c.object_refs) containersOf.set(ref, [...(containersOf.get(ref) ?? []), ...urls]);
    }
    if (o.type === 'observed-data') {
      for (const ref of (o as { object_refs?: string[] }).object_refs ?? []) observedBy.set(ref, [...(observedBy.get(ref) ?? []), o]);
    }
    if (o.type === 'relationship') {
      const r = o as { relationship_type: string; source_ref: string; target_ref: string };
      const target = nameOf(r.target_ref);
      if (r.relationship_type === 'indicates' && target) indicates.set(r.source_ref, [...(indicates.get(r.source_ref) ?? []), target]);
    }
  }
  const sourcesFor = (o: StixObject): string[] => {
    const own = refsToSources(o.external_references as ExternalReference[] | undefined, o.created_by_ref as string | undefined);
    if (own.length) return own;
    return [...new Set(containersOf.get(o.id ?? '') ?? [])];
  };

  const items: FeedItem[] = [];
  const unmappedList: Unmapped[] = [];
  const problems: string[] = [];
  let observed = 0;
  const add = (m: Mapped, origin: string, srcs: string[], description: string | undefined) => {
    if (!origin.startsWith('indicator--')) observed += m.items.length;
    for (const it of m.items) items.push({ ...it, origin, sources: srcs, ...(description ? { description } : {}) } as FeedItem);
    for (const u of m.unmapped) unmappedList.push({ origin, ...u });
  };
  for (const o of objects) {
    try {
      if (o.type === 'indicator') {
        const ind = o as StixIndicator;
        const what = [ind.name ?? ind.description, indicates.has(ind.id) ? `indicates ${[...new Set(indicates.get(ind.id))].join(', ')}` : undefined].filter(Boolean).join('; ');
        add(mapIndicatorPattern(ind), `${ind.id} pattern`, sourcesFor(ind), what || undefined);
      } else if (o.type === 'observed-data') {
        const od = o as { id: string; objects?: Record<string, { type: string }> };
        for (const [key, sco] of Object.entries(od.objects ?? {})) {
          add(mapSco(sco as never, `${od.id}: objects.${key}`), `${od.id} objects.${key}`, sourcesFor(o), undefined);
        }
      } else if (['file', 'domain-name', 'url', 'ipv4-addr', 'ipv6-addr'].includes(o.type) && o.id && observedBy.has(o.id)) {
        // Observables count only where observed-data reports them; a bare observable may be context (a victim, a benign host).
        const od = observedBy.get(o.id)!;
        const srcs = [...new Set([...sourcesFor(o), ...od.flatMap((d) => sourcesFor(d))])];
        add(mapSco(o as never, o.id), o.id, srcs, undefined);
      }
    } catch (err) {
      if (err instanceof Malformed) problems.push(err.message);
      else throw err;
    }
  }
  if (problems.length) throw new FeedError(feed, capProblems(problems));
  const notes = observed
    ? [`${feed}: ${observed} observables from observed-data were mapped; observed data records what was seen, not always what is malicious: keep only those a source calls malicious`]
    : [];
  return { feed, ...(title ? { title } : {}), ...(summary ? { summary } : {}), items, sources: [...sources.values()], unmapped: unmappedList, notes };
}
