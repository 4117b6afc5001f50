// Bundles the status window's preload into one CommonJS file: dist/preload/preload.cjs.
//
// Why a bundle: the preload runs sandboxed (sandbox: true), where it cannot be an ES
// module and its `require` knows only 'electron', 'events', 'timers' and 'url' — not
// other files. esbuild inlines src/preload/bridge.ts and the channel names from
// src/shared/ipc.ts and leaves `require("electron")` as the only import. tsc still
// typechecks the source (tsconfig.electron.json); esbuild only strips types.
//
// esbuild is the one bundler in the tree (tsx and vite depend on it); package.json
// should list it as a devDependency so it does not vanish with them.
import * as esbuild from 'esbuild';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));

export async function buildPreload(opts: { outFile?: string } = {}): Promise<string> {
  const outfile = opts.outFile ?? path.join(root, 'dist/preload/preload.cjs');
  await esbuild.build({
    absWorkingDir: root,
    entryPoints: [path.join(root, 'src/preload/preload.ts')],
    outfile,
    bundle: true,
    format: 'cjs',
    platform: 'node',
    target: ['node22', 'chrome140'],
    external: ['electron'],
    sourcemap: false,
    legalComments: 'none',
    logLevel: 'warning',
  });
  return outfile;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const out = process.argv.includes('--out') ? process.argv[process.argv.indexOf('--out') + 1] : undefined;
  const file = await buildPreload(out ? { outFile: path.resolve(out) } : {});
  console.log(`preload: ${path.relative(root, file)}`);
}
