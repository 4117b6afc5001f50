/**
 * Built-in packs validated when the CLI is bundled (scripts/build-cli.ts embeds each file's
 * SHA-256 and its parsed pack): the embedded pack is exactly what validating the file
 * gives, a file whose text changed is validated again (a stale entry is never trusted), and
 * a built-in file that does not validate fails the build with the field named.
 */
import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { PackError } from '../../../src/core/pack/load.js';
import { loadBuiltinText, prevalidateBuiltinText } from '../../../src/core/pack/parse-pack.js';

const DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../src/core/pack/builtin');
const files = readdirSync(DIR).filter((n) => n.endsWith('.json')).map((n) => path.join(DIR, n));

describe('prevalidated built-in packs', () => {
  it('the embedded pack equals the validated file, defaults filled in, for every built-in pack', () => {
    expect(files.length).toBeGreaterThanOrEqual(2);
    for (const file of files) {
      const text = readFileSync(file, 'utf8');
      const pre = prevalidateBuiltinText(text, file);
      const fromEmbedded = loadBuiltinText(text, file, pre);
      const validated = loadBuiltinText(text, file, undefined);
      expect(fromEmbedded, file).toEqual(validated);
      expect(fromEmbedded.ref.origin).toBe('builtin');
      // Fresh objects each time: a caller changing one pack cannot change the next load's.
      expect(loadBuiltinText(text, file, pre).pack).not.toBe(fromEmbedded.pack);
    }
  });

  it('a file whose text changed is validated, not taken from the stale entry', () => {
    const file = files[0]!;
    const text = readFileSync(file, 'utf8');
    const pre = prevalidateBuiltinText(text, file);
    const doc = JSON.parse(text) as { title: string; rules?: unknown };
    const retitled = JSON.stringify({ ...doc, title: 'Changed on disk' });
    expect(loadBuiltinText(retitled, file, pre).pack.title).toBe('Changed on disk');
    const broken = JSON.stringify({ ...doc, title: 42 });
    expect(() => loadBuiltinText(broken, file, pre)).toThrow(PackError);
    expect(() => loadBuiltinText(broken, file, pre)).toThrow(/title/);
  });

  it('a built-in file that does not validate cannot be prevalidated (the build fails, naming the field)', () => {
    const file = files[0]!;
    const doc = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    expect(() => prevalidateBuiltinText(JSON.stringify({ ...doc, id: '' }), file)).toThrow(/id/);
    expect(() => prevalidateBuiltinText('{ not json', file)).toThrow(/not valid JSON/);
  });
});
