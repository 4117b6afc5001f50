/**
 * Loading packs: a pack either loads whole and valid or not at all, with an error that
 * names the file and the field. A pack of a newer format than this agent knows is refused
 * with a message saying to update, rather than half-understood.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import * as path from 'node:path';
import type { z } from 'zod';
import type { PackRef } from '../../shared/scan.js';
import { PACK_FORMAT, PackSchema, type Pack } from './schema.js';
import { PackEnvelopeSchema, verifyEnvelope, type TrustedPackKey } from './pack-signature.js';

/** Packs are small; this bounds what a hostile file can make us parse. */
export const MAX_PACK_BYTES = 4 * 1024 * 1024;

export interface LoadedPack {
  pack: Pack;
  ref: PackRef;
  file?: string;
}

export class PackError extends Error {
  constructor(
    readonly source: string,
    readonly problems: string[],
  ) {
    super(`${source}: ${problems.length === 1 ? problems[0] : `${problems.length} problems:\n  - ${problems.join('\n  - ')}`}`);
    this.name = 'PackError';
  }
}

function describeIssues(error: z.ZodError): string[] {
  return error.issues.map((issue) => {
    const where = issue.path.length ? issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('').replace(/^\./, '') : '(top level)';
    return `${where}: ${issue.message}`;
  });
}

/** Validates a parsed pack document (not an envelope). */
export function parsePack(doc: unknown, source: string): Pack {
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) {
    throw new PackError(source, ['(top level): a pack must be a JSON object']);
  }
  const format = (doc as { format?: unknown }).format;
  if (typeof format === 'number' && Number.isInteger(format) && format > PACK_FORMAT) {
    throw new PackError(source, [
      `format: pack format ${format} is newer than this agent supports (${PACK_FORMAT}); update Vigil to use this pack`,
    ]);
  }
  // Every format from 1 up to PACK_FORMAT is read; the schema refuses a pack that uses a
  // field its declared format does not have (see the format rule in schema.ts).
  if (format !== undefined && !(typeof format === 'number' && Number.isInteger(format) && format >= 1 && format <= PACK_FORMAT)) {
    throw new PackError(source, [`format: expected a pack format from 1 to ${PACK_FORMAT}, got ${JSON.stringify(format)}`]);
  }
  const result = PackSchema.safeParse(doc);
  if (!result.success) throw new PackError(source, describeIssues(result.error));
  return result.data;
}

export interface LoadPackOptions {
  /** Keys whose signatures are accepted on enveloped packs. */
  trustedKeys?: readonly TrustedPackKey[];
  /** Refuse plain (unsigned) pack documents: for packs that arrive from the network or policy. */
  requireSignature?: boolean;
}

/** Parses pack text: a plain pack document or a signed envelope. */
export function parsePackText(text: string, source: string, opts: LoadPackOptions = {}): LoadedPack {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new PackError(source, [`not valid JSON: ${(err as Error).message}`]);
  }
  let origin = 'unsigned';
  if (doc && typeof doc === 'object' && 'signatures' in doc) {
    const env = PackEnvelopeSchema.safeParse(doc);
    if (!env.success) throw new PackError(source, describeIssues(env.error).map((p) => `envelope ${p}`));
    const check = verifyEnvelope(env.data, opts.trustedKeys ?? []);
    if (!check.ok) throw new PackError(source, [`signatures: ${check.reason}`]);
    origin = `signed:${check.keyId}`;
    doc = env.data.pack;
  } else if (opts.requireSignature) {
    throw new PackError(source, ['signatures: this pack is not signed, and packs from this source must be']);
  }
  const pack = parsePack(doc, source);
  return { pack, ref: { id: pack.id, version: pack.version, title: pack.title, origin }, file: source };
}

export async function loadPackFile(file: string, opts: LoadPackOptions = {}): Promise<LoadedPack> {
  let text: string;
  try {
    const buf = await readFile(file);
    if (buf.length > MAX_PACK_BYTES) throw new PackError(file, [`file is ${buf.length} bytes; packs are limited to ${MAX_PACK_BYTES}`]);
    text = buf.toString('utf8');
  } catch (err) {
    if (err instanceof PackError) throw err;
    throw new PackError(file, [`cannot read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`]);
  }
  return parsePackText(text, file, opts);
}

const BUILTIN_DIR = fileURLToPath(new URL('./builtin/', import.meta.url));

/** A built-in pack file validated when the CLI was bundled: its text's SHA-256 and the parsed pack as JSON. */
export interface PrevalidatedPack {
  sha256: string;
  pack: string;
}

/**
 * The built-in packs as the bundled CLI ships them, already validated: scripts/build-cli.ts
 * parses each built-in file with PackSchema at build time and puts here the file's SHA-256
 * and the parsed pack (defaults filled in, unknown keys dropped). A file whose text still
 * has that hash is that pack, and is not parsed again (zod's pass over both built-in packs
 * was a fifth of a clean-PC `vigil check`); any other text (an edited or damaged file) is
 * validated as always. Undefined outside the bundle (tsc's output, tests): every file is
 * validated.
 */
const PREVALIDATED_BUILTINS: Readonly<Record<string, PrevalidatedPack>> | undefined = undefined;

/** The LoadedPack for a built-in file's text: from `prevalidated` when the text is the one validated, else parsed. */
export function loadBuiltinText(text: string, file: string, prevalidated: PrevalidatedPack | undefined): LoadedPack {
  if (prevalidated && createHash('sha256').update(text).digest('hex') === prevalidated.sha256) {
    const pack = JSON.parse(prevalidated.pack) as Pack;
    return { pack, ref: { id: pack.id, version: pack.version, title: pack.title, origin: 'builtin' }, file };
  }
  const lp = parsePackText(text, file);
  return { ...lp, ref: { ...lp.ref, origin: 'builtin' } };
}

/** What build-cli.ts embeds for one built-in file: validated now (throws a PackError naming the problem). */
export function prevalidateBuiltinText(text: string, file: string): PrevalidatedPack {
  return { sha256: createHash('sha256').update(text).digest('hex'), pack: JSON.stringify(parsePackText(text, file).pack) };
}

/** The packs shipped inside the application (covered by its own code signature). */
export async function builtinPacks(dir: string = BUILTIN_DIR): Promise<LoadedPack[]> {
  const names = (await readdir(dir)).filter((n) => n.endsWith('.json')).sort();
  const loaded: LoadedPack[] = [];
  for (const name of names) {
    const file = path.join(dir, name);
    const text = await readFile(file, 'utf8');
    loaded.push(loadBuiltinText(text, file, dir === BUILTIN_DIR ? PREVALIDATED_BUILTINS?.[name] : undefined));
  }
  return loaded;
}

/**
 * Whether a pack's origin vouches for it: shipped inside the application (covered by its
 * code signature) or signed by a trusted pack key. A plain pack document vouches for nothing.
 */
export function isVouchedFor(ref: PackRef): boolean {
  return ref.origin === 'builtin' || ref.origin.startsWith('signed:');
}

/** A pack mergePacks would not use, and why (the reason names the file, the id and the rule). */
export interface PackRefusal {
  pack: LoadedPack;
  /** The built-in or signed pack of the same id that stays in use. */
  kept: LoadedPack;
  reason: string;
}

export interface MergedPacks {
  packs: LoadedPack[];
  refused: PackRefusal[];
}

function refusalReason(p: LoadedPack, kept: LoadedPack): string {
  const keptKind = kept.ref.origin === 'builtin' ? 'built-in' : `signed (${kept.ref.origin.slice('signed:'.length)})`;
  return (
    `${p.file ?? p.ref.title}: unsigned pack "${p.pack.id}" version ${p.pack.version} not used: ` +
    `the ${keptKind} pack "${kept.pack.id}" version ${kept.pack.version} stays in use, because an unsigned pack never replaces ` +
    'a built-in or signed pack of the same id (sign it with a trusted pack key, or give it an id of its own)'
  );
}

/**
 * Combines packs, one per id. Among the packs a source vouches for (built-in or signed),
 * the highest version wins, so a newer signed pack delivered later replaces the built-in
 * one instead of doubling its findings. An unsigned pack is used only when no vouched-for
 * pack has its id: otherwise it is refused whatever its version (an unsigned copy of the
 * 3CX pack at version 99 with its rules emptied would switch 3CX detection off), and the
 * refusal is returned for the caller to report. Among unsigned packs alone, the highest
 * version wins as before. The result keeps the order in which ids first appear.
 */
export function mergePacks(packs: readonly LoadedPack[]): MergedPacks {
  const order: string[] = [];
  const vouched = new Map<string, LoadedPack>();
  const unsigned = new Map<string, LoadedPack[]>();
  for (const p of packs) {
    const id = p.pack.id;
    if (!vouched.has(id) && !unsigned.has(id)) order.push(id);
    if (isVouchedFor(p.ref)) {
      const current = vouched.get(id);
      if (!current || p.pack.version > current.pack.version) vouched.set(id, p);
    } else unsigned.set(id, [...(unsigned.get(id) ?? []), p]);
  }
  const out: LoadedPack[] = [];
  const refused: PackRefusal[] = [];
  for (const id of order) {
    const kept = vouched.get(id);
    const plain = unsigned.get(id) ?? [];
    if (kept) {
      out.push(kept);
      for (const p of plain) refused.push({ pack: p, kept, reason: refusalReason(p, kept) });
    } else {
      out.push(plain.reduce((best, p) => (p.pack.version > best.pack.version ? p : best)));
    }
  }
  return { packs: out, refused };
}
