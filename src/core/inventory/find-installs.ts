/**
 * Finds every installed copy of each pack application on the target, looking only where
 * the pack says (install folders per user and per machine, uninstall entries), reading the
 * version from the binary itself (registry entries can be stale), and hashing only the
 * files the pack names.
 */
import type { Install, InstalledFile, Platform } from '../../shared/scan.js';
import type { Application, Pack, PlatformApp } from '../pack/schema.js';
import { FsAccessError, joinRel, type FileStat, type TargetFs } from '../os/target-fs.js';
import type { CommandRunner } from '../os/command-runner.js';
import { hashInstalledFile } from './file-hash.js';
import type { ImageDigestCache } from '../signing/image-digest-cache.js';
import { resolveLocation, type LocationProblem } from './resolve-location.js';
import type { UserProfile } from './user-profiles.js';

/** A version read from a binary or bundle, or why it could not be. */
export type VersionRead = { version: string; source: string; bundleId?: string } | { error: string };

export interface RegistryInstallEntry {
  displayName?: string;
  displayVersion?: string;
  publisher?: string;
  /** As written in the registry, e.g. C:\Users\alice\AppData\Local\Programs\3CXDesktopApp */
  installLocation?: string;
  /** Profile folder name the entry belongs to (HKU hives), if known. */
  user?: string;
}

/** Per-platform readers; the real ones are in platform-readers.ts, tests may pass the same. */
export interface InventoryReaders {
  /** Windows: version from the executable's VERSIONINFO resource. */
  peVersion(fs: TargetFs, relPath: string): Promise<VersionRead>;
  /** macOS: version and bundle id from Contents/Info.plist. */
  bundleVersion(fs: TargetFs, bundlePath: string): Promise<VersionRead>;
  /** Windows, live only: uninstall entries from HKLM, WOW6432Node and loaded HKU hives. */
  uninstallEntries(runner: CommandRunner): Promise<{ entries: RegistryInstallEntry[]; problems: string[] }>;
  /**
   * Windows, offline image: the same entries from the image's SOFTWARE hive and each
   * profile's NTUSER.DAT. `hivesRead` empty: the image has no hive files.
   */
  offlineUninstallEntries?(fs: TargetFs, profiles: readonly UserProfile[]): Promise<{ entries: RegistryInstallEntry[]; problems: string[]; hivesRead: string[] }>;
}

export interface InventoryContext {
  fs: TargetFs;
  platform: Platform;
  profiles: readonly UserProfile[];
  readers: InventoryReaders;
  runner?: CommandRunner;
  live: boolean;
  /**
   * Where inventory leaves the Authenticode image digests of the Windows executables and
   * companion files it hashes, for the same scan's signature check.
   */
  imageDigests?: ImageDigestCache;
}

export interface InventoryResult {
  installs: Install[];
  /** Paths that could not be read where an install could be. */
  problems: LocationProblem[];
  /** Non-fatal notes, e.g. registry not read on an offline image. */
  notes: string[];
}

async function describeFile(fs: TargetFs, relPath: string, role: InstalledFile['role'], imageDigests?: ImageDigestCache): Promise<InstalledFile | undefined> {
  let st: FileStat;
  try {
    st = await fs.stat(relPath);
    if (st.type !== 'file') return undefined;
  } catch (err) {
    if (err instanceof FsAccessError && err.isMissing) return undefined;
    return { role, path: fs.displayPath(relPath), error: (err as Error).message };
  }
  try {
    const { sha256, size } = await hashInstalledFile(fs, relPath, st, imageDigests);
    return { role, path: fs.displayPath(relPath), sha256, size };
  } catch (err) {
    return { role, path: fs.displayPath(relPath), error: (err as Error).message };
  }
}

/** Maps a Windows path from the registry to a target-relative path ("C:\Users\a" -> "Users/a"). */
/**
 * An uninstall entry's DisplayName names the application when it equals one of the pack's
 * names, or is such a name followed by a version: electron-builder's NSIS installer writes
 * `${productName} ${version}` by default (e.g. "3CX Desktop App 18.12.425"), its MSI the
 * bare product name.
 */
export function matchesDisplayName(displayName: string, names: ReadonlySet<string>): boolean {
  const d = displayName.trim().toLowerCase();
  if (names.has(d)) return true;
  for (const n of names) {
    if (d.startsWith(`${n} `) && /^\d+(\.\d+)*$/.test(d.slice(n.length + 1).trim())) return true;
  }
  return false;
}

export function windowsPathToRel(p: string): string | undefined {
  const m = /^[a-zA-Z]:[\\/](.*)$/.exec(p.trim().replace(/^"|"$/g, ''));
  if (!m) return undefined;
  return m[1]!.split(/[\\/]+/).filter(Boolean).join('/');
}

async function inspectInstallDir(
  ctx: InventoryContext,
  app: Application,
  spec: PlatformApp,
  dir: string,
  user: string | undefined,
): Promise<Install | undefined> {
  const files: InstalledFile[] = [];
  const digests = ctx.platform === 'windows' ? ctx.imageDigests : undefined;
  for (const exe of spec.executables) {
    const f = await describeFile(ctx.fs, joinRel(dir, exe), 'executable', digests);
    if (f) files.push(f);
  }
  for (const c of spec.companionFiles) {
    const f = await describeFile(ctx.fs, joinRel(dir, c), 'companion', digests);
    if (f) files.push(f);
  }
  let read: VersionRead | undefined;
  if (ctx.platform === 'macos') {
    read = await ctx.readers.bundleVersion(ctx.fs, dir);
    // A bundle at the pack's path whose id is another app's is not this application.
    if ('bundleId' in read && read.bundleId && spec.bundleIds.length && !spec.bundleIds.includes(read.bundleId)) return undefined;
  } else {
    if (files.length === 0) return undefined; // an empty leftover folder is not an install
    const exe = spec.executables
      .map((e) => joinRel(dir, e))
      .find((rel) => files.some((f) => f.role === 'executable' && !f.error && f.path === ctx.fs.displayPath(rel)));
    if (ctx.platform === 'windows') {
      read = exe ? await ctx.readers.peVersion(ctx.fs, exe) : { error: `${spec.executables.join(', ')} not found in the install folder` };
    } else {
      read = { error: 'no version reader for this platform' };
    }
  }
  const install: Install = {
    application: app.id,
    applicationName: app.name,
    platform: ctx.platform,
    location: ctx.fs.displayPath(dir),
    versionClass: 'unknown',
    files,
  };
  if (user !== undefined) install.user = user;
  if ('version' in read) {
    install.version = read.version;
    install.versionSource = read.source;
  } else {
    install.versionSource = `unreadable: ${read.error}`;
  }
  return install;
}

/** The `versionSource` of a distribution point's install: its own version is not read. */
export const DISTRIBUTION_POINT_VERSION_SOURCE = 'not judged: distribution point';

/**
 * A distribution point (e.g. a 3CX PBX) is its install folder: what matters is what it
 * hands out, so every served file is hashed and its own version is not read.
 */
async function inspectDistributionPoint(
  ctx: InventoryContext,
  app: Application,
  spec: PlatformApp,
  dir: string,
  user: string | undefined,
  problems: LocationProblem[],
): Promise<Install> {
  const files: InstalledFile[] = [];
  const seen = new Set<string>();
  for (const served of spec.servedFiles ?? []) {
    const r = await resolveLocation(ctx.fs, { scope: 'system', path: joinRel(dir, served) }, ctx.profiles);
    problems.push(...r.problems.map((p) => (user !== undefined ? { ...p, user } : p)));
    for (const found of r.found) {
      if (found.type !== 'file' || seen.has(found.path.toLowerCase())) continue;
      seen.add(found.path.toLowerCase());
      const f = await describeFile(ctx.fs, found.path, 'companion');
      if (f) files.push(f);
    }
  }
  const install: Install = {
    application: app.id,
    applicationName: app.name,
    platform: ctx.platform,
    location: ctx.fs.displayPath(dir),
    versionSource: DISTRIBUTION_POINT_VERSION_SOURCE,
    versionClass: 'unclassified',
    files,
  };
  if (user !== undefined) install.user = user;
  return install;
}

export async function findInstalls(ctx: InventoryContext, pack: Pack): Promise<InventoryResult> {
  const installs: Install[] = [];
  const problems: LocationProblem[] = [];
  const notes: string[] = [];
  for (const app of pack.applications) {
    const spec = app.platforms[ctx.platform];
    if (!spec) continue;
    const distributionPoint = app.role === 'distribution-point';
    const seen = new Set<string>();
    for (const loc of spec.installDirs) {
      const r = await resolveLocation(ctx.fs, loc, ctx.profiles);
      problems.push(...r.problems);
      for (const found of r.found) {
        if (found.type !== 'directory' || seen.has(found.path.toLowerCase())) continue;
        seen.add(found.path.toLowerCase());
        const install = distributionPoint
          ? await inspectDistributionPoint(ctx, app, spec, found.path, found.user, problems)
          : await inspectInstallDir(ctx, app, spec, found.path, found.user);
        if (install) installs.push(install);
      }
    }
    if (!distributionPoint && ctx.platform === 'windows' && spec.uninstallDisplayNames.length) {
      let reg: { entries: RegistryInstallEntry[]; problems: string[] };
      if (ctx.live && ctx.runner) reg = await ctx.readers.uninstallEntries(ctx.runner);
      else {
        const offline = await ctx.readers.offlineUninstallEntries?.(ctx.fs, ctx.profiles);
        if (!offline || offline.hivesRead.length === 0) {
          notes.push("Windows uninstall entries were not read: no readable registry hive (Windows/System32/config/SOFTWARE, a profile's NTUSER.DAT) on this target; install folders were scanned instead.");
          notes.push(...(offline?.problems ?? []).map((p) => `registry: ${p}`));
          continue;
        }
        reg = offline;
      }
      const names = new Set(spec.uninstallDisplayNames.map((n) => n.toLowerCase()));
      notes.push(...reg.problems.map((p) => `registry: ${p}`));
      for (const entry of reg.entries) {
        if (!entry.displayName || !matchesDisplayName(entry.displayName, names)) continue;
        const rel = entry.installLocation ? windowsPathToRel(entry.installLocation) : undefined;
        const existing = rel
          ? installs.find((i) => i.application === app.id && i.location.toLowerCase() === ctx.fs.displayPath(rel).toLowerCase())
          : // A per-user MSI entry has no InstallLocation: it describes the copy found in that user's profile.
            installs.find((i) => i.application === app.id && i.user !== undefined && i.user === entry.user && i.versionSource !== 'registry');
        if (existing) {
          if (entry.displayVersion) existing.registryVersion = entry.displayVersion;
          if (entry.publisher) existing.publisher = entry.publisher;
          if (!existing.version && entry.displayVersion) {
            existing.version = entry.displayVersion;
            existing.versionSource = 'registry';
          }
          continue;
        }
        // A folder outside the pack's usual places (a custom install path): inspect it like
        // the others, so its version comes from the executable and its files are hashed.
        const inspected = rel && !seen.has(rel.toLowerCase()) ? await inspectInstallDir(ctx, app, spec, rel, entry.user) : undefined;
        if (inspected) {
          seen.add(rel!.toLowerCase());
          if (entry.displayVersion) inspected.registryVersion = entry.displayVersion;
          if (entry.publisher) inspected.publisher = entry.publisher;
          installs.push(inspected);
          continue;
        }
        // The uninstall entry names a folder we did not find files in: keep it as evidence.
        const install: Install = {
          application: app.id,
          applicationName: app.name,
          platform: ctx.platform,
          location: entry.installLocation ?? '(no InstallLocation in the uninstall entry)',
          versionSource: 'registry',
          versionClass: 'unknown',
          files: [],
        };
        if (entry.displayVersion) {
          install.version = entry.displayVersion;
          install.registryVersion = entry.displayVersion;
        }
        if (entry.publisher) install.publisher = entry.publisher;
        if (entry.user) install.user = entry.user;
        installs.push(install);
      }
    }
  }
  return { installs, problems, notes };
}

/** Hashes the pack's candidate files (e.g. downloaded installers) for this platform. */
export async function hashCandidateFiles(ctx: InventoryContext, pack: Pack): Promise<{ files: (InstalledFile & { user?: string })[]; problems: LocationProblem[] }> {
  const files: (InstalledFile & { user?: string })[] = [];
  const problems: LocationProblem[] = [];
  for (const cand of pack.candidateFiles) {
    if (cand.platform !== ctx.platform) continue;
    const r = await resolveLocation(ctx.fs, cand.location, ctx.profiles);
    problems.push(...r.problems);
    for (const found of r.found) {
      if (found.type !== 'file') continue;
      const f = await describeFile(ctx.fs, found.path, 'candidate');
      if (f) files.push(found.user ? { ...f, user: found.user } : f);
    }
  }
  return { files, problems };
}
