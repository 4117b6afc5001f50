// tsc compiles .ts only; the built-in incident packs are JSON data that the compiled
// core reads at run time, so they are copied beside it.
import { cpSync, mkdirSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const from = path.join(root, 'src/core/pack/builtin');
const to = path.join(root, 'dist/core/pack/builtin');
mkdirSync(to, { recursive: true });
for (const f of readdirSync(from).filter((n) => n.endsWith('.json'))) cpSync(path.join(from, f), path.join(to, f));
