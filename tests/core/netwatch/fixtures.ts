/** Reading the recorded outputs in tests/fixtures/netwatch as the runners would see them. */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

export const FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), '../../fixtures/netwatch');

/** The file decoded as UTF-8, as ProcessCommandRunner decodes a tool's output. */
export function fixture(rel: string): string {
  return readFileSync(path.join(FIXTURES, rel)).toString('utf8');
}
