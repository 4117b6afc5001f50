/**
 * The packs in use: the built-in ones, and how packs of the same id combine (mergePacks).
 * Validating a pack's text (zod, the pack schema, signatures) is parse-pack.ts's job, loaded
 * only when a pack has to be validated: the bundled CLI's built-in packs were validated when
 * it was built, so a clean-PC `vigil check` loads neither zod nor the schema (issue 11).
 */
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import * as path from 'node:path';
import type { PackRef } from '../../shared/scan.js';
import type { Pack } from './schema.js';

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

/**
 * The LoadedPack for a built-in file's text from `prevalidated`, when the text is the one
 * validated at build time; undefined otherwise (the text must then be validated: see
 * loadBuiltinText in parse-pack.ts).
 */
export function fromPrevalidated(text: string, file: string, prevalidated: PrevalidatedPack | undefined): LoadedPack | undefined {
  if (!prevalidated || createHash('sha256').update(text).digest('hex') !== prevalidated.sha256) return undefined;
  const pack = JSON.parse(prevalidated.pack) as Pack;
  return { pack, ref: { id: pack.id, version: pack.version, title: pack.title, origin: 'builtin' }, file };
}

/** The packs shipped inside the application (covered by its own code signature). */
export async function builtinPacks(dir: string = BUILTIN_DIR): Promise<LoadedPack[]> {
  const names = (await readdir(dir)).filter((n) => n.endsWith('.json')).sort();
  const loaded: LoadedPack[] = [];
  for (const name of names) {
    const file = path.join(dir, name);
    const text = await readFile(file, 'utf8');
    const prevalidated = fromPrevalidated(text, file, dir === BUILTIN_DIR ? PREVALIDATED_BUILTINS?.[name] : undefined);
    // zod and the pack schema load only when a file has to be validated (never for the
    // bundled CLI's own packs): a clean-PC `vigil check` does not load them at all.
    loaded.push(prevalidated ?? (await import('./parse-pack.js')).loadBuiltinText(text, file, undefined));
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
