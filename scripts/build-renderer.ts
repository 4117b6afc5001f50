// Builds the status window into dist/renderer: index.html and styles.css as written, and
// app.js bundled from src/renderer/app.ts by esbuild as one classic (IIFE) script.
//
// Why esbuild and one file: the page loads from vigil://app under a CSP of
// script-src 'self', with no inline script and no eval; one plain script tag is the
// simplest thing that satisfies it and needs no module loading over a custom scheme.
// The renderer imports only types from src/shared, so nothing from zod or Node ends up
// in the bundle. tsc typechecks the source (tsconfig.renderer.json); esbuild only
// strips types. esbuild is already in the tree (tsx, vite); package.json should list it
// as a devDependency.
import * as esbuild from 'esbuild';
import { copyFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const src = path.join(root, 'src/renderer');
export const RENDERER_STATIC = ['index.html', 'styles.css'];

export async function buildRenderer(opts: { outDir?: string; minify?: boolean } = {}): Promise<string> {
  const outDir = opts.outDir ?? path.join(root, 'dist/renderer');
  mkdirSync(outDir, { recursive: true });
  await esbuild.build({
    absWorkingDir: root,
    entryPoints: [path.join(src, 'app.ts')],
    outfile: path.join(outDir, 'app.js'),
    bundle: true,
    format: 'iife',
    platform: 'browser',
    target: ['chrome120'],
    minify: opts.minify ?? false,
    sourcemap: false,
    legalComments: 'none',
    logLevel: 'warning',
  });
  for (const f of RENDERER_STATIC) copyFileSync(path.join(src, f), path.join(outDir, f));
  return outDir;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const out = process.argv.includes('--out') ? process.argv[process.argv.indexOf('--out') + 1] : undefined;
  const dir = await buildRenderer(out ? { outDir: path.resolve(out) } : {});
  console.log(`renderer: ${path.relative(root, dir) || dir}`);
}
