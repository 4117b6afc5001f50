/**
 * The system-tool helper and its reporter: the pure decision (skip, or fail under CI), the
 * PATH lookup on real files, the summary's wording, and the whole chain in a child vitest
 * run with the project's own configuration, where PATH decides which tools exist.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { findTool, isCi, MissingSystemToolError, SYSTEM_TOOLS, toolOptions } from './system-tool.js';
import { formatSkipSummary } from './system-tool-reporter.js';

const REPO = fileURLToPath(new URL('../../', import.meta.url));

/** A folder holding executables named `names` (tiny sh scripts), for PATH. */
function binDir(names: string[]): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'vigil-tools-'));
  for (const n of names) {
    writeFileSync(path.join(dir, n), '#!/bin/sh\nexit 0\n');
    chmodSync(path.join(dir, n), 0o755);
  }
  return dir;
}

describe('toolOptions (the decision)', () => {
  const none = () => undefined;
  const all = (t: string) => `/usr/bin/${t}`;

  it('runs the test when every tool is found', () => {
    expect(toolOptions(['wixl', 'msiinfo'], all, false)).toEqual({});
    expect(toolOptions(['wixl', 'msiinfo'], all, true)).toEqual({});
  });

  it('skips, naming each missing tool and its Debian package, when not under CI', () => {
    const lookup = (t: string) => (t === 'wixl' ? '/usr/bin/wixl' : undefined);
    expect(toolOptions(['wixl', 'hivexget', 'postgres'], lookup, false)).toEqual({
      skip: true,
      meta: {
        missingTools: [
          { tool: 'hivexget', debianPackage: 'libhivex-bin' },
          { tool: 'postgres', debianPackage: 'postgresql' },
        ],
      },
    });
  });

  it('throws under CI, with the packages to install', () => {
    expect(() => toolOptions(['chromium', 'ip'], none, true)).toThrow(MissingSystemToolError);
    expect(() => toolOptions(['chromium', 'ip'], none, true)).toThrow(/chromium is not installed \(Debian package chromium\); ip is not installed \(Debian package iproute2\)\. Install with: apt-get install chromium iproute2/);
  });

  it('reads CI as CI services set it', () => {
    expect(isCi({ CI: 'true' })).toBe(true);
    expect(isCi({ CI: '1' })).toBe(true);
    expect(isCi({})).toBe(false);
    expect(isCi({ CI: '' })).toBe(false);
    expect(isCi({ CI: 'false' })).toBe(false);
    expect(isCi({ CI: '0' })).toBe(false);
  });

  it('knows a Debian package for every tool it names', () => {
    for (const spec of Object.values(SYSTEM_TOOLS)) expect(spec.debianPackage).toMatch(/^[a-z0-9][a-z0-9+.-]+$/);
  });
});

describe('findTool (the lookup)', () => {
  it('finds an executable on PATH, and not a file that is not executable or a folder', () => {
    const good = binDir(['osslsigncode']);
    const other = mkdtempSync(path.join(tmpdir(), 'vigil-tools-'));
    writeFileSync(path.join(other, 'openssl'), 'not executable');
    chmodSync(path.join(other, 'openssl'), 0o644);
    const dirs = mkdtempSync(path.join(tmpdir(), 'vigil-tools-'));
    symlinkSync(good, path.join(dirs, 'wixl')); // a folder named like the tool
    const env = { PATH: [other, dirs, good].join(path.delimiter) };
    expect(findTool('osslsigncode', env)).toBe(path.join(good, 'osslsigncode'));
    expect(findTool('openssl', env)).toBeUndefined();
    expect(findTool('wixl', env)).toBeUndefined();
    expect(findTool('hivexsh', { PATH: '' })).toBeUndefined();
    expect(findTool('hivexsh', {})).toBeUndefined();
  });

  it('takes the environment variable a tool names before PATH, and only if it is executable', () => {
    const dir = binDir(['chromium', 'my-chrome']);
    expect(findTool('chromium', { PATH: dir })).toBe(path.join(dir, 'chromium'));
    expect(findTool('chromium', { PATH: dir, CHROMIUM_PATH: path.join(dir, 'my-chrome') })).toBe(path.join(dir, 'my-chrome'));
    expect(findTool('chromium', { PATH: dir, CHROMIUM_PATH: path.join(dir, 'absent') })).toBeUndefined();
  });
});

describe('formatSkipSummary (the reporter’s words)', () => {
  it('says nothing when nothing was skipped for a tool', () => {
    expect(formatSkipSummary([])).toEqual([]);
  });

  it('one line per file and tool set, a total, and the apt-get line', () => {
    const chromium = [{ tool: 'chromium', debianPackage: 'chromium' }];
    const hive = [{ tool: 'hivexsh', debianPackage: 'libhivex-bin' }];
    const lines = formatSkipSummary([
      { file: 'tests/renderer/a.test.ts', missing: chromium },
      { file: 'tests/renderer/a.test.ts', missing: chromium },
      { file: 'tests/cli/check.test.ts', missing: hive },
    ]);
    expect(lines).toEqual([
      'System tools: 3 tests in 2 files skipped because a tool is not installed:',
      '  skipped 1 test in tests/cli/check.test.ts: missing hivexsh (Debian package libhivex-bin)',
      '  skipped 2 tests in tests/renderer/a.test.ts: missing chromium (Debian package chromium)',
      '  To run them: apt-get install chromium libhivex-bin (under CI=true a missing tool fails the run).',
    ]);
  });
});

describe('a vitest run with the project’s configuration (child process)', () => {
  const nodeOnly = binDir([]);
  symlinkSync(process.execPath, path.join(nodeOnly, 'node'));

  function vitest(env: Record<string, string>): { status: number | null; out: string } {
    const r = spawnSync(process.execPath, [path.join(REPO, 'node_modules/vitest/vitest.mjs'), 'run', '--config', 'tests/fixtures/system-tool/vitest.config.ts', '--color=false'], {
      cwd: REPO,
      // A clean environment: no CI, CHROMIUM_PATH or VITEST_* from this run.
      env: { HOME: process.env.HOME ?? '/tmp', TMPDIR: tmpdir(), NO_COLOR: '1', ...env },
      encoding: 'utf8',
      timeout: 60_000,
    });
    return { status: r.status, out: `${r.stdout}\n${r.stderr}` };
  }

  it('without the tools: passes, and the summary names each tool, its package and the count', () => {
    const r = vitest({ PATH: nodeOnly });
    expect(r.status, r.out).toBe(0);
    expect(r.out).toMatch(/1 passed \| 3 skipped/);
    expect(r.out).toContain('System tools: 3 tests in 1 file skipped because a tool is not installed:');
    expect(r.out).toContain('skipped 2 tests in tests/fixtures/system-tool/needs-tools.fixture.ts: missing osslsigncode (Debian package osslsigncode)');
    expect(r.out).toContain('skipped 1 test in tests/fixtures/system-tool/needs-tools.fixture.ts: missing chromium (Debian package chromium), hivexsh (Debian package libhivex-bin)');
    expect(r.out).toContain('apt-get install chromium libhivex-bin osslsigncode');
  });

  it('without the tools under CI=true: fails, naming the package', () => {
    const r = vitest({ PATH: nodeOnly, CI: 'true' });
    expect(r.status).not.toBe(0);
    expect(r.out).toContain('MissingSystemToolError');
    expect(r.out).toContain('osslsigncode is not installed (Debian package osslsigncode)');
    expect(r.out).not.toContain('System tools:');
  });

  it('with the tools on PATH (under CI too): everything runs and there is no summary', () => {
    const tools = binDir(['osslsigncode', 'chromium', 'hivexsh']);
    const r = vitest({ PATH: `${nodeOnly}${path.delimiter}${tools}`, CI: 'true' });
    expect(r.status, r.out).toBe(0);
    expect(r.out).toMatch(/4 passed/);
    expect(r.out).not.toContain('System tools:');
  });
});
