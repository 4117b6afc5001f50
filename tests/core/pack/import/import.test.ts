import { mkdtemp, readFile, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildDraft } from '../../../../src/core/pack/import/draft.js';
import { FeedError, MAX_FEED_BYTES, type FeedResult } from '../../../../src/core/pack/import/feed.js';
import { parseFeedText, readFeedFile } from '../../../../src/core/pack/import/read-feed.js';
import { PackError } from '../../../../src/core/pack/load.js';
import { parsePack } from '../../../../src/core/pack/parse-pack.js';

const FIXTURES = path.join(import.meta.dirname, '../../../fixtures/pack-import');
const fixture = (name: string) => readFile(path.join(FIXTURES, name), 'utf8');

const ID = (n: number) => `indicator--00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
function bundle(objects: unknown[]): string {
  return JSON.stringify({ type: 'bundle', id: 'bundle--00000000-0000-4000-8000-000000000000', objects });
}
function indicator(n: number, pattern: unknown, extra: Record<string, unknown> = {}) {
  return { type: 'indicator', spec_version: '2.1', id: ID(n), created: '2023-03-31T00:00:00Z', modified: '2023-03-31T00:00:00Z', pattern, pattern_type: 'stix', valid_from: '2023-03-30T00:00:00Z', ...extra };
}
function feedError(text: string): string[] {
  try {
    parseFeedText(text, 'feed.json');
  } catch (err) {
    if (err instanceof FeedError) return err.problems;
    throw err;
  }
  throw new Error('expected a FeedError');
}

/** What an author adds to the draft: the application, and the advice the draft names. */
function completed(draft: Record<string, unknown>): Record<string, unknown> {
  return {
    ...draft,
    applications: [{ id: 'app', name: '3CX Desktop App', publisher: '3CX Ltd', platforms: { windows: { installDirs: [{ scope: 'user', path: 'AppData/Local/Programs/3CXDesktopApp' }], executables: ['3CXDesktopApp.exe'] } } }],
    advice: [
      { id: 'known-bad-file', title: 'A known-bad file was found', text: 'Disconnect this PC from the network and call IT.' },
      { id: 'known-bad-host', title: 'This PC contacted an attacker\'s server', text: 'Call IT now.' },
    ],
  };
}

describe('STIX 2.1 bundle import', () => {
  it('maps hashes, domains and URLs from patterns and observed-data, with sources, and lists the rest as unmapped', async () => {
    const feed = parseFeedText(await fixture('3cx-stix21-bundle.json'), '3cx-stix21-bundle.json');
    expect(feed.title).toBe('3CX DesktopApp supply-chain compromise');
    const files = feed.items.filter((i) => i.kind === 'file');
    expect(files).toContainEqual(expect.objectContaining({ sha256: '7986bbaee8940da11ce089383521ab420c443ab7b15ed42aed91fd31ce833896', md5: '74bc2d0b6680faa1a5a76b27e5479cbc', fileName: 'ffmpeg.dll', sources: ['https://news.sophos.com/en-us/2023/03/29/3cx-dll-sideloading-attack/'] }));
    // The observed file keeps SHA-256, SHA-1 and MD5 and drops SSDEEP; it cites the report that contains its observed-data.
    expect(files).toContainEqual(expect.objectContaining({ sha256: '59e1edf4d82fae4978e97512b0331b7eb21dd4b838b850ba46794d9c7a2c0983', sha1: 'bfecb8ce89a312d2ef4afc64a63847ae11c6f69e', fileName: '3CXDesktopApp-18.12.416.msi', sources: ['https://www.volexity.com/blog/2023/03/30/3cx-supply-chain-compromise-leads-to-iconic-incident/'] }));
    const values = feed.items.flatMap((i) => (i.kind === 'file' ? [] : [`${i.kind}:${i.value}`]));
    expect(values.sort()).toEqual(['domain:akamaicontainer.com', 'domain:akamaitechcloudservices.com', 'domain:journalide.org', 'domain:msstorageboxes.com', 'domain:pbxsources.com', 'url:https://raw.githubusercontent.com/IconStorages/images/main/']);
    // An observable no observed-data reports (3cx.com, the vendor's own domain) is context, not an indicator.
    expect(values.join()).not.toContain('3cx.com');
    expect(feed.items.find((i) => i.kind === 'domain' && i.value === 'journalide.org')?.description).toBe('3CX C2 domains; indicates ICONICSTEALER');
    expect(feed.unmapped.map((u) => `${u.origin}|${u.reason}`)).toEqual([
      expect.stringMatching(/^indicator--9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d pattern\|the WITHIN qualifier/),
      expect.stringMatching(/^indicator--3e2d1c0b-9a8f-4e7d-8c6b-5a4f3e2d1c0b pattern\|certificate details belong in the pack's signers/),
      expect.stringMatching(/^indicator--7c6b5a4f-3e2d-4c1b-8a9f-8e7d6c5b4a3f pattern\|pattern_type "sigma" is not STIX patterning/),
    ]);
  });

  it('maps each alternative of OR and IN, and reports what a pack cannot express with the reason', () => {
    const sha = 'a'.repeat(64);
    const feed = parseFeedText(
      bundle([
        indicator(1, `[ipv4-addr:value = '203.0.113.7' OR ipv6-addr:value = '2001:db8::1/128' OR ipv4-addr:value = '198.51.100.0/24']`),
        indicator(2, `[file:hashes.'SHA-512' = '${'b'.repeat(128)}']`),
        indicator(3, `[file:hashes.sha256 = '${sha}' AND file:size = 10]`),
        indicator(4, `[domain-name:value = 'a.example' AND ipv4-addr:value = '203.0.113.8']`),
        indicator(5, `[domain-name:value MATCHES '^evil']`),
        indicator(6, `[domain-name:value != 'good.example' OR domain-name:value NOT = 'other.example']`),
        indicator(7, `[domain-name:value = 'x.example'] AND [url:value = 'https://x.example/a']`),
        indicator(8, `[file:hashes.x_vendor_hash = 'abc']`),
        indicator(9, `[file:hashes.'SHA-256' = '${sha.toUpperCase()}'] OR [domain-name:value = 'Bad_Host.example']`),
      ]),
      'feed.json',
    );
    expect(feed.items.map((i) => (i.kind === 'file' ? `file:${i.sha256}` : `${i.kind}:${i.value}`))).toEqual(['ip:203.0.113.7', 'ip:2001:db8::1', `file:${sha}`]);
    const reasons = feed.unmapped.map((u) => `${u.origin}: ${u.reason}`).join('\n');
    expect(reasons).toMatch(/198\.51\.100\.0\/24 is an address range/);
    expect(reasons).toMatch(/SHA-512 hashes cannot be matched/);
    expect(reasons).toMatch(/file:size narrows the file/);
    expect(reasons).toMatch(/an AND across different properties or objects/);
    expect(reasons).toMatch(/the MATCHES operator/);
    expect(reasons).toMatch(/the != operator/);
    expect(reasons).toMatch(/a negated test/);
    expect(reasons).toMatch(/observations joined by AND must all be seen together/);
    expect(reasons).toMatch(/x_vendor_hash hashes cannot be matched/);
    expect(reasons).toMatch(/"Bad_Host.example" is not a DNS name/);
  });

  it('names the object and the field when a bundle is malformed', () => {
    expect(feedError('{"type": "bundle", ')).toEqual([expect.stringMatching(/^not valid JSON/)]);
    expect(feedError('[]')).toEqual(['(top level): a STIX bundle must be a JSON object']);
    expect(feedError(JSON.stringify({ type: 'report', id: 'report--00000000-0000-4000-8000-000000000000' }))).toEqual([expect.stringMatching(/^type: must be "bundle", got "report"/)]);
    const problems = feedError(
      bundle([
        indicator(1, undefined),
        indicator(2, "[domain-name:value = 'x.example'"),
        indicator(3, `[file:hashes.'SHA-256' = 'abc123']`),
        indicator(4, `[file:hashes.'SHA-999' = '${'c'.repeat(64)}']`),
        { type: 'indicator', id: 'not-an-id', pattern: "[domain-name:value = 'y.example']" },
        { type: 'observed-data', spec_version: '2.1', id: 'observed-data--00000000-0000-4000-8000-000000000009', object_refs: ['file--00000000-0000-4000-8000-000000000010'] },
        { type: 'file', spec_version: '2.1', id: 'file--00000000-0000-4000-8000-000000000010', hashes: { MD5: 'zz' } },
        { type: 'indicator', spec_version: '2.0', id: ID(11), pattern: "[domain-name:value = 'z.example']" },
        42,
      ]),
    );
    expect(problems).toEqual([
      `${ID(1)}: pattern: an indicator must have a pattern`,
      'not-an-id: id: must be a STIX id such as indicator--<UUID>',
      `${ID(11)}: spec_version: "2.0" is not STIX 2.1`,
      'objects[8]: must be a STIX object with a "type"',
    ]);
    // Once the objects have the right shape, their contents are checked, again naming the object and field.
    const contents = feedError(bundle([indicator(2, "[domain-name:value = 'x.example'"), indicator(3, `[file:hashes.'SHA-256' = 'abc123']`), indicator(4, `[file:hashes.'SHA-999' = '${'c'.repeat(64)}']`), { type: 'observed-data', spec_version: '2.1', id: 'observed-data--00000000-0000-4000-8000-000000000009', object_refs: ['file--00000000-0000-4000-8000-000000000010'] }, { type: 'file', spec_version: '2.1', id: 'file--00000000-0000-4000-8000-000000000010', hashes: { MD5: 'zz' } }]));
    expect(contents).toEqual([
      `${ID(2)}: pattern: at character 33: expected "]", found the end of the pattern`,
      `${ID(3)}: pattern: file:hashes.'SHA-256': SHA-256 must be 64 hex digits, got 6`,
      `${ID(4)}: pattern: file:hashes.'SHA-999': unknown hash algorithm "SHA-999" (STIX names MD5, SHA-1, SHA-256, SHA-512, SHA3-256, SHA3-512, SSDEEP, TLSH)`,
      'file--00000000-0000-4000-8000-000000000010: hashes.MD5: "zz" is not hexadecimal',
    ]);
  });

  it('refuses a huge file by its size, without reading it, and names an unreadable one', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'vigil-feed-'));
    const file = path.join(dir, 'huge.json');
    await writeFile(file, '{');
    await truncate(file, MAX_FEED_BYTES + 1); // sparse: nothing is really written or read
    await expect(readFeedFile(file, 'huge.json')).rejects.toThrow(`huge.json: the file is ${MAX_FEED_BYTES + 1} bytes; feeds are limited to ${MAX_FEED_BYTES}`);
    await expect(readFeedFile(path.join(dir, 'missing.json'), 'missing.json')).rejects.toThrow('missing.json: cannot read: ENOENT');
  });

  it('refuses huge input before parsing it', () => {
    const huge = `{"type":"bundle","id":"bundle--00000000-0000-4000-8000-000000000000","objects":[],"pad":"${'x'.repeat(MAX_FEED_BYTES)}"}`;
    expect(feedError(huge)).toEqual([`the file is larger than ${MAX_FEED_BYTES} bytes`]);
  });
});

describe('Sophos-layout CSV import', () => {
  it('reads the layout: description row as the source, hashes, defanged hosts as domains, paths as URLs, the rest unmapped', async () => {
    const feed = parseFeedText(await fixture('3cx-sophos-layout.csv'), '3cx.csv');
    expect(feed.sources).toEqual([{ url: 'https://news.sophos.com/en-us/2023/03/29/3cx-dll-sideloading-attack/', name: 'sophos', publisher: 'sophos.com', title: 'Indicators of 3CX DLL-sideloading exploitation Mar-2023' }]);
    expect(feed.title).toBe('Indicators of 3CX DLL-sideloading exploitation Mar-2023');
    const files = feed.items.filter((i) => i.kind === 'file');
    expect(files).toContainEqual(expect.objectContaining({ sha256: '59e1edf4d82fae4978e97512b0331b7eb21dd4b838b850ba46794d9c7a2c0983', fileName: '3cxdesktopapp-18.12.416.msi', description: 'WIN: 3cxdesktopapp-18.12.416.msi, the "trojanized" installer', origin: '3cx.csv line 4' }));
    expect(files).toContainEqual(expect.objectContaining({ md5: '74bc2d0b6680faa1a5a76b27e5479cbc' }));
    const net = feed.items.flatMap((i) => (i.kind === 'file' ? [] : [`${i.kind}:${i.value}`]));
    expect(net).toEqual(['url:https://raw.githubusercontent.com/IconStorages/images/main/', 'domain:akamaicontainer.com', 'domain:msstorageboxes.com', 'domain:msstorageboxes.com', 'url:https://sbmsa.wiki/blog/_insert']);
    expect(feed.unmapped.map((u) => u.origin)).toEqual(['3cx.csv line 14', '3cx.csv line 15']);
    // The multi-line quoted note on line 7 did not shift the line numbers after it.
  });

  it('accepts the header and type spellings found across the lists, and cites only a Description that is a URL', () => {
    const feed = parseFeedText(
      'Indicator type,Data,Notes,,,\nDescription,see the blog,Some campaign\nSHA-256,' + 'e'.repeat(64) + ',dropper.exe\nIP address,203.0.113.9,C2\nip_port,198.51.100.4:8443,C2 with port\n',
      'other.csv',
    );
    expect(feed.sources).toEqual([]);
    expect(feed.title).toBe('Some campaign');
    expect(feed.items.map((i) => (i.kind === 'file' ? `file:${i.fileName}` : `${i.kind}:${i.value}`))).toEqual(['file:dropper.exe', 'ip:203.0.113.9', 'ip:198.51.100.4']);
  });

  it('names the line and field of malformed rows, and refuses a file without the layout\'s header', () => {
    expect(() => parseFeedText('Indicator_type,Data,Note\r\nSHA256,abcd,short\r\nMD5,XYZ,bad\r\n', 'v.csv')).toThrow(/v\.csv: 2 problems:\n {2}- line 2: Data: SHA-256 must be 64 hex digits, got 4\n {2}- line 3: Data: "XYZ" is not hexadecimal/);
    expect(() => parseFeedText('Name,Value\r\nx,y\r\n', 'v.csv')).toThrow(/line 1: expected a header with an Indicator_type \(or Indicator\) column and a Data column/);
    expect(() => parseFeedText('Indicator_type,Data,Note\r\nURL,"a.example,x\r\n', 'v.csv')).toThrow(/v\.csv: line 2, column 5: a quoted field is never closed/);
    expect(() => parseFeedText('', 'v.csv')).toThrow(/the file is empty/);
  });
});

describe('draft builder', () => {
  it('merges duplicates across feeds, does not validate until applications and advice are added, then validates', async () => {
    const feeds: FeedResult[] = [parseFeedText(await fixture('3cx-stix21-bundle.json'), 'bundle.json'), parseFeedText(await fixture('3cx-sophos-layout.csv'), '3cx.csv')];
    const { draft, report } = buildDraft(feeds, { id: 'x-draft', published: '2026-12-05' });
    const hashes = draft.hashes as { sha256: string; md5?: string; sources: string[]; description?: string }[];
    expect(hashes.map((h) => h.sha256)).toEqual([
      '7986bbaee8940da11ce089383521ab420c443ab7b15ed42aed91fd31ce833896',
      '59e1edf4d82fae4978e97512b0331b7eb21dd4b838b850ba46794d9c7a2c0983',
      'aa124a4b4df12b34e74ee7f6c683b2ebec4ce9a8edcf9be345823b4fdcf5d868',
      'c485674ee63ec8d4e8fde9800788175a8b02d3f9416d0e763360fff7f8eb4e02',
    ]);
    // The bundle and the CSV cite the same Sophos URL: one source, cited by both.
    const sources = draft.sources as { id: string; url: string }[];
    expect(sources.map((s) => s.id)).toEqual(['volexity', 'sophos-x-ops', 'crowdstrike']);
    expect(hashes[1]!.sources).toEqual(['volexity', 'sophos-x-ops']);
    // The CSV's MD5-only row joined the SHA-256 entry the bundle gave for the same file.
    expect(hashes[0]!.md5).toBe('74bc2d0b6680faa1a5a76b27e5479cbc');
    const network = draft.network as { domains: { domain: string; sources: string[] }[]; urls: { url: string }[]; advice: string };
    expect(network.domains.filter((d) => d.domain === 'msstorageboxes.com')).toEqual([expect.objectContaining({ sources: ['volexity', 'sophos-x-ops'] })]);
    expect(network.urls.map((u) => u.url)).toEqual(['https://raw.githubusercontent.com/IconStorages/images/main/', 'https://sbmsa.wiki/blog/_insert']);
    expect(report.counts).toEqual({ hashes: 4, domains: 5, urls: 2, ips: 0, sources: 3, duplicatesMerged: 6, unmapped: 6 });
    expect(report.unmapped.map((u) => u.origin)).toContain('3cx.csv line 7');
    expect(report.notes).toEqual([expect.stringMatching(/2 observables from observed-data were mapped/)]);

    let problems: string[] = [];
    try {
      parsePack(draft, 'draft.json');
    } catch (err) {
      problems = (err as PackError).problems;
    }
    expect(problems).toContain('applications: Too small: expected array to have >=1 items');
    expect(problems).toContain('advice: Too small: expected array to have >=1 items');
    expect(problems).toContain('hashes[0].advice: unknown advice id "known-bad-file"');
    expect(problems).toContain('network.advice: unknown advice id "known-bad-host"');

    const pack = parsePack(completed(draft), 'draft.json');
    expect(pack.hashes).toHaveLength(4);
    expect(pack.network?.domains).toHaveLength(5);
  });

  it('leaves out what no feed gave, so validation names it', () => {
    const { draft, report } = buildDraft(
      [{ feed: 'f', items: [{ kind: 'file', sha256: 'd'.repeat(64), origin: 'f line 2', sources: [] }], sources: [], unmapped: [] }],
      { id: 'bare', published: '2026-12-05' },
    );
    expect(report.todo).toEqual(expect.arrayContaining([expect.stringMatching(/^title:/), expect.stringMatching(/^summary:/), 'hashes: 1 without a fileName: give the name the sources use', expect.stringMatching(/^1 indicators cite no source/)]));
    expect(() => parsePack(completed(draft), 'bare.json')).toThrow(/title: .*[\s\S]*hashes\[0\]\.fileName: [\s\S]*hashes\[0\]\.sources: every indicator must cite at least one source/);
  });
});
