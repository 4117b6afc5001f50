/**
 * Validating pack text: a pack either loads whole and valid or not at all, with an error
 * that names the file and the field. A pack of a newer format than this agent knows is
 * refused with a message saying to update, rather than half-understood. A signed envelope
 * must verify against the trusted pack keys.
 *
 * Its own module, apart from load.ts, because it loads zod and the pack schema: load.ts
 * imports it only when a file has to be validated (see builtinPacks).
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { z } from 'zod';
import { fromPrevalidated, MAX_PACK_BYTES, PackError, type LoadedPack, type PrevalidatedPack } from './load.js';
import { PACK_FORMAT, PackSchema, type Pack } from './schema.js';
import { PackEnvelopeSchema, verifyEnvelope, type TrustedPackKey } from './pack-signature.js';

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

/** The LoadedPack for a built-in file's text: from `prevalidated` when the text is the one validated, else parsed. */
export function loadBuiltinText(text: string, file: string, prevalidated: PrevalidatedPack | undefined): LoadedPack {
  const known = fromPrevalidated(text, file, prevalidated);
  if (known) return known;
  const lp = parsePackText(text, file);
  return { ...lp, ref: { ...lp.ref, origin: 'builtin' } };
}

/** What build-cli.ts embeds for one built-in file: validated now (throws a PackError naming the problem). */
export function prevalidateBuiltinText(text: string, file: string): PrevalidatedPack {
  return { sha256: createHash('sha256').update(text).digest('hex'), pack: JSON.stringify(parsePackText(text, file).pack) };
}
