/**
 * What is being scanned: a platform layout, its file system, and (on a live Windows
 * machine) a command runner for reg.exe. `--root DIR` scans a mounted image or a fixture
 * tree; its layout tells the platform unless the caller names it.
 */
import * as os from 'node:os';
import type { Platform } from '../../shared/scan.js';
import { LocalTargetFs, type TargetFs } from '../os/target-fs.js';
import { ProcessCommandRunner, type CommandRunner } from '../os/command-runner.js';

export interface ScanTarget {
  platform: Platform;
  fs: TargetFs;
  /** True when scanning the running system (registry and live commands describe it). */
  live: boolean;
  /** Runs OS tools; absent for offline roots, where a live command would describe the wrong machine. */
  runner?: CommandRunner;
}

export function hostPlatform(): Platform {
  return process.platform === 'win32' ? 'windows' : process.platform === 'darwin' ? 'macos' : 'linux';
}

/**
 * Guesses the platform of an offline root from its top-level folders: Windows has
 * "Windows" or "Program Files" and "Users"; macOS has "Applications" or "Library" and
 * "Users"; anything else is treated as Linux.
 */
export async function detectPlatform(fs: TargetFs): Promise<Platform> {
  let names: Set<string>;
  try {
    names = new Set((await fs.list('')).map((e) => e.name.toLowerCase()));
  } catch {
    return 'linux';
  }
  if (names.has('windows') || names.has('program files') || names.has('programdata')) return 'windows';
  if (names.has('users') && [...names].some((n) => n === 'appdata')) return 'windows';
  if (names.has('applications') || (names.has('library') && names.has('users'))) return 'macos';
  if (names.has('users')) {
    // A bare Users/ tree: Windows profiles have AppData, macOS homes have Library.
    try {
      for (const u of await fs.list('Users')) {
        const inner = new Set((await fs.list(`Users/${u.name}`).catch(() => [])).map((e) => e.name.toLowerCase()));
        if (inner.has('appdata')) return 'windows';
        if (inner.has('library')) return 'macos';
      }
    } catch {
      // fall through
    }
  }
  return 'linux';
}

export interface OpenTargetOptions {
  root?: string;
  platform?: Platform;
  runner?: CommandRunner;
}

export async function openTarget(opts: OpenTargetOptions = {}): Promise<ScanTarget> {
  if (opts.root !== undefined) {
    const probe = new LocalTargetFs(opts.root);
    const platform = opts.platform ?? (await detectPlatform(probe));
    const fs = new LocalTargetFs(opts.root, { caseInsensitive: platform === 'windows' });
    const target: ScanTarget = { platform, fs, live: false };
    if (opts.runner) target.runner = opts.runner;
    return target;
  }
  const platform = hostPlatform();
  const root = platform === 'windows' ? (process.env.SystemDrive ?? 'C:') + '\\' : '/';
  return {
    platform,
    fs: new LocalTargetFs(root, { caseInsensitive: platform === 'windows', displayStyle: platform === 'windows' ? 'windows' : 'posix' }),
    live: true,
    runner: opts.runner ?? new ProcessCommandRunner(),
  };
}

export function hostname(): string {
  return os.hostname();
}
