/**
 * The CLI as it ships: scripts/build-cli.ts bundles src/cli into main.js, one file per
 * command and shared chunks (what the Electron app's cli-mode imports), check.cjs and
 * verify.cjs (run with V8's code cache), zod.cjs, and the launcher vigil.cjs (package.json
 * "bin"). The other CLI tests drive the sources; these spawn the bundle as RMM scripts do,
 * and import it as src/main/main.ts does, so a broken bundle (a path that moved, a chunk
 * that fails to load, an external that does not resolve) fails here.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildCli } from '../../scripts/build-cli.js';
import { APP_CLI_COMMANDS } from '../../src/main/cli-mode.js';
import type { CliIo } from '../../src/cli/io.js';
import { ScanReportSchema } from '../../src/shared/scan.js';
import { makePe } from '../helpers/make-pe.js';
import { electronAppVersionSpec, makeVersionResource } from '../helpers/make-version-resource.js';
import { makeSigningPki, osslsign } from '../helpers/signing-fixtures.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const VERSION = (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
const WIN_APP = 'Users/alice/AppData/Local/Programs/3CXDesktopApp';

// Inside the repository, so the server's externals (fastify, better-sqlite3) resolve from
// its node_modules as they do from an installed package.
let out: string;
let cli: string;
/** package.json "bin": the launcher. */
let bin: string;
let meta: { outputs: Record<string, { imports: { path: string; kind: string; external?: boolean }[]; inputs: Record<string, unknown> }> };
let work: string;

beforeAll(async () => {
  mkdirSync(path.join(ROOT, 'test-artifacts'), { recursive: true });
  out = mkdtempSync(path.join(ROOT, 'test-artifacts', 'bundled-cli-'));
  cli = await buildCli({ outDir: path.join(out, 'cli'), metafile: path.join(out, 'meta.json') });
  bin = path.join(path.dirname(cli), (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { bin: { vigil: string } }).bin.vigil.replace(/^dist\/cli\//, ''));
  meta = JSON.parse(readFileSync(path.join(out, 'meta.json'), 'utf8')) as typeof meta;
  work = mkdtempSync(path.join(tmpdir(), 'vigil-bundled-'));
}, 60_000);
afterAll(() => {
  if (out) rmSync(out, { recursive: true, force: true });
  if (work) rmSync(work, { recursive: true, force: true });
});

/** Runs the CLI as npm installs it (the launcher), or `entry` (main.js). */
function vigil(args: string[], env: NodeJS.ProcessEnv = {}, entry: string = bin, nodeArgs: string[] = []) {
  // The code caches of check and verify go to a folder of this test, not the user's.
  const cacheHome = { XDG_CACHE_HOME: path.join(work, 'xdg-cache') };
  return spawnSync(process.execPath, [...nodeArgs, entry, ...args], { cwd: work, encoding: 'utf8', env: { ...process.env, ...cacheHome, ...env }, timeout: 30_000 });
}

/**
 * What a run of the bin loaded: Node's built-in modules, the CommonJS files required, and
 * whether Node's ES-module loader loaded anything (its own debug log, NODE_DEBUG=esm).
 * check.cjs and verify.cjs run through vm.Script, so they are in neither list.
 */
function modulesLoadedBy(args: string[]): { builtins: string[]; files: string[]; esModules: boolean; stdout: string; status: number | null } {
  const preload = path.join(work, 'record-modules.cjs');
  const record = path.join(work, `modules-${Date.now()}-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(
    preload,
    "process.on('exit', () => require('node:fs').writeFileSync(process.env.VIGIL_TEST_MODULES, JSON.stringify({ builtins: process.moduleLoadList, files: Object.keys(require.cache) })));\n",
  );
  const r = vigil(args, { VIGIL_TEST_MODULES: record, NODE_DEBUG: 'esm' }, bin, ['--require', preload]);
  const loaded = JSON.parse(readFileSync(record, 'utf8')) as { builtins: string[]; files: string[] };
  const esModules = /^ESM \d+: .*\/cli\/main\.js/m.test(r.stderr);
  return { builtins: loaded.builtins, files: loaded.files.map((f) => path.basename(f)), esModules, stdout: r.stdout, status: r.status };
}

/** A Windows-layout root with a 3CX per-user install of this version (18.12.416 is a compromised build in the built-in pack). */
function windowsRoot(name: string, exe: Buffer): string {
  const root = path.join(work, name);
  mkdirSync(path.join(root, WIN_APP), { recursive: true });
  mkdirSync(path.join(root, 'Windows/System32'), { recursive: true });
  writeFileSync(path.join(root, WIN_APP, '3CXDesktopApp.exe'), exe);
  return root;
}

const exeWithVersion = (version: string) =>
  makePe({ resources: (rva) => makeVersionResource(rva, { languages: [{ id: 0x0409, info: electronAppVersionSpec(version) }] }) });

/** Every output file an output loads before its code runs (static imports, transitively). */
function staticClosure(file: string, seen = new Set<string>()): Set<string> {
  if (seen.has(file)) return seen;
  seen.add(file);
  for (const i of meta.outputs[file]?.imports ?? []) if (!i.external && i.kind === 'import-statement') staticClosure(i.path, seen);
  return seen;
}

/** ... and every file it may load later (dynamic imports too). */
function fullClosure(file: string, seen = new Set<string>()): Set<string> {
  if (seen.has(file)) return seen;
  seen.add(file);
  for (const i of meta.outputs[file]?.imports ?? []) if (!i.external && (i.kind === 'import-statement' || i.kind === 'dynamic-import')) fullClosure(i.path, seen);
  return seen;
}

function packagesLoadedBy(command: string, closure: (file: string) => Set<string> = staticClosure): Set<string> {
  const entry = Object.keys(meta.outputs).find((f) => f.endsWith(`/cli/commands/${command}.js`))!;
  const pkgs = new Set<string>();
  for (const f of closure(entry)) {
    for (const input of Object.keys(meta.outputs[f]!.inputs)) {
      const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(input);
      if (m) pkgs.add(m[1]!);
    }
  }
  return pkgs;
}

describe('the bundled CLI (dist/cli/main.js as shipped)', () => {
  it('answers --help and names its version in a check of an empty Windows image (exit 0)', () => {
    expect(vigil(['--help']).stdout).toMatch(/usage: vigil <command>/);
    const root = path.join(work, 'empty');
    mkdirSync(path.join(root, 'Windows/System32'), { recursive: true });
    const r = vigil(['check', '--json', '--root', root]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const report = ScanReportSchema.parse(JSON.parse(r.stdout));
    // The built-in 3CX pack was found beside the bundle, and the version is package.json's.
    expect(report.packs.map((p) => p.id)).toContain('3cx-desktopapp-2023-03');
    expect(report.agentVersion).toBe(VERSION);
    expect(report.verdict.status).toBe('ok');
  });

  it('finds an affected install and hashes it (loading the Authenticode chunk on demand): exit 2', () => {
    const root = windowsRoot('affected', exeWithVersion('18.12.416'));
    const r = vigil(['check', '--json', '--root', root]);
    expect(r.stderr).toBe('');
    const report = ScanReportSchema.parse(JSON.parse(r.stdout));
    expect(report.installs).toHaveLength(1);
    expect(report.installs[0]).toMatchObject({ version: '18.12.416', versionClass: 'compromised' });
    expect(report.installs[0]!.files[0]!.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(report.verdict.status).toBe('compromised');
    expect(r.status).toBe(2);
  });

  it('runs check and verify from their CommonJS files with a code cache made by the first run and used by the next', () => {
    const cacheHome = path.join(work, 'xdg-fresh');
    const cacheDir = path.join(cacheHome, 'vigil/compile-cache/v8-scripts');
    const root = path.join(work, 'empty-cached');
    mkdirSync(path.join(root, 'Windows/System32'), { recursive: true });
    const first = vigil(['check', '--json', '--root', root], { XDG_CACHE_HOME: cacheHome });
    expect(first.stderr).toBe('');
    expect(first.status).toBe(0);
    const caches = readdirSync(cacheDir);
    expect(caches).toEqual([expect.stringMatching(/^check-[0-9a-f]{16}-\w+\.cache$/)]);
    const written = readFileSync(path.join(cacheDir, caches[0]!));
    const second = vigil(['check', '--json', '--root', root], { XDG_CACHE_HOME: cacheHome });
    expect(second.status).toBe(0);
    const verdict = (r: typeof first) => ScanReportSchema.parse(JSON.parse(r.stdout)).verdict;
    expect(verdict(second)).toEqual(verdict(first));
    // Used, not rewritten (a refused cache would have been replaced by a new one).
    expect(readFileSync(path.join(cacheDir, caches[0]!)).equals(written)).toBe(true);
    // No cache when the user turned Node's compile cache off.
    const off = path.join(work, 'xdg-off');
    expect(vigil(['check', '--json', '--root', root], { XDG_CACHE_HOME: off, NODE_DISABLE_COMPILE_CACHE: '1' }).status).toBe(0);
    expect(existsSync(off)).toBe(false);
  });

  it('is what the Electron app imports: runCli offers only the endpoint commands', async () => {
    const { runCli } = (await import(pathToFileURL(cli).href)) as { runCli: (argv: string[], io: CliIo, opts?: { only?: readonly string[] }) => Promise<number> };
    let stdout = '';
    let stderr = '';
    // The code cache goes to this test's folder (runCli takes the cache folder from io.env).
    const env = { XDG_CACHE_HOME: path.join(work, 'xdg-in-process') };
    const io: CliIo = { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t), env, cwd: work, interrupted: new Promise(() => {}) };
    expect(await runCli(['server', 'start'], io, { only: APP_CLI_COMMANDS })).toBe(64);
    expect(stderr).toMatch(/unknown command "server"/);
    const root = windowsRoot('in-app', exeWithVersion('18.12.425'));
    expect(await runCli(['check', '--json', '--root', root], io, { only: APP_CLI_COMMANDS })).toBe(1);
    expect(ScanReportSchema.parse(JSON.parse(stdout)).installs[0]).toMatchObject({ version: '18.12.425' });
    expect(readdirSync(path.join(env.XDG_CACHE_HOME, 'vigil/compile-cache/v8-scripts'))).toEqual([expect.stringMatching(/^check-/)]);
  });

  it('takes a built-in pack validated at build time only while its file is unchanged', () => {
    const file = path.join(out, 'core/pack/builtin/3cx-2023.json');
    const original = readFileSync(file, 'utf8');
    // The bundle carries the file's hash (and its validated pack) from the build.
    const sha256 = createHash('sha256').update(original).digest('hex');
    expect(readdirSync(path.join(out, 'cli')).some((f) => f.endsWith('.js') && readFileSync(path.join(out, 'cli', f), 'utf8').includes(sha256))).toBe(true);
    const root = path.join(work, 'empty-for-packs');
    mkdirSync(path.join(root, 'Windows/System32'), { recursive: true });
    try {
      writeFileSync(file, JSON.stringify({ ...(JSON.parse(original) as object), title: 'Edited beside the bundle' }));
      const edited = vigil(['check', '--json', '--root', root]);
      expect(edited.status).toBe(0);
      expect(ScanReportSchema.parse(JSON.parse(edited.stdout)).packs.map((p) => p.title)).toContain('Edited beside the bundle');
      writeFileSync(file, JSON.stringify({ ...(JSON.parse(original) as object), title: 42 }));
      const broken = vigil(['check', '--json', '--root', root]);
      expect(broken.status).toBe(64);
      expect(broken.stderr).toMatch(/3cx-2023\.json.*title/s);
    } finally {
      writeFileSync(file, original);
    }
  });

  it('runs the server command with its dependencies outside the bundle (better-sqlite3)', () => {
    const r = vigil(['server', 'token', 'create', '--tenant', 'Bundle Test', '--db', path.join(work, 'server.db'), '--json']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ tenant: { name: 'Bundle Test' }, enrollToken: expect.stringMatching(/^vigil_enroll_/) });
  });

  // The ES-module files of the commands (check and verify also ship as one CommonJS file
  // each, which main.js runs; their lazily-needed packages are then compiled only when first
  // called, see scripts/build-cli.ts).
  it('loads for each command only what that command needs before it runs', () => {
    const check = packagesLoadedBy('check');
    const verify = packagesLoadedBy('verify');
    const run = packagesLoadedBy('run');
    // undici only behind a proxy; systeminformation only to probe the stable id; the
    // server's packages never. The Authenticode parser is our own (signing/der.ts): no
    // command loads pkijs or asn1js, even lazily.
    for (const pkg of ['pkijs', 'asn1js', 'undici', 'systeminformation', 'fastify', 'better-sqlite3']) expect(check.has(pkg), `check loads ${pkg}`).toBe(false);
    for (const pkg of ['pkijs', 'undici', 'systeminformation', 'fastify']) expect(run.has(pkg), `run loads ${pkg}`).toBe(false);
    for (const cmd of ['check', 'verify', 'run']) {
      for (const pkg of ['pkijs', 'asn1js']) expect(packagesLoadedBy(cmd, fullClosure).has(pkg), `${cmd} can load ${pkg}`).toBe(false);
    }
    // verify: zod only on Windows, for the OS trust adapter's JSON.
    expect(verify.has('zod'), 'verify loads zod').toBe(false);
    // zod and the schemas: only for an option that needs one (--pack, --platform).
    expect(check.has('zod'), 'check loads zod before it runs').toBe(false);
    expect(packagesLoadedBy('check', fullClosure).has('zod')).toBe(true);
  });

  it('the bin runs check straight from check.cjs; a clean check loads neither zod nor child_process nor perf_hooks', () => {
    const root = path.join(work, 'empty-modules');
    mkdirSync(path.join(root, 'Windows/System32'), { recursive: true });
    const cacheDir = path.join(work, 'xdg-cache/vigil/compile-cache/v8-scripts');
    // Twice: the first run compiles and writes the code cache, the second uses it.
    for (let run = 0; run < 2; run++) {
      const clean = modulesLoadedBy(['check', '--json', '--root', root]);
      expect(clean.status).toBe(0);
      expect(ScanReportSchema.parse(JSON.parse(clean.stdout)).verdict.status).toBe('ok');
      expect(clean.esModules, 'main.js loaded').toBe(false);
      expect(readdirSync(cacheDir).some((f) => f.startsWith('check-'))).toBe(true);
      expect(clean.files).not.toContain('zod.cjs');
      expect(clean.builtins).not.toContain('NativeModule child_process');
      expect(clean.builtins).not.toContain('NativeModule perf_hooks');
    }
    // An option that needs a schema loads zod from its own file, once.
    const withPlatform = modulesLoadedBy(['check', '--json', '--root', root, '--platform', 'windows']);
    expect(withPlatform.status).toBe(0);
    expect(withPlatform.files.filter((f) => f === 'zod.cjs')).toEqual(['zod.cjs']);
    expect(vigil(['check', '--root', root, '--platform', 'amiga']).stderr).toMatch(/--platform must be windows, macos or linux, not "amiga"/);
    // Every other command goes through main.js.
    const help = modulesLoadedBy(['--help']);
    expect(help.stdout).toMatch(/usage: vigil <command>/);
    expect(help.esModules).toBe(true);
  });

  it('main.js still runs check itself (the launcher is a fast path, not the only way in)', () => {
    const root = path.join(work, 'empty-main');
    mkdirSync(path.join(root, 'Windows/System32'), { recursive: true });
    const r = vigil(['check', '--json', '--root', root], {}, cli);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(ScanReportSchema.parse(JSON.parse(r.stdout)).verdict.status).toBe('ok');
    expect(vigil(['check', '--bogus'], {}, cli).status).toBe(64);
    expect(vigil(['check', '--bogus']).status).toBe(64);
  });

  const haveSigner = spawnSync('osslsigncode', ['--version']).error === undefined && spawnSync('openssl', ['version']).error === undefined;
  if (!haveSigner) console.log('skipped: bundled verify needs osslsigncode and openssl (Debian packages: osslsigncode, openssl)');
  it.skipIf(!haveSigner && process.env.CI !== 'true')('verifies a signed PE (exit 0) and a tampered copy (exit 1)', () => {
    const pki = makeSigningPki(path.join(work, 'pki'));
    const unsigned = path.join(work, 'app.exe');
    writeFileSync(unsigned, exeWithVersion('18.12.425'));
    const signed = path.join(work, 'app-signed.exe');
    osslsign(pki, unsigned, signed, { name: 'Bundle Test' });
    const ok = vigil(['verify', '--json', signed]);
    expect(ok.stderr).toBe('');
    expect(JSON.parse(ok.stdout).results[0]).toMatchObject({ status: 'valid', format: 'authenticode' });
    expect(ok.status).toBe(0);
    const bytes = readFileSync(signed);
    bytes[0x200] = bytes[0x200]! ^ 0xff;
    const tampered = path.join(work, 'app-tampered.exe');
    writeFileSync(tampered, bytes);
    const bad = vigil(['verify', tampered]);
    expect(bad.stdout).toMatch(/status: +digest-mismatch/);
    expect(bad.status).toBe(1);
  });
});
