/**
 * Tests that need a system tool (Chromium, wixl, hivexsh, osslsigncode, PostgreSQL...).
 *
 * `npm test` must pass on a fresh clone with only Node, and must say what it did not run.
 * So a test that needs a tool declares it:
 *
 *   import { needsTools, toolPath } from '../helpers/system-tool.js';
 *
 *   describe('the MSI definition', needsTools('wixl', 'msiinfo'), () => { ... });
 *   it('hivex reads it the same way', needsTools('hivexget'), () => { ... });
 *   const chromium = toolPath('chromium'); // inside a test or hook that declared it
 *
 * When a tool is missing the test (or every test of the suite) is skipped, and the
 * reporter in tests/helpers/system-tool-reporter.ts prints, after vitest's own summary,
 * one line per test file naming the missing tool and its Debian package, and the count.
 * Under CI (CI set, and not "false" or "0") a missing tool is a failure instead: the
 * declaration throws while the file is collected, so the file fails with the package name.
 * CI (.ci/run) installs every package listed here.
 */
import { accessSync, constants, readdirSync, statSync } from 'node:fs';
import * as path from 'node:path';
import type { TestOptions } from 'vitest';

export interface ToolSpec {
  /** The Debian package that installs it (what `apt-get install` needs). */
  debianPackage: string;
  /** An environment variable naming the executable, taking precedence over PATH. */
  env?: string;
  /** Folders searched after PATH (tools Debian installs off PATH). */
  extraDirs?: () => string[];
}

/** Debian puts PostgreSQL's server binaries in /usr/lib/postgresql/<major>/bin, off PATH. */
function postgresBinDirs(): string[] {
  try {
    return readdirSync('/usr/lib/postgresql')
      .filter((v) => /^\d+$/.test(v))
      .sort((a, b) => Number(b) - Number(a))
      .map((v) => `/usr/lib/postgresql/${v}/bin`);
  } catch {
    return [];
  }
}

export const SYSTEM_TOOLS = {
  chromium: { debianPackage: 'chromium', env: 'CHROMIUM_PATH' },
  osslsigncode: { debianPackage: 'osslsigncode' },
  openssl: { debianPackage: 'openssl' },
  wixl: { debianPackage: 'wixl' },
  msiinfo: { debianPackage: 'msitools' },
  msidump: { debianPackage: 'msitools' },
  msiextract: { debianPackage: 'msitools' },
  msibuild: { debianPackage: 'msitools' },
  hivexsh: { debianPackage: 'libhivex-bin' },
  hivexget: { debianPackage: 'libhivex-bin' },
  python3: { debianPackage: 'python3' },
  ip: { debianPackage: 'iproute2' },
  ss: { debianPackage: 'iproute2' },
  setpriv: { debianPackage: 'util-linux' },
  'xvfb-run': { debianPackage: 'xvfb' },
  postgres: { debianPackage: 'postgresql', extraDirs: postgresBinDirs },
  initdb: { debianPackage: 'postgresql', extraDirs: postgresBinDirs },
  pg_ctl: { debianPackage: 'postgresql', extraDirs: postgresBinDirs },
  'systemd-analyze': { debianPackage: 'systemd' },
} satisfies Record<string, ToolSpec>;

export type SystemTool = keyof typeof SYSTEM_TOOLS;

export interface MissingTool {
  tool: string;
  debianPackage: string;
}

declare module 'vitest' {
  interface TaskMeta {
    /** Set by needsTools on a test or suite skipped because these tools are missing. */
    missingTools?: MissingTool[];
  }
}

function isExecutableFile(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

/**
 * Where `tool` is, looked up the way a shell would (the spec's env variable first, then
 * PATH, then the spec's extra folders); undefined when it is not installed.
 */
export function findTool(tool: SystemTool, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const spec: ToolSpec = SYSTEM_TOOLS[tool];
  if (spec.env && env[spec.env]) return isExecutableFile(env[spec.env]!) ? env[spec.env] : undefined;
  const dirs = [...(env.PATH ?? '').split(path.delimiter).filter(Boolean), ...(spec.extraDirs?.() ?? [])];
  for (const dir of dirs) {
    const candidate = path.join(dir, tool);
    if (isExecutableFile(candidate)) return candidate;
  }
  return undefined;
}

const found = new Map<SystemTool, string | undefined>();

function cachedFind(tool: SystemTool): string | undefined {
  if (!found.has(tool)) found.set(tool, findTool(tool));
  return found.get(tool);
}

/** CI=true (or any value but "false"/"0"/""): missing tools fail rather than skip. */
export function isCi(env: NodeJS.ProcessEnv = process.env): boolean {
  const v = (env.CI ?? '').trim().toLowerCase();
  return v !== '' && v !== 'false' && v !== '0';
}

export class MissingSystemToolError extends Error {
  constructor(readonly missing: MissingTool[]) {
    super(
      `CI is set, so tests that need a system tool fail instead of skipping: ${missing
        .map((m) => `${m.tool} is not installed (Debian package ${m.debianPackage})`)
        .join('; ')}. Install with: apt-get install ${[...new Set(missing.map((m) => m.debianPackage))].join(' ')}`,
    );
    this.name = 'MissingSystemToolError';
  }
}

/**
 * The decision, pure: which of `tools` are missing, given a lookup; `ci` turns a missing
 * tool into a thrown MissingSystemToolError.
 */
export function toolOptions(tools: SystemTool[], lookup: (t: SystemTool) => string | undefined, ci: boolean): TestOptions {
  const missing = tools.filter((t) => lookup(t) === undefined).map((t): MissingTool => ({ tool: t, debianPackage: SYSTEM_TOOLS[t].debianPackage }));
  if (missing.length === 0) return {};
  if (ci) throw new MissingSystemToolError(missing);
  return { skip: true, meta: { missingTools: missing } };
}

/** Options for `describe(name, options, fn)` or `it(name, options, fn)`: skip (or, under CI, fail) when a tool is missing. */
export function needsTools(...tools: SystemTool[]): TestOptions {
  return toolOptions(tools, cachedFind, isCi());
}

/** The absolute path of a tool the calling test declared with needsTools. */
export function toolPath(tool: SystemTool): string {
  const p = cachedFind(tool);
  if (!p) throw new Error(`${tool} is not installed (Debian package ${SYSTEM_TOOLS[tool].debianPackage}); declare it with needsTools('${tool}')`);
  return p;
}
