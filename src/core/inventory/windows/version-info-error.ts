/**
 * The one error the VERSIONINFO reader lets escape. `reason` is a stable code the inventory
 * can act on; the message says what is wrong and at which file offset, so a finding such as
 * "the version of 3CXDesktopApp.exe could not be read" can point at the bytes to look at.
 */

export type VersionInfoErrorReason =
  /** No "MZ"/"PE\0\0" signature, or too short to be a PE image at all. */
  | 'not-pe'
  /** A structure runs past the end of the file. */
  | 'truncated'
  /** The image has no resource directory (data directory 2 is empty). */
  | 'no-resources'
  /** The resource tree has no RT_VERSION (16) entry, or it holds no language. */
  | 'no-version-resource'
  /** A structure is inconsistent: bad offset, length, signature, cycle, limit exceeded. */
  | 'malformed'
  /** The file could not be read (an I/O error from the RandomAccessFile). */
  | 'unreadable';

export class VersionInfoError extends Error {
  /** The problem alone, without the offset suffix `message` carries. */
  readonly detail: string;

  constructor(
    readonly reason: VersionInfoErrorReason,
    detail: string,
    /** File offset of the structure at fault, when there is one. */
    readonly offset?: number,
    options?: { cause?: unknown },
  ) {
    super(`VERSIONINFO ${reason}: ${detail}${offset === undefined ? '' : ` (at file offset ${offset})`}`, options);
    this.name = 'VersionInfoError';
    this.detail = detail;
  }
}
