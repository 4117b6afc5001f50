/**
 * The user profiles of a target: per-user installs (the 3CX Electron client installs into
 * each user's AppData) and attack artefacts live there. Profiles that cannot be read are
 * returned as problems, because what they hide may matter.
 */
import type { Platform } from '../../shared/scan.js';
import { FsAccessError, type TargetFs } from '../os/target-fs.js';

export interface UserProfile {
  /** Folder name, used as the user's name in evidence. */
  name: string;
  /** Target-relative path of the profile folder. */
  path: string;
}

export interface ProfileProblem {
  path: string;
  code: string;
  message: string;
}

// Built-in profile folders that no person logs into (Windows: junctions and templates).
const SKIP: Record<Platform, Set<string>> = {
  windows: new Set(['public', 'default', 'default user', 'all users', 'defaultuser0', 'defaultapppool']),
  macos: new Set(['shared', 'guest', '.localized']),
  linux: new Set(['lost+found']),
};

const PROFILE_PARENTS: Record<Platform, string[]> = {
  windows: ['Users'],
  macos: ['Users'],
  linux: ['home'],
};

export async function listUserProfiles(fs: TargetFs, platform: Platform): Promise<{ profiles: UserProfile[]; problems: ProfileProblem[] }> {
  const profiles: UserProfile[] = [];
  const problems: ProfileProblem[] = [];
  for (const parent of PROFILE_PARENTS[platform]) {
    try {
      for (const e of await fs.list(parent)) {
        if (e.type !== 'directory' || e.name.startsWith('.') || SKIP[platform].has(e.name.toLowerCase())) continue;
        profiles.push({ name: e.name, path: `${parent}/${e.name}` });
      }
    } catch (err) {
      const e = err instanceof FsAccessError ? err : new FsAccessError('EIO', parent, String(err));
      if (!e.isMissing) problems.push({ path: parent, code: e.code, message: e.message });
    }
  }
  if (platform === 'linux') {
    try {
      const st = await fs.stat('root');
      if (st.type === 'directory') profiles.push({ name: 'root', path: 'root' });
    } catch {
      // no /root, or not readable: nothing a Linux user install depends on
    }
  }
  // A stable order by name, case-insensitively (as localeCompare put them), without
  // localeCompare: its ICU collator costs the running agent about 3 MB resident.
  profiles.sort((a, b) => byNameIgnoringCase(a.name, b.name));
  return { profiles, problems };
}

function byNameIgnoringCase(a: string, b: string): number {
  const x = a.toLowerCase();
  const y = b.toLowerCase();
  if (x !== y) return x < y ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}
