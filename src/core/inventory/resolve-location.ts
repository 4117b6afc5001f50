/**
 * Turns a pack location (scope + relative path, `*` within a segment) into the paths that
 * exist on the target. Each `*` segment costs one folder listing; nothing is walked
 * recursively, which is what keeps a scan cheap on a disk with millions of files.
 */
import type { Location } from '../pack/schema.js';
import { FsAccessError, type EntryType, type TargetFs } from '../os/target-fs.js';
import type { UserProfile } from './user-profiles.js';

export interface ResolvedPath {
  path: string;
  type: EntryType;
  /** The profile it was found under, for `user` scope locations. */
  user?: string;
}

export interface LocationProblem {
  path: string;
  user?: string;
  code: string;
  message: string;
}

function globToRegExp(segment: string): RegExp {
  const escaped = segment.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*');
  return new RegExp(`^${escaped}$`, 'i');
}

async function expand(fs: TargetFs, base: string, segments: string[], problems: LocationProblem[], user?: string): Promise<{ path: string; type: EntryType }[]> {
  let current: { path: string; type: EntryType }[] = [{ path: base, type: 'directory' }];
  for (let i = 0; i < segments.length; i++) {
    const seg = segments[i]!;
    const next: { path: string; type: EntryType }[] = [];
    for (const c of current) {
      if (c.type !== 'directory') continue;
      const join = (name: string) => (c.path ? `${c.path}/${name}` : name);
      try {
        if (seg.includes('*')) {
          const re = globToRegExp(seg);
          for (const e of await fs.list(c.path)) if (re.test(e.name)) next.push({ path: join(e.name), type: e.type });
        } else {
          const st = await fs.stat(join(seg));
          next.push({ path: join(seg), type: st.type });
        }
      } catch (err) {
        const e = err instanceof FsAccessError ? err : new FsAccessError('EIO', join(seg), String(err));
        if (!e.isMissing) problems.push({ path: e.targetPath, code: e.code, message: e.message, ...(user ? { user } : {}) });
      }
    }
    current = next;
    if (current.length === 0) break;
  }
  return current;
}

export async function resolveLocation(
  fs: TargetFs,
  location: Location,
  profiles: readonly UserProfile[],
): Promise<{ found: ResolvedPath[]; problems: LocationProblem[] }> {
  const problems: LocationProblem[] = [];
  const segments = location.path.split('/');
  const found: ResolvedPath[] = [];
  if (location.scope === 'system') {
    for (const r of await expand(fs, '', segments, problems)) found.push(r);
  } else {
    for (const p of profiles) {
      for (const r of await expand(fs, p.path, segments, problems, p.name)) found.push({ ...r, user: p.name });
    }
  }
  return { found, problems };
}
