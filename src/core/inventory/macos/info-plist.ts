/**
 * An app bundle's identity and version from `<bundle>/Contents/Info.plist`, the macOS
 * counterpart of the Windows VERSIONINFO resource: CFBundleShortVersionString is the version
 * people see (e.g. "18.12.416") and CFBundleVersion the build number.
 *
 * Errors are typed: FsAccessError from the TargetFs as it is (missing file, permission
 * denied, larger than INFO_PLIST_MAX_BYTES), and InfoPlistError when the file is there but
 * unusable (malformed, with the PlistError as its cause, or not a dictionary at the top).
 * Both name the file in their message, which the inventory shows as the finding's evidence.
 */
import { joinRel, type TargetFs } from '../../os/target-fs.js';
import { isPlistDict, parsePlist, PlistError, type PlistDict } from './plist.js';

/** Real Info.plists are a few KiB; 1 MiB leaves ample room while keeping reads small. */
export const INFO_PLIST_MAX_BYTES = 1024 * 1024;

export interface BundleInfo {
  /** CFBundleIdentifier (reverse-DNS). */
  bundleId?: string;
  /** CFBundleShortVersionString, the marketing version ("18.12.416"). */
  shortVersion?: string;
  /** CFBundleVersion, the build version. */
  bundleVersion?: string;
  /** CFBundleName. */
  name?: string;
  /** CFBundleDisplayName. */
  displayName?: string;
  /** CFBundleExecutable: the file name in Contents/MacOS. */
  executable?: string;
  /** LSMinimumSystemVersion. */
  minimumSystemVersion?: string;
}

export type InfoPlistProblem = 'malformed' | 'not-a-dictionary';

export class InfoPlistError extends Error {
  constructor(
    readonly problem: InfoPlistProblem,
    /** The Info.plist path relative to the TargetFs root. */
    readonly targetPath: string,
    message: string,
    options?: { cause: PlistError },
  ) {
    super(message, options);
    this.name = 'InfoPlistError';
  }
}

const FIELDS: ReadonlyArray<readonly [keyof BundleInfo, string]> = [
  ['bundleId', 'CFBundleIdentifier'],
  ['shortVersion', 'CFBundleShortVersionString'],
  ['bundleVersion', 'CFBundleVersion'],
  ['name', 'CFBundleName'],
  ['displayName', 'CFBundleDisplayName'],
  ['executable', 'CFBundleExecutable'],
  ['minimumSystemVersion', 'LSMinimumSystemVersion'],
];

function describe(value: unknown): string {
  if (Array.isArray(value)) return 'an array';
  if (value instanceof Date) return 'a date';
  if (value instanceof Uint8Array) return 'data';
  return `a ${typeof value}`;
}

/** Picks the known keys; a key whose value is not a string is left out, not coerced. */
export function bundleInfoFromPlist(dict: PlistDict): BundleInfo {
  const info: BundleInfo = {};
  for (const [field, key] of FIELDS) {
    const value = Object.prototype.hasOwnProperty.call(dict, key) ? dict[key] : undefined;
    if (typeof value === 'string') info[field] = value;
  }
  return info;
}

/** `bundlePath` is the .app folder relative to the TargetFs root. */
export async function readBundleInfo(fs: TargetFs, bundlePath: string): Promise<BundleInfo> {
  const plistPath = joinRel(bundlePath, 'Contents/Info.plist');
  const bytes = await fs.readFile(plistPath, INFO_PLIST_MAX_BYTES);
  let top;
  try {
    top = parsePlist(bytes, { maxBytes: INFO_PLIST_MAX_BYTES });
  } catch (err) {
    if (err instanceof PlistError) {
      throw new InfoPlistError('malformed', plistPath, `${plistPath}: malformed Info.plist: ${err.message}`, { cause: err });
    }
    throw err;
  }
  if (!isPlistDict(top)) {
    throw new InfoPlistError('not-a-dictionary', plistPath, `${plistPath}: the top level is ${describe(top)}, not a dictionary`);
  }
  return bundleInfoFromPlist(top);
}
