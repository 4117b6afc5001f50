/**
 * Uninstall entries of an offline Windows image (`vigil check --root DIR` on a mounted
 * volume), read from its hive files with registry-hive.ts instead of reg.exe:
 *
 * - Windows/System32/config/SOFTWARE (HKLM\SOFTWARE): Microsoft\Windows\CurrentVersion\
 *   Uninstall and its WOW6432Node twin;
 * - every profile's NTUSER.DAT (that user's HKCU): Software\Microsoft\Windows\
 *   CurrentVersion\Uninstall, attributed to the profile folder directly (no SID needed).
 *
 * The same entry rules as the live reader (uninstall-entries.ts entryFrom). A hive that is
 * missing is not a problem (a fixture tree, a data volume); one that cannot be read, a key
 * that is damaged, or a hive not cleanly closed is, named with the file. Never throws.
 */
import type { TargetFs } from '../../os/target-fs.js';
import { FsAccessError, joinRel } from '../../os/target-fs.js';
import type { RegKey, RegValue } from './reg-query.js';
import { HiveError, REG_TYPE_NAMES, RegistryHive, hiveString, type HiveKey, type HiveValue } from './registry-hive.js';
import { entryFrom, type UninstallEntry, type UninstallHive } from './uninstall-entries.js';

export const SOFTWARE_HIVE = 'Windows/System32/config/SOFTWARE';
export const USER_HIVE = 'NTUSER.DAT';
const UNINSTALL_PATH = ['Microsoft', 'Windows', 'CurrentVersion', 'Uninstall'];

export interface OfflineUninstallResult {
  entries: Array<UninstallEntry & { user?: string }>;
  problems: string[];
  /** Hive files that were read (target-relative). */
  hivesRead: string[];
}

/** A hive value as reg.exe would print it, so the live rules apply unchanged. */
export function regValueFromHive(v: HiveValue): RegValue {
  const type = REG_TYPE_NAMES[v.type] ?? `REG_0x${v.type.toString(16)}`;
  let data: string;
  if (v.type === 1 || v.type === 2) data = hiveString(v) ?? '';
  else if (v.type === 4 && v.data.length === 4) data = `0x${v.data.readUInt32LE(0).toString(16)}`;
  else if (v.type === 11 && v.data.length === 8) data = `0x${v.data.readBigUInt64LE(0).toString(16)}`;
  else if (v.type === 7) data = v.data.toString('utf16le').replace(/\0+$/, '').split('\0').join('\\0');
  else data = v.data.toString('hex').toUpperCase();
  return { name: v.name === '' ? '(Default)' : v.name, type, data };
}

async function openHive(fs: TargetFs, rel: string, problems: string[]): Promise<{ hive: RegistryHive; close: () => Promise<void> } | undefined> {
  let file;
  try {
    file = await fs.open(rel);
  } catch (err) {
    if (err instanceof FsAccessError && err.isMissing) return undefined;
    problems.push(`${fs.displayPath(rel)}: ${(err as Error).message}`);
    return undefined;
  }
  try {
    const hive = await RegistryHive.open(file, fs.displayPath(rel));
    if (hive.dirty) problems.push(`${fs.displayPath(rel)}: the hive was not cleanly closed; changes still in its transaction logs (.LOG1/.LOG2) were not read`);
    return { hive, close: () => file.close() };
  } catch (err) {
    await file.close().catch(() => undefined);
    problems.push(err instanceof HiveError ? err.message : `${fs.displayPath(rel)}: ${(err as Error).message}`);
    return undefined;
  }
}

async function readEntries(
  hive: RegistryHive,
  path: readonly string[],
  shownPrefix: string,
  kind: UninstallHive,
  user: string | undefined,
  out: OfflineUninstallResult,
): Promise<void> {
  let parent: HiveKey | undefined;
  let subkeys: HiveKey[];
  try {
    parent = await hive.openPath(path);
    if (!parent) return; // no such key: nothing installed that way
    subkeys = await hive.subkeys(parent);
  } catch (err) {
    out.problems.push(err instanceof HiveError ? err.message : `${hive.label}: ${(err as Error).message}`);
    return;
  }
  for (const sub of subkeys) {
    try {
      const key: RegKey = { path: `${shownPrefix}\\${sub.name}`, values: (await hive.values(sub)).map(regValueFromHive) };
      const entry = entryFrom(key, kind, undefined);
      out.entries.push(user ? { ...entry, user } : entry);
    } catch (err) {
      // One damaged entry does not hide the others.
      out.problems.push(err instanceof HiveError ? err.message : `${hive.label}: ${(err as Error).message}`);
    }
  }
}

export async function readOfflineUninstallEntries(fs: TargetFs, profiles: ReadonlyArray<{ name: string; path: string }>): Promise<OfflineUninstallResult> {
  const out: OfflineUninstallResult = { entries: [], problems: [], hivesRead: [] };
  const software = await openHive(fs, SOFTWARE_HIVE, out.problems);
  if (software) {
    out.hivesRead.push(SOFTWARE_HIVE);
    try {
      await readEntries(software.hive, UNINSTALL_PATH, `HKEY_LOCAL_MACHINE\\SOFTWARE\\${UNINSTALL_PATH.join('\\')}`, 'HKLM', undefined, out);
      await readEntries(software.hive, ['WOW6432Node', ...UNINSTALL_PATH], `HKEY_LOCAL_MACHINE\\SOFTWARE\\WOW6432Node\\${UNINSTALL_PATH.join('\\')}`, 'HKLM-WOW64', undefined, out);
    } finally {
      await software.close().catch(() => undefined);
    }
  }
  for (const profile of profiles) {
    const rel = joinRel(profile.path, USER_HIVE);
    const user = await openHive(fs, rel, out.problems);
    if (!user) continue;
    out.hivesRead.push(rel);
    try {
      await readEntries(user.hive, ['Software', ...UNINSTALL_PATH], `${fs.displayPath(rel)}\\Software\\${UNINSTALL_PATH.join('\\')}`, 'NTUSER', profile.name, out);
    } finally {
      await user.close().catch(() => undefined);
    }
  }
  return out;
}
