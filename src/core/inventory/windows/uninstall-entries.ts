/**
 * Installed-program ("Apps & features") entries from the registry, read with reg.exe:
 *
 * - HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall, 64-bit view (per-machine
 *   installs of 64-bit programs; all of them on 32-bit Windows);
 * - HKLM\SOFTWARE\WOW6432Node\Microsoft\Windows\CurrentVersion\Uninstall (per-machine
 *   installs by 32-bit installers, e.g. Microsoft Edge);
 * - HKU\<SID>\Software\Microsoft\Windows\CurrentVersion\Uninstall for every user hive that is
 *   loaded (`reg query HKU`): per-user installs, which is where the 3CX Desktop App's MSI and
 *   any electron-builder per-user NSIS installer register. A hive is loaded while its user is
 *   logged on; reading another user's hive needs an elevated agent, so "access denied" there
 *   is normal for a non-elevated run and is reported, not hidden.
 *
 * Plus the ProfileList, mapping each SID to its profile folder, so an HKU entry can be
 * attributed to a user folder.
 *
 * Every failure (missing key, access denied, reg.exe absent or timed out, odd output) is a
 * problem string naming the key; nothing here throws.
 */
import type { CommandRunner } from '../../os/command-runner.js';
import { runRegQuery, type RegQueryOptions } from './reg-command.js';
import { keyName, stringValue, type RegKey } from './reg-query.js';

export const UNINSTALL_SUBKEY = 'Software\\Microsoft\\Windows\\CurrentVersion\\Uninstall';
export const HKLM_UNINSTALL = 'HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Uninstall';
export const HKLM_WOW64_UNINSTALL = 'HKLM\\SOFTWARE\\WOW6432Node\\Microsoft\\Windows\\CurrentVersion\\Uninstall';
export const PROFILE_LIST = 'HKLM\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\ProfileList';

/** HKU: a loaded user hive (live); NTUSER: a profile's NTUSER.DAT on an offline image. */
export type UninstallHive = 'HKLM' | 'HKLM-WOW64' | 'HKU' | 'NTUSER';

export interface UninstallEntry {
  hive: UninstallHive;
  /** The user's SID, for HKU entries. */
  sid?: string;
  /** Full key path as reg.exe printed it, e.g. HKEY_USERS\S-1-5-21-...\...\Uninstall\{GUID}. */
  keyPath: string;
  displayName?: string;
  displayVersion?: string;
  publisher?: string;
  /**
   * The install folder: InstallLocation when the entry has a non-empty one (surrounding
   * quotes removed, a trailing backslash and %VARIABLES% left as written); otherwise the folder of the quoted
   * executable UninstallString names, as electron-builder's NSIS entries have no
   * InstallLocation (they keep it under HKCU\Software\<appId>) and its own installer falls
   * back the same way. See installLocationFrom.
   */
  installLocation?: string;
  installLocationFrom?: 'InstallLocation' | 'UninstallString';
  uninstallString?: string;
  quietUninstallString?: string;
  displayIcon?: string;
}

export interface UninstallEntriesResult {
  entries: UninstallEntry[];
  problems: string[];
}

export interface ProfileListResult {
  /** SID -> ProfileImagePath as written (e.g. C:\Users\alice, %systemroot%\...). */
  profiles: Map<string, string>;
  problems: string[];
}

export type UninstallReadOptions = Pick<RegQueryOptions, 'systemRoot' | 'timeoutMs'>;

/** S-1-<authority>-<sub>...: S-1-5-21-... (local and domain), S-1-12-1-... (Entra ID). */
const SID = /^S-1-\d+(?:-\d+)+$/;
/** LocalSystem, LocalService, NetworkService: their hives hold no user's programs. */
const SERVICE_SIDS = new Set(['S-1-5-18', 'S-1-5-19', 'S-1-5-20']);

const ROOT_ALIASES: [RegExp, string][] = [
  [/^HKLM(?=\\|$)/i, 'HKEY_LOCAL_MACHINE'],
  [/^HKU(?=\\|$)/i, 'HKEY_USERS'],
  [/^HKCU(?=\\|$)/i, 'HKEY_CURRENT_USER'],
];

function fullPath(key: string): string {
  for (const [alias, full] of ROOT_ALIASES) if (alias.test(key)) return key.replace(alias, full);
  return key;
}

/** The keys directly below `parent` (reg /s also lists deeper ones and the parent itself). */
function childKeys(keys: RegKey[], parent: string): RegKey[] {
  const prefix = `${fullPath(parent).toLowerCase()}\\`;
  return keys.filter((k) => {
    const p = k.path.toLowerCase();
    return p.startsWith(prefix) && !p.slice(prefix.length).includes('\\') && p.length > prefix.length;
  });
}

function nonEmpty(s: string | undefined): string | undefined {
  const t = s?.trim();
  return t ? t : undefined;
}

function unquote(s: string): string {
  const t = s.trim();
  return t.length >= 2 && t.startsWith('"') && t.endsWith('"') ? t.slice(1, -1) : t;
}

/** `"C:\...\Uninstall 3CX Desktop App.exe" /currentuser` -> `C:\...`; undefined unless quoted and absolute. */
export function folderOfQuotedExecutable(command: string): string | undefined {
  const m = /^\s*"([A-Za-z]:\\[^"]*\\)[^"\\]+\.exe"/i.exec(command);
  return m ? m[1]!.replace(/\\+$/, '') : undefined;
}

/** One uninstall entry from its key (as reg.exe prints it, or as registry-hive.ts reads it offline). */
export function entryFrom(key: RegKey, hive: UninstallHive, sid: string | undefined): UninstallEntry {
  const entry: UninstallEntry = { hive, keyPath: key.path };
  if (sid) entry.sid = sid;
  const set = (field: 'displayName' | 'displayVersion' | 'publisher' | 'uninstallString' | 'quietUninstallString' | 'displayIcon', name: string) => {
    const v = nonEmpty(stringValue(key, name));
    if (v !== undefined) entry[field] = v;
  };
  set('displayName', 'DisplayName');
  set('displayVersion', 'DisplayVersion');
  set('publisher', 'Publisher');
  set('uninstallString', 'UninstallString');
  set('quietUninstallString', 'QuietUninstallString');
  set('displayIcon', 'DisplayIcon');
  const location = nonEmpty(stringValue(key, 'InstallLocation'));
  if (location !== undefined && nonEmpty(unquote(location))) {
    entry.installLocation = unquote(location);
    entry.installLocationFrom = 'InstallLocation';
  } else if (entry.uninstallString) {
    const folder = folderOfQuotedExecutable(entry.uninstallString);
    if (folder) {
      entry.installLocation = folder;
      entry.installLocationFrom = 'UninstallString';
    }
  }
  return entry;
}

async function readUninstallKey(
  runner: CommandRunner,
  key: string,
  hive: UninstallHive,
  sid: string | undefined,
  opts: UninstallReadOptions,
  out: UninstallEntriesResult,
): Promise<void> {
  const r = await runRegQuery(runner, key, { ...opts, recurse: true });
  out.problems.push(...r.problems);
  if (!r.ok) out.problems.push(r.message);
  for (const k of childKeys(r.keys, key)) out.entries.push(entryFrom(k, hive, sid));
}

/** SIDs of the user hives loaded under HKU, without *_Classes, .DEFAULT and service SIDs. */
export async function loadedUserSids(runner: CommandRunner, opts: UninstallReadOptions = {}): Promise<{ sids: string[]; problems: string[] }> {
  const r = await runRegQuery(runner, 'HKU', opts);
  const problems = [...r.problems];
  if (!r.ok) problems.push(r.message);
  const sids: string[] = [];
  for (const k of childKeys(r.keys, 'HKU')) {
    const name = keyName(k.path);
    if (SID.test(name) && !SERVICE_SIDS.has(name) && !sids.includes(name)) sids.push(name);
  }
  return { sids, problems };
}

export async function readUninstallEntries(runner: CommandRunner, opts: UninstallReadOptions = {}): Promise<UninstallEntriesResult> {
  const out: UninstallEntriesResult = { entries: [], problems: [] };
  await readUninstallKey(runner, HKLM_UNINSTALL, 'HKLM', undefined, opts, out);
  await readUninstallKey(runner, HKLM_WOW64_UNINSTALL, 'HKLM-WOW64', undefined, opts, out);
  const users = await loadedUserSids(runner, opts);
  out.problems.push(...users.problems);
  for (const sid of users.sids) {
    await readUninstallKey(runner, `HKU\\${sid}\\${UNINSTALL_SUBKEY}`, 'HKU', sid, opts, out);
  }
  return out;
}

export async function readProfileList(runner: CommandRunner, opts: UninstallReadOptions = {}): Promise<ProfileListResult> {
  const r = await runRegQuery(runner, PROFILE_LIST, { ...opts, recurse: true });
  const problems = [...r.problems];
  if (!r.ok) problems.push(r.message);
  const profiles = new Map<string, string>();
  for (const k of childKeys(r.keys, PROFILE_LIST)) {
    // A "<SID>.bak" key is the stale copy Windows leaves when it recreates a broken profile.
    const sid = keyName(k.path);
    if (!SID.test(sid)) continue;
    const path = nonEmpty(stringValue(k, 'ProfileImagePath'));
    if (path) profiles.set(sid, path);
    else problems.push(`${PROFILE_LIST}\\${sid}: no ProfileImagePath`);
  }
  return { profiles, problems };
}
