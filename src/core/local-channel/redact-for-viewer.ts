/**
 * What one user may see of the machine agent's findings. Pure.
 *
 * The machine agent reads every profile; the tray in Bob's session must show Bob his own
 * profile in full, and of the other profiles only what he needs to know ("a compromised
 * 3CX build is installed in another user's profile on this PC; IT has been told") without
 * the other user's name or any path inside their profile. Machine-wide places (Program
 * Files, /opt, /Applications) are shown as they are.
 *
 * A finding or install belongs to another profile when its `user` is another profile's
 * name, or when a path in it lies under another profile folder (Users/<name>,
 * home/<name>, root). Everything textual that survives (titles, errors, detail values,
 * problems) is scrubbed of other profiles' paths and of other users' names as whole words.
 */
import type { Finding, Install } from '../../shared/scan.js';

export interface Viewer {
  /** The viewer's profile folder name as inventory names it (`Install.user`), or null for nobody's. */
  profile: string | null;
  /** Windows and macOS profile names compare without case. */
  caseInsensitive: boolean;
}

export interface RedactableState {
  findings: Finding[];
  installs: Install[];
  problems: string[];
  lastScanError: string | null;
}

export interface Redacted<T> {
  state: T;
  otherProfiles: { findings: number; installs: number };
  /** The same scrubbing for other text shown to this viewer (the verdict's summary, log lines). */
  scrub: (text: string) => string;
}

export const OTHER_PROFILE = 'another user’s profile';
export const OTHER_USER = 'another user';
/** What a user is told to do about a finding in someone else's profile: nothing they could. */
export const OTHER_PROFILE_ADVICE = {
  title: 'This is in another user’s profile on this PC, not in yours',
  text: 'Your IT provider has been told and will deal with it; there is nothing to do in your own account. If you use that account too, tell IT.',
} as const;

/** Profile folders that belong to no person (inventory skips them too). */
const SHARED_PROFILES = new Set(['public', 'default', 'default user', 'all users', 'shared', 'guest']);

// A path into a profile folder, absolute or target-relative, with / or \ separators:
// "Users/alice/AppData/x", "C:\Users\alice", "/home/alice/.config", "/root/x".
const PROFILE_PATH =
  /(?<![\p{L}\p{N}_.])(?:(?:[A-Za-z]:)?[\\/]?(?:Users|home)[\\/]([^\\/\s:;,'"()<>|]+)|\/(root))(?=[\\/\s:;,'"()<>|]|$)(?:[\\/][^\s:;,'"()<>|]*)*/giu;

export function redactForViewer<T extends RedactableState>(state: T, viewer: Viewer): Redacted<T> {
  const same = (a: string, b: string) => (viewer.caseInsensitive ? a.toLowerCase() === b.toLowerCase() : a === b);
  const isViewer = (name: string) => viewer.profile !== null && same(name, viewer.profile);
  const isShared = (name: string) => SHARED_PROFILES.has(name.toLowerCase());

  // Names to scrub: every profile named anywhere in the state that is not the viewer's.
  const otherNames = new Set<string>();
  for (const i of state.installs) if (i.user && !isViewer(i.user) && !isShared(i.user)) otherNames.add(i.user);
  for (const f of state.findings) if (f.evidence.user && !isViewer(f.evidence.user) && !isShared(f.evidence.user)) otherNames.add(f.evidence.user);

  const profileOf = (p: string): string | null => {
    PROFILE_PATH.lastIndex = 0;
    const m = PROFILE_PATH.exec(p);
    if (!m) return null;
    return m[1] ?? m[2] ?? null;
  };
  const isOtherPath = (p: string | undefined) => {
    if (!p) return false;
    const owner = profileOf(p);
    return owner !== null && !isViewer(owner) && !isShared(owner);
  };
  const scrub = (text: string): string => {
    let out = text.replace(PROFILE_PATH, (whole: string, name: string | undefined, root: string | undefined) => {
      const owner = name ?? root ?? '';
      return isViewer(owner) || isShared(owner) ? whole : OTHER_PROFILE;
    });
    for (const n of otherNames) out = out.replace(new RegExp(`(?<![\\p{L}\\p{N}_])${escapeRegExp(n)}(?![\\p{L}\\p{N}_])`, viewer.caseInsensitive ? 'giu' : 'gu'), OTHER_USER);
    return out;
  };

  let hiddenFindings = 0;
  let hiddenInstalls = 0;

  const findings = state.findings.map((f): Finding => {
    const e = f.evidence;
    const other = (e.user !== undefined && !isViewer(e.user) && !isShared(e.user)) || isOtherPath(e.path) || isOtherPath(e.process?.path);
    if (!other) return { ...f, title: scrub(f.title), evidence: { ...e, ...(e.error ? { error: scrub(e.error) } : {}), ...(e.detail ? { detail: scrubDetail(e.detail, scrub) } : {}) } };
    hiddenFindings++;
    const { path: _p, user: _u, process, error, detail, ...rest } = e;
    return {
      ...f,
      title: scrub(f.title),
      ...(f.advice ? { advice: { ...f.advice, ...OTHER_PROFILE_ADVICE, id: `${f.advice.id}-other-profile`, steps: [] } } : {}),
      evidence: {
        ...rest,
        ...(process ? { process: { pid: process.pid, ...(process.name ? { name: scrub(process.name) } : {}) } } : {}),
        ...(error ? { error: scrub(error) } : {}),
        detail: { ...(detail ? scrubDetail(detail, scrub) : {}), profile: OTHER_PROFILE },
      },
    };
  });

  const installs = state.installs.map((i): Install => {
    const other = (i.user !== undefined && !isViewer(i.user) && !isShared(i.user)) || isOtherPath(i.location);
    if (!other) return i;
    hiddenInstalls++;
    const { user: _u, ...rest } = i;
    return {
      ...rest,
      location: OTHER_PROFILE,
      files: i.files.map((file) => ({ ...file, path: `${OTHER_PROFILE}/${baseName(file.path)}`, ...(file.error ? { error: scrub(file.error) } : {}) })),
    };
  });

  return {
    state: {
      ...state,
      findings,
      installs,
      problems: state.problems.map(scrub),
      lastScanError: state.lastScanError === null ? null : scrub(state.lastScanError),
    },
    otherProfiles: { findings: hiddenFindings, installs: hiddenInstalls },
    scrub,
  };
}

function scrubDetail(detail: Record<string, string | number | boolean>, scrub: (s: string) => string): Record<string, string | number | boolean> {
  return Object.fromEntries(Object.entries(detail).map(([k, v]) => [k, typeof v === 'string' ? scrub(v) : v]));
}

function baseName(p: string): string {
  const parts = p.split(/[\\/]/);
  return parts[parts.length - 1] ?? '';
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
