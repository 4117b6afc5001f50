/**
 * `vigil pack validate FILE...` checks packs (exit 0 valid, 64 invalid, naming each field);
 * `vigil pack keygen --key-id ID --out PREFIX` makes an Ed25519 signing key pair;
 * `vigil pack sign --key PRIVATE.pem --key-id ID --out SIGNED.json FILE` wraps a valid pack
 * in a signed envelope. Private keys are written with mode 0600 and never printed.
 * `vigil pack import FEED... --out DRAFT.json` drafts a pack from STIX 2.1 bundles and
 * Sophos-layout IoC CSVs (core/pack/import), with an import report beside it.
 */
import { readFile, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { EXIT, UsageError, type CliIo } from '../io.js';
import { PackError } from '../../core/pack/load.js';
import { loadPackFile } from '../../core/pack/parse-pack.js';
import { generatePackKey, signPack } from '../../core/pack/pack-signature.js';
import { FeedError, type FeedResult } from '../../core/pack/import/feed.js';
import { readFeedFile } from '../../core/pack/import/read-feed.js';
import { buildDraft, toPackId } from '../../core/pack/import/draft.js';

const HELP = `usage:
  vigil pack validate FILE...                       check packs; errors name the field
  vigil pack keygen --key-id ID --out PREFIX         write PREFIX.key.pem (0600) and PREFIX.pub.json
  vigil pack sign --key FILE --key-id ID --out FILE PACK
  vigil pack import FEED... --out DRAFT.json [--id ID] [--title TEXT]
                                                    draft a pack from STIX 2.1 bundles and Sophos-layout
                                                    IoC CSVs; unmapped entries go to DRAFT.unmapped.json
`;

export async function main(argv: string[], io: CliIo): Promise<number> {
  const [sub, ...rest] = argv;
  let parsed;
  try {
    parsed = parseArgs({
      args: rest,
      options: {
        'key-id': { type: 'string' },
        key: { type: 'string' },
        out: { type: 'string' },
        id: { type: 'string' },
        title: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      allowPositionals: true,
      strict: true,
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const { values, positionals } = parsed;
  const abs = (p: string) => path.resolve(io.cwd, p);
  if (!sub || values.help || sub === 'help') {
    io.stdout(HELP);
    return sub ? EXIT.ok : EXIT.usage;
  }
  if (sub === 'validate') {
    if (positionals.length === 0) throw new UsageError('validate needs at least one FILE');
    let bad = 0;
    for (const file of positionals) {
      try {
        const lp = await loadPackFile(abs(file));
        const p = lp.pack;
        io.stdout(`${file}: valid: ${p.id} v${p.version} (${p.applications.length} applications, ${p.versionRules.length} version rules, ${p.hashes.length} hashes, ${p.signers.length} signers, ${p.network?.domains.length ?? 0} domains, ${p.artifacts.length} artefacts, ${p.sources.length} sources)\n`);
      } catch (err) {
        if (!(err instanceof PackError)) throw err;
        bad++;
        io.stderr(`${err.message}\n`);
      }
    }
    return bad ? EXIT.usage : EXIT.ok;
  }
  if (sub === 'keygen') {
    if (!values['key-id'] || !values.out) throw new UsageError('keygen needs --key-id ID and --out PREFIX');
    const k = generatePackKey(values['key-id']);
    try {
      await writeFile(abs(`${values.out}.key.pem`), k.privateKeyPem, { mode: 0o600, flag: 'wx' });
      await writeFile(abs(`${values.out}.pub.json`), JSON.stringify({ keyId: k.keyId, publicKey: k.publicKey }, null, 2) + '\n', { flag: 'wx' });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new UsageError(`${values.out}.key.pem or .pub.json already exists; a key is never overwritten`);
      throw err;
    }
    io.stdout(`wrote ${values.out}.key.pem (private, keep it offline) and ${values.out}.pub.json (give to agents as a trusted pack key)\n`);
    return EXIT.ok;
  }
  if (sub === 'sign') {
    if (!values.key || !values['key-id'] || !values.out || positionals.length !== 1) {
      throw new UsageError('sign needs --key FILE --key-id ID --out FILE and one PACK');
    }
    try {
      await loadPackFile(abs(positionals[0]!)); // never sign a pack that would not load
    } catch (err) {
      if (err instanceof PackError) {
        io.stderr(`refusing to sign: ${err.message}\n`);
        return EXIT.usage;
      }
      throw err;
    }
    const doc = JSON.parse(await readFile(abs(positionals[0]!), 'utf8')) as unknown;
    const env = signPack(doc, values['key-id'], await readFile(abs(values.key), 'utf8'));
    await writeFile(abs(values.out), JSON.stringify(env, null, 2) + '\n');
    io.stdout(`wrote ${values.out}, signed by ${values['key-id']}\n`);
    return EXIT.ok;
  }
  if (sub === 'import') {
    if (!values.out || positionals.length === 0) throw new UsageError('import needs --out DRAFT.json and at least one FEED');
    const feeds: FeedResult[] = [];
    let bad = 0;
    for (const file of positionals) {
      try {
        feeds.push(await readFeedFile(abs(file), file));
      } catch (err) {
        if (!(err instanceof FeedError)) throw err;
        bad++;
        io.stderr(`${err.message}\n`);
      }
    }
    if (bad) {
      io.stderr(`nothing written: fix the feed${bad > 1 ? 's' : ''} above (or leave ${bad > 1 ? 'them' : 'it'} out)\n`);
      return EXIT.usage;
    }
    const out = values.out;
    const reportFile = `${out.replace(/\.json$/i, '')}.unmapped.json`;
    const id = values.id ?? toPackId(path.basename(out).replace(/\.json$/i, '').replace(/\.draft$/i, ''));
    const { draft, report } = buildDraft(feeds, { id, ...(values.title ? { title: values.title } : {}), published: new Date().toISOString().slice(0, 10) });
    try {
      await writeFile(abs(out), JSON.stringify(draft, null, 2) + '\n', { flag: 'wx' });
      await writeFile(abs(reportFile), JSON.stringify(report, null, 2) + '\n', { flag: 'wx' });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new UsageError(`${out} or ${reportFile} already exists; a draft is never overwritten`);
      throw err;
    }
    const c = report.counts;
    io.stdout(`wrote ${out}: draft pack "${id}" with ${c.hashes} hashes, ${c.domains} domains, ${c.urls} URLs, ${c.ips} IP addresses, ${c.sources} sources (${c.duplicatesMerged} duplicates merged)\n`);
    io.stdout(`wrote ${reportFile}: ${c.unmapped} entries not mapped${report.notes.length ? `, ${report.notes.length} notes` : ''}\n`);
    if (report.unmapped.length) {
      io.stdout('\nnot mapped (review each; add by hand what a source explains):\n');
      for (const u of report.unmapped) io.stdout(`  - ${u.origin}: ${u.value}\n      ${u.reason}\n`);
    }
    if (report.notes.length) {
      io.stdout('\nnotes:\n');
      for (const n of report.notes) io.stdout(`  - ${n}\n`);
    }
    io.stdout('\nthe draft does not validate until you add:\n');
    for (const t of report.todo) io.stdout(`  - ${t}\n`);
    return EXIT.ok;
  }
  throw new UsageError(`unknown pack command "${sub}"`);
}
