// Bundles the `vigil` CLI into dist/cli: dist/cli/main.js (package.json "bin", and what the
// Electron app's cli-mode imports for `Vigil.exe check`), one entry per command
// (dist/cli/commands/<name>.js, loaded by main.js only when that command runs) and shared
// chunks (dist/cli/chunk-*.js, each loaded only by the commands that need it).
//
// Why a bundle: RMM scripts run `vigil check` and `vigil verify` as processes on every PC,
// so start-up is what users pay. Unbundled, Node resolved and loaded hundreds of ES and
// CommonJS module files one by one (resolution, the CommonJS export lexer, module-format
// detection) before any work; bundled and minified it compiles a handful of files. What a
// command rarely needs stays in chunks it loads on demand (the Authenticode verifier,
// our own DER reader, when a file is actually verified, undici only behind a proxy, systeminformation when
// the stable id is first probed), see docs/ARCHITECTURE.md "Build".
//
// Kept outside the bundle: the server's dependencies (fastify, the native better-sqlite3,
// pg, nodemailer), imported from node_modules by the `server` command alone; the Electron
// app does not ship them. Runs after both tsc builds (tsconfig.electron.json emits an
// unbundled dist/cli through src/main's import of it); dist/cli is replaced whole.
import * as esbuild from 'esbuild';
import { cpSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PrevalidatedPack } from '../src/core/pack/load.js';
import { prevalidateBuiltinText } from '../src/core/pack/parse-pack.js';
import { SCRIPT_COMMANDS } from '../src/cli/script-commands.js';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));

/** Packages the server command imports at run time from node_modules. */
export const SERVER_EXTERNALS = ['better-sqlite3', 'fastify', '@fastify/*', 'pg', 'nodemailer'];

/**
 * Where the bundled code's module-relative paths point. The sources find the built-in
 * packs and package.json relative to their own file (dist/core/pack/load.js,
 * dist/core/version.js); in the bundle that code sits in dist/cli/, so the two lines are
 * rewritten, and the build fails if they no longer read as expected.
 */
interface RewriteContext {
  version: string;
  /** The built-in packs, validated now, by file name (see PREVALIDATED_BUILTINS in load.ts). */
  prevalidated: Record<string, PrevalidatedPack>;
}

const REWRITES: Record<string, { from: string; to: (ctx: RewriteContext) => string }[]> = {
  'src/core/pack/load.ts': [
    {
      from: "new URL('./builtin/', import.meta.url)",
      // dist/cli/<chunk>.js -> dist/core/pack/builtin/ (copied there by this script too).
      to: () => "new URL('../core/pack/builtin/', import.meta.url)",
    },
    {
      // Validated here, once, instead of by every `vigil check` (a pack file that does not
      // validate fails the build, naming the field).
      from: 'const PREVALIDATED_BUILTINS: Readonly<Record<string, PrevalidatedPack>> | undefined = undefined;',
      to: (ctx) => `const PREVALIDATED_BUILTINS: Readonly<Record<string, PrevalidatedPack>> | undefined = ${JSON.stringify(ctx.prevalidated)};`,
    },
  ],
  'src/cli/main.ts': [
    {
      // The commands shipped as CommonJS files too, run with V8's code cache (see below).
      from: 'const SCRIPT_COMMANDS: readonly string[] = [];',
      to: () => `const SCRIPT_COMMANDS: readonly string[] = ${JSON.stringify(SCRIPT_COMMANDS)};`,
    },
  ],
  'src/core/version.ts': [
    {
      from: "(require('../../package.json') as { version: string }).version",
      // The version is fixed at build time (package.json is the one place it is set).
      to: (ctx) => JSON.stringify(ctx.version),
    },
  ],
};

const BUILTIN_PACKS_DIR = path.join(root, 'src/core/pack/builtin');

function prevalidateBuiltins(): Record<string, PrevalidatedPack> {
  const out: Record<string, PrevalidatedPack> = {};
  for (const name of readdirSync(BUILTIN_PACKS_DIR).filter((n) => n.endsWith('.json')).sort()) {
    const file = path.join(BUILTIN_PACKS_DIR, name);
    out[name] = prevalidateBuiltinText(readFileSync(file, 'utf8'), file);
  }
  return out;
}

/** `required`: the files the build must have rewritten (the ES build has them all). */
const rewritePaths = (required: readonly string[]): esbuild.Plugin => ({
  name: 'vigil-bundle-paths',
  setup(build) {
    const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string };
    const ctx: RewriteContext = { version: pkg.version, prevalidated: prevalidateBuiltins() };
    const files = required.map((f) => path.join(root, f));
    const seen = new Set<string>();
    build.onLoad({ filter: /[\\/]src[\\/](core[\\/]pack[\\/]load|core[\\/]version|cli[\\/]main)\.ts$/ }, (args) => {
      const rel = path.relative(root, args.path).split(path.sep).join('/');
      const rules = REWRITES[rel];
      if (!rules) return undefined;
      let text = readFileSync(args.path, 'utf8');
      for (const rule of rules) {
        if (text.split(rule.from).length !== 2) throw new Error(`${rel}: expected exactly one "${rule.from}" to rewrite for the bundle`);
        // A function replacement: the JSON may hold "$&" and other replacement patterns.
        text = text.replace(rule.from, () => rule.to(ctx));
      }
      seen.add(args.path);
      return { contents: text, loader: 'ts' };
    });
    build.onEnd((result) => {
      if (result.errors.length) return;
      const missed = files.filter((f) => !seen.has(f));
      if (missed.length) throw new Error(`the bundle no longer includes ${missed.join(', ')}: update scripts/build-cli.ts`);
    });
  },
});

/**
 * zod re-exports all of its ~50 message locales (`z.locales`, `core.locales`): 260 KB of the
 * 470 KB zod leaves in the bundle, compiled by every command. Vigil uses only English, the
 * one zod installs itself (`config(en())`, imported from locales/en.js directly), so the
 * index of locales resolves to English alone.
 */
const zodEnglishOnly: esbuild.Plugin = {
  name: 'zod-english-only',
  setup(build) {
    build.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, (args) => {
      if (!/[\\/]node_modules[\\/]zod[\\/]v4[\\/](classic|core)$/.test(args.resolveDir)) return undefined;
      return { path: path.join(args.resolveDir, '../locales/en.js'), namespace: 'zod-locales' };
    });
    build.onLoad({ filter: /.*/, namespace: 'zod-locales' }, (args) => ({
      contents: `export { default as en } from ${JSON.stringify(args.path)};`,
      resolveDir: path.dirname(args.path),
      loader: 'js',
    }));
  },
};

/**
 * Node's built-in modules are loaded with require(), not as ES modules. Importing a
 * built-in from an ES module makes Node build its ES facade, which reads every export once,
 * lazy getters included: `import { realpathSync } from 'node:fs'` reads fs.ReadStream and
 * so loads node:stream and its dozen internal modules, `node:crypto` its whole WebCrypto
 * implementation (about 10 ms of a clean-PC check, measured on Node 20). esbuild's
 * CommonJS interop reads a property only when the code uses it. node:module stays an
 * import: the banner's createRequire comes from it.
 */
const builtinsThroughRequire: esbuild.Plugin = {
  name: 'builtins-through-require',
  setup(build) {
    const bare = new Set(builtinModules);
    build.onResolve({ filter: /^[a-z_/:]+$/ }, (args) => {
      if (args.kind !== 'import-statement' && args.kind !== 'dynamic-import') return undefined;
      const name = args.path.startsWith('node:') ? args.path : bare.has(args.path) ? `node:${args.path}` : undefined;
      if (!name || name === 'node:module') return undefined;
      return { path: name, namespace: 'node-builtin' };
    });
    build.onLoad({ filter: /.*/, namespace: 'node-builtin' }, (args) => ({ contents: `module.exports = require(${JSON.stringify(args.path)});`, loader: 'js' }));
  },
};

/**
 * The commands RMM scripts start on every PC, again and again, also as one CommonJS file
 * each (dist/cli/<name>.cjs), which main.js runs through src/cli/command-script.ts with
 * V8's code cache: Node 20 caches no compiled ES modules, and a clean-PC check spent about
 * 40 ms compiling its chunks. One file per command: what the command loads only when
 * needed (the Authenticode verifier) is wrapped by esbuild to run only when first
 * imported, and compiled (then cached) only once called.
 *
 * zod is the exception: it is its own file, dist/cli/zod.cjs, required by the command files
 * when a schema is first needed (`vigil check --pack FILE`, `--platform`, a signed pack's
 * settings). A clean-PC check needs none, and every byte of a command file is read (and
 * hashed, for its cache) on every run: zod was 210 KB of check.cjs's 830 KB. One zod
 * file for both commands, so a process never holds two zods.
 */
const SCRIPT_ZOD = 'zod.cjs';
/** The package's "bin" (see buildLauncher). */
export const LAUNCHER = 'vigil.cjs';

/** `import ... from 'zod'` in a command file: require('./zod.cjs') when first used. */
const zodFromItsOwnFile: esbuild.Plugin = {
  name: 'zod-from-its-own-file',
  setup(build) {
    build.onResolve({ filter: /^zod$/ }, () => ({ path: `./${SCRIPT_ZOD}`, external: true }));
  },
};

const SCRIPT_OPTIONS = {
  absWorkingDir: root,
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  mainFields: ['module', 'main'],
  keepNames: true,
  legalComments: 'none',
  sourcemap: false,
  logLevel: 'warning',
  write: false as const,
} satisfies esbuild.BuildOptions;

async function buildCommandScripts(outdir: string, minify: boolean): Promise<void> {
  const commands = await esbuild.build({
    ...SCRIPT_OPTIONS,
    entryPoints: SCRIPT_COMMANDS.map((c) => path.join(root, 'src/cli/commands', `${c}.ts`)),
    outdir,
    outExtension: { '.js': '.cjs' },
    minify,
    external: SERVER_EXTERNALS,
    // The sources' import.meta.url (the built-in packs' folder) is this file's URL.
    define: { 'import.meta.url': '__vigilScriptUrl' },
    banner: { js: 'var __vigilScriptUrl=require("node:url").pathToFileURL(__filename).href;' },
    // Built-ins a command imports only when it needs them (import('node:child_process'))
    // become a require() on first use, as in the ES build, rather than an import() the
    // script could not run.
    plugins: [rewritePaths(['src/core/version.ts']), zodFromItsOwnFile, builtinsThroughRequire],
  });
  const zod = await esbuild.build({
    ...SCRIPT_OPTIONS,
    stdin: { contents: "export * from 'zod';", resolveDir: root, loader: 'js', sourcefile: 'zod-for-command-scripts.js' },
    outfile: path.join(outdir, SCRIPT_ZOD),
    minify,
    plugins: [zodEnglishOnly],
  });
  for (const out of [...commands.outputFiles, ...zod.outputFiles]) {
    // vm.Script runs these without a dynamic-import hook: every import() must have been
    // bundled into a plain function call.
    if (/\bimport\(/.test(out.text)) throw new Error(`${path.relative(root, out.path)} still holds a dynamic import(); bundle it or leave the command out of SCRIPT_COMMANDS`);
    writeFileSync(out.path, out.contents);
  }
}

/**
 * dist/cli/vigil.cjs, the package's "bin" (src/cli/launcher.ts): CommonJS, so `vigil check`
 * and `vigil verify` start without Node's ES-module loader; it imports main.js (left as
 * is, not bundled in) for every other command.
 */
async function buildLauncher(outdir: string, minify: boolean): Promise<void> {
  const result = await esbuild.build({
    ...SCRIPT_OPTIONS,
    entryPoints: [path.join(root, 'src/cli/launcher.ts')],
    outfile: path.join(outdir, LAUNCHER),
    minify,
    banner: { js: '#!/usr/bin/env node' },
    plugins: [
      {
        name: 'launcher-imports-main',
        setup(build) {
          build.onResolve({ filter: /^\.\/main\.js$/ }, () => ({ path: './main.js', external: true }));
        },
      },
    ],
  });
  for (const out of result.outputFiles) writeFileSync(out.path, out.contents, { mode: 0o755 });
}

export async function buildCli(opts: { outDir?: string; metafile?: string; minify?: boolean } = {}): Promise<string> {
  const outdir = opts.outDir ?? path.join(root, 'dist/cli');
  const commandsDir = path.join(root, 'src/cli/commands');
  const commands = readdirSync(commandsDir).filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'));
  rmSync(outdir, { recursive: true, force: true });
  const result = await esbuild.build({
    absWorkingDir: root,
    entryPoints: [path.join(root, 'src/cli/main.ts'), ...commands.map((f) => path.join(commandsDir, f))],
    outdir,
    outbase: path.join(root, 'src/cli'),
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    // Prefer the packages' ES builds: smaller, and unused exports drop out.
    mainFields: ['module', 'main'],
    // `--no-minify` (to read a CPU profile by function name); what ships is minified.
    minify: opts.minify ?? true,
    // Names stay readable in stack traces and in `err.name` checks.
    keepNames: true,
    external: SERVER_EXTERNALS,
    // Bundled CommonJS packages (undici, systeminformation) call require() for Node's
    // built-in modules; an ES module has no require of its own.
    banner: { js: "import{createRequire as __vigilRequire}from'node:module';const require=__vigilRequire(import.meta.url);" },
    plugins: [rewritePaths(Object.keys(REWRITES)), zodEnglishOnly, builtinsThroughRequire],
    legalComments: 'none',
    sourcemap: false,
    logLevel: 'warning',
    metafile: opts.metafile !== undefined,
  });
  // `--meta FILE`: what each output holds (https://esbuild.github.io/analyze/ reads it).
  if (opts.metafile !== undefined) writeFileSync(opts.metafile, JSON.stringify(result.metafile));
  await buildCommandScripts(outdir, opts.minify ?? true);
  await buildLauncher(outdir, opts.minify ?? true);
  // The built-in packs the bundle reads (see REWRITES), where tsc's output also reads them.
  const packsFrom = BUILTIN_PACKS_DIR;
  const packsTo = path.join(path.dirname(outdir), 'core/pack/builtin');
  mkdirSync(packsTo, { recursive: true });
  for (const f of readdirSync(packsFrom).filter((n) => n.endsWith('.json'))) cpSync(path.join(packsFrom, f), path.join(packsTo, f));
  return path.join(outdir, 'main.js');
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const arg = (name: string) => (process.argv.includes(name) ? process.argv[process.argv.indexOf(name) + 1] : undefined);
  const out = arg('--out');
  const meta = arg('--meta');
  const file = await buildCli({
    ...(out ? { outDir: path.resolve(out) } : {}),
    ...(meta ? { metafile: path.resolve(meta) } : {}),
    ...(process.argv.includes('--no-minify') ? { minify: false } : {}),
  });
  console.log(`cli: ${path.relative(root, file)}`);
}
