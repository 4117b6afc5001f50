/**
 * electron-builder.yml's fuses, proven on the binary electron-builder writes.
 *
 * Electron's binary cannot be downloaded here, so the build uses a placeholder
 * `electronDist`: a small generated PE with a VERSIONINFO resource (tests/helpers) or a copy of a system
 * ELF, each carrying a synthetic fuse wire in Electron's layout — the sentinel
 * `dL7pKGdnNz796PbbjQWNKmHXBZaB9tsX`, version 0x01, length 0x08, then one ASCII '0'/'1'
 * per fuse with Electron 45's defaults. electron-builder (target `dir`, fully offline)
 * renames the binary, packs app.asar, and flips the fuses through @electron/fuses; the
 * test then reads the wire back and checks every fuse, plus what went into app.asar.
 */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import yaml from 'js-yaml';
import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import { makePe } from '../helpers/make-pe.js';
import { electronAppVersionSpec, makeVersionResource } from '../helpers/make-version-resource.js';

const require = createRequire(import.meta.url);
const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const SENTINEL = Buffer.from('dL7pKGdnNz796PbbjQWNKmHXBZaB9tsX', 'latin1');
/** Electron 45's fuse defaults, in FuseV1Options order. */
const ELECTRON_DEFAULT_WIRE = '10110001';
const FUSES = [
  'runAsNode',
  'enableCookieEncryption',
  'enableNodeOptionsEnvironmentVariable',
  'enableNodeCliInspectArguments',
  'enableEmbeddedAsarIntegrityValidation',
  'onlyLoadAppFromAsar',
  'loadBrowserProcessSpecificV8Snapshot',
  'grantFileProtocolExtraPrivileges',
] as const;
const EXPECTED: Record<(typeof FUSES)[number], boolean> = {
  runAsNode: false,
  enableCookieEncryption: true,
  enableNodeOptionsEnvironmentVariable: false,
  enableNodeCliInspectArguments: false,
  enableEmbeddedAsarIntegrityValidation: true,
  onlyLoadAppFromAsar: true,
  loadBrowserProcessSpecificV8Snapshot: false,
  grantFileProtocolExtraPrivileges: false,
};

const fuseWire = () => Buffer.concat([SENTINEL, Buffer.from([0x01, 0x08]), Buffer.from(ELECTRON_DEFAULT_WIRE, 'latin1')]);

function readWire(bin: Buffer): Record<string, boolean> {
  const at = bin.indexOf(SENTINEL);
  expect(at).toBeGreaterThan(-1);
  expect(bin.indexOf(SENTINEL, at + 1)).toBe(-1);
  expect(bin[at + SENTINEL.length]).toBe(0x01); // wire version
  const len = bin[at + SENTINEL.length + 1]!;
  expect(len).toBe(FUSES.length);
  const wire = bin.toString('latin1', at + SENTINEL.length + 2, at + SENTINEL.length + 2 + len);
  expect(wire).toMatch(/^[01]+$/);
  return Object.fromEntries(FUSES.map((f, i) => [f, wire[i] === '1']));
}

/** The same wire as read by @electron/fuses itself (the library electron-builder uses). */
async function officialRead(bin: string): Promise<Record<string, boolean>> {
  const { getCurrentFuseWire } = require('@electron/fuses') as { getCurrentFuseWire(p: string): Promise<Record<string, number>> };
  const wire = await getCurrentFuseWire(bin);
  const ENABLE = 0x31; // FuseState.ENABLE ('1'); DISABLE is 0x30 ('0')
  return Object.fromEntries(FUSES.map((f, i) => [f, wire[String(i)] === ENABLE]));
}

function loadConfig(): Record<string, unknown> {
  return yaml.load(readFileSync(path.join(repo, 'electron-builder.yml'), 'utf8')) as Record<string, unknown>;
}

/** A minimal app tree shaped like the real build output. */
function makeProject(base: string): string {
  const app = path.join(base, 'app');
  const files: Record<string, string> = {
    'package.json': JSON.stringify({ name: 'vigil', version: '0.1.0', description: 'Vigil tray agent', author: 'Vigil', main: 'dist/main/main.js', type: 'module' }),
    'dist/main/main.js': 'export {};\n',
    'dist/main/main.js.map': '{}',
    'dist/core/agent.js': 'export {};\n',
    'dist/core/pack/builtin/3cx-2023.json': '{}',
    'dist/shared/ipc.js': 'export {};\n',
    'dist/preload/preload.cjs': '"use strict";\n',
    'dist/preload/preload.js': 'export {};\n',
    'dist/renderer/index.html': '<!doctype html>',
    'dist/renderer/styles.css': '',
    'dist/renderer/app.js': '',
    'dist/cli/main.js': 'export {};\n',
    'dist/cli/commands/check.js': 'export {};\n',
    'dist/cli/commands/server.js': 'export {};\n',
    'dist/server/main.js': 'export {};\n',
  };
  for (const [rel, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(app, rel)), { recursive: true });
    writeFileSync(path.join(app, rel), text);
  }
  for (const rel of ['assets/tray/ok.ico', 'assets/tray/ok-24.png', 'assets/app/vigil.ico', 'assets/app/vigil-512.png', 'assets/app/vigil-1024.png']) {
    mkdirSync(path.dirname(path.join(app, rel)), { recursive: true });
    copyFileSync(path.join(repo, rel), path.join(app, rel));
  }
  return app;
}

async function buildDir(platform: 'win' | 'linux', base: string, electronDist: string) {
  const { build, Platform, Arch } = await import('electron-builder');
  const app = makeProject(base);
  const out = path.join(base, 'out');
  const cfg = loadConfig();
  const config = {
    ...cfg,
    directories: { ...(cfg.directories as object), output: out, buildResources: path.join(base, 'build') },
    electronDist,
    electronVersion: '45.4.1',
    // Icons are tested elsewhere; keep the offline build from converting them.
    win: { ...(cfg.win as object), target: [{ target: 'dir', arch: ['x64'] }], icon: undefined },
    linux: { ...(cfg.linux as object), target: [{ target: 'dir', arch: ['x64'] }], icon: undefined },
    publish: null,
  };
  const targets = platform === 'win' ? Platform.WINDOWS.createTarget('dir', Arch.x64) : Platform.LINUX.createTarget('dir', Arch.x64);
  await build({ projectDir: app, targets, config: config as never, publish: 'never' });
  return out;
}

function asarFiles(asarPath: string): string[] {
  const asar = require('@electron/asar') as { listPackage(p: string, o: object): string[] };
  return asar.listPackage(asarPath, {}).map((f) => f.split(path.sep).join('/'));
}

function expectPackagedFiles(list: string[]) {
  // The CLI entry and its endpoint commands ship (Vigil.exe check); the server does not.
  for (const f of ['/package.json', '/dist/main/main.js', '/dist/core/agent.js', '/dist/core/pack/builtin/3cx-2023.json', '/dist/preload/preload.cjs', '/dist/renderer/index.html', '/dist/renderer/app.js', '/assets/tray/ok.ico', '/dist/cli/main.js', '/dist/cli/commands/check.js']) {
    expect(list).toContain(f);
  }
  for (const f of ['/dist/main/main.js.map', '/dist/preload/preload.js', '/dist/cli/commands/server.js', '/dist/server/main.js']) expect(list).not.toContain(f);
}

describe('electron-builder.yml', () => {
  it('validates against the installed electron-builder schema', () => {
    const schema = JSON.parse(readFileSync(require.resolve('app-builder-lib/scheme.json'), 'utf8'));
    const validate = new Ajv({ strict: false, allErrors: true }).compile(schema);
    const ok = validate(loadConfig());
    expect(validate.errors ?? []).toEqual([]);
    expect(ok).toBe(true);
  });

  it('names the app and asks for every fuse', () => {
    const cfg = loadConfig();
    expect(cfg.appId).toBe('com.vigil.agent');
    expect(cfg.productName).toBe('Vigil');
    expect(cfg.asar).toBe(true);
    expect(cfg.electronFuses).toEqual(EXPECTED);
  });
});

describe('fuses in the packaged binary (offline, placeholder Electron)', () => {
  it('Windows: Vigil.exe has every fuse set as configured', async () => {
    const base = mkdtempSync(path.join(tmpdir(), 'vigil-fuses-win-'));
    const dist = path.join(base, 'electron-dist');
    mkdirSync(dist, { recursive: true });
    // electron-builder edits the VERSIONINFO resource (resedit) and adds the asar
    // integrity resource, so the placeholder carries a version resource like Electron's.
    const pe = makePe({
      sections: [{ name: '.rdata', data: fuseWire() }],
      resources: (rva) => makeVersionResource(rva, { languages: [{ id: 0x0409, info: electronAppVersionSpec('45.4.1') }] }),
    });
    writeFileSync(path.join(dist, 'electron.exe'), pe);
    writeFileSync(path.join(dist, 'LICENSE'), 'placeholder\n');
    expect(readWire(readFileSync(path.join(dist, 'electron.exe')))).toEqual(Object.fromEntries(FUSES.map((f, i) => [f, ELECTRON_DEFAULT_WIRE[i] === '1'])));

    const out = await buildDir('win', base, dist);
    const exe = path.join(out, 'win-unpacked', 'Vigil.exe');
    expect(existsSync(exe)).toBe(true);
    const bin = readFileSync(exe);
    expect(readWire(bin)).toEqual(EXPECTED);
    expect(await officialRead(exe)).toEqual(EXPECTED);
    // Asar integrity on Windows needs the hash embedded as a resource (type INTEGRITY, name ELECTRONASAR).
    expect(bin.indexOf(Buffer.from('ELECTRONASAR', 'utf16le'))).toBeGreaterThan(-1);
    expectPackagedFiles(asarFiles(path.join(out, 'win-unpacked', 'resources', 'app.asar')));
    expect(existsSync(path.join(out, 'win-unpacked', 'resources', 'app'))).toBe(false);
  }, 180_000);

  it('Linux: the vigil binary has every fuse set as configured', async () => {
    const base = mkdtempSync(path.join(tmpdir(), 'vigil-fuses-linux-'));
    const dist = path.join(base, 'electron-dist');
    mkdirSync(dist, { recursive: true });
    writeFileSync(path.join(dist, 'electron'), Buffer.concat([readFileSync('/bin/true'), fuseWire()]), { mode: 0o755 });
    writeFileSync(path.join(dist, 'LICENSE'), 'placeholder\n');
    const out = await buildDir('linux', base, dist);
    const bin = path.join(out, 'linux-unpacked', 'vigil');
    expect(existsSync(bin)).toBe(true);
    expect(readWire(readFileSync(bin))).toEqual(EXPECTED);
    expect(await officialRead(bin)).toEqual(EXPECTED);
    expectPackagedFiles(asarFiles(path.join(out, 'linux-unpacked', 'resources', 'app.asar')));
  }, 180_000);
});
