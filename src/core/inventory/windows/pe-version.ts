/**
 * Reads an executable's own version from its VERSIONINFO resource: PE headers (pe-headers.ts),
 * then the resource tree down to RT_VERSION (resource-directory.ts), then the VS_VERSIONINFO
 * bytes (version-info-block.ts). Registry uninstall entries can be stale or missing; this is
 * what the file on disk says.
 *
 * Only the bytes needed are read, with positional reads: the first 64 KiB of headers, a few
 * directory tables, and the version resource itself (at most 64 KiB: its wLength is a WORD).
 * The 3CX executable is about 150 MB and is never loaded whole.
 *
 * Only VersionInfoError escapes, with a `reason` code: not-pe, truncated, no-resources,
 * no-version-resource, malformed, unreadable.
 */
import type { RandomAccessFile } from '../../os/target-fs.js';
import { PeFormatError, readPeHeaders, type PeHeaders } from '../../pe/pe-headers.js';
import { readExact } from './bounded-read.js';
import { findVersionResource } from './resource-directory.js';
import { parseVersionInfo, type PeVersionInfo } from './version-info-block.js';
import { VersionInfoError, type VersionInfoErrorReason } from './version-info-error.js';

export type { PeVersionInfo } from './version-info-block.js';
export { VersionInfoError, type VersionInfoErrorReason } from './version-info-error.js';
export { normaliseAppVersion } from './app-version.js';

/** A VS_VERSIONINFO is at most 0xFFFF bytes long (wLength is a WORD). */
export const MAX_VERSION_RESOURCE_BYTES = 0xffff;

/**
 * PeFormatError carries no code, only a message whose opening words are stable
 * ("not a PE file", "truncated"); anything else it reports is a malformed header.
 */
function reasonForPeError(err: PeFormatError): VersionInfoErrorReason {
  if (err.message.startsWith('not a PE file')) return 'not-pe';
  if (err.message.startsWith('truncated')) return 'truncated';
  return 'malformed';
}

async function headersOf(file: RandomAccessFile): Promise<PeHeaders> {
  try {
    return await readPeHeaders(file);
  } catch (err) {
    if (err instanceof PeFormatError) {
      // PeFormatError appends "(at offset N)"; VersionInfoError adds its own.
      const detail = err.message.replace(/ \(at offset \d+\)$/, '');
      throw new VersionInfoError(reasonForPeError(err), `PE headers: ${detail}`, err.offset, { cause: err });
    }
    throw new VersionInfoError('unreadable', `PE headers could not be read: ${(err as Error)?.message ?? String(err)}`, undefined, { cause: err });
  }
}

export async function readPeVersionInfo(file: RandomAccessFile): Promise<PeVersionInfo> {
  try {
    const headers = await headersOf(file);
    const where = await findVersionResource(file, headers);
    const length = Math.min(where.size, MAX_VERSION_RESOURCE_BYTES);
    const bytes = await readExact(file, where.fileOffset, length, 'version resource data', where.sectionEnd);
    return parseVersionInfo(bytes, where.fileOffset);
  } catch (err) {
    if (err instanceof VersionInfoError) throw err;
    // A bug here must not crash a scan; it still surfaces, typed, with its cause.
    throw new VersionInfoError('malformed', `unexpected failure: ${(err as Error)?.message ?? String(err)}`, undefined, { cause: err });
  }
}
