/**
 * The real per-platform readers behind InventoryReaders: the PE VERSIONINFO parser, the
 * Info.plist reader, the reg.exe uninstall-entry reader (live) and the hive-file reader
 * (offline images). Kept apart from
 * find-installs.ts so the orchestration reads as one story and each parser stays small.
 */
import type { InventoryReaders, RegistryInstallEntry, VersionRead } from './find-installs.js';
import type { TargetFs } from '../os/target-fs.js';
import type { CommandRunner } from '../os/command-runner.js';
import { normaliseAppVersion, readPeVersionInfo } from './windows/pe-version.js';
import { readProfileList, readUninstallEntries, type UninstallEntry } from './windows/uninstall-entries.js';
import { readOfflineUninstallEntries } from './windows/offline-uninstall-entries.js';
import type { UserProfile } from './user-profiles.js';
import { readBundleInfo } from './macos/info-plist.js';

async function peVersion(fs: TargetFs, relPath: string): Promise<VersionRead> {
  let file;
  try {
    file = await fs.open(relPath);
  } catch (err) {
    return { error: (err as Error).message };
  }
  try {
    const info = await readPeVersionInfo(file);
    const version = normaliseAppVersion(info);
    return version ? { version, source: 'versioninfo' } : { error: 'the version resource holds no version' };
  } catch (err) {
    return { error: `${relPath}: ${(err as Error).message}` };
  } finally {
    await file.close();
  }
}

async function bundleVersion(fs: TargetFs, bundlePath: string): Promise<VersionRead> {
  try {
    const info = await readBundleInfo(fs, bundlePath);
    const version = info.shortVersion ?? info.bundleVersion;
    if (!version) return { error: `${bundlePath}/Contents/Info.plist has no CFBundleShortVersionString` };
    return info.bundleId ? { version, source: 'info-plist', bundleId: info.bundleId } : { version, source: 'info-plist' };
  } catch (err) {
    return { error: (err as Error).message };
  }
}

function installEntry(e: UninstallEntry, user: string | undefined): RegistryInstallEntry {
  const out: RegistryInstallEntry = {};
  if (e.displayName !== undefined) out.displayName = e.displayName;
  if (e.displayVersion !== undefined) out.displayVersion = e.displayVersion;
  if (e.publisher !== undefined) out.publisher = e.publisher;
  if (e.installLocation !== undefined) out.installLocation = e.installLocation;
  if (user) out.user = user;
  return out;
}

async function uninstallEntries(runner: CommandRunner): Promise<{ entries: RegistryInstallEntry[]; problems: string[] }> {
  const [reg, profiles] = await Promise.all([readUninstallEntries(runner), readProfileList(runner)]);
  const entries = reg.entries.map((e) => {
    const profilePath = e.sid ? profiles.profiles.get(e.sid) : undefined;
    return installEntry(e, profilePath ? profilePath.split(/[\\/]/).filter(Boolean).pop()! : undefined);
  });
  return { entries, problems: [...reg.problems, ...profiles.problems] };
}

async function offlineUninstallEntries(fs: TargetFs, profiles: readonly UserProfile[]): Promise<{ entries: RegistryInstallEntry[]; problems: string[]; hivesRead: string[] }> {
  const r = await readOfflineUninstallEntries(fs, profiles);
  return { entries: r.entries.map((e) => installEntry(e, e.user)), problems: r.problems, hivesRead: r.hivesRead };
}

export const platformReaders: InventoryReaders = { peVersion, bundleVersion, uninstallEntries, offlineUninstallEntries };
