/**
 * Positional reads for the VERSIONINFO reader that either return exactly the bytes asked for
 * or throw a VersionInfoError: `malformed` when the structure would leave the section it
 * must lie in, `truncated` when the file ends first, `unreadable` when the read fails.
 */
import type { RandomAccessFile } from '../../os/target-fs.js';
import { VersionInfoError } from './version-info-error.js';

export async function readExact(
  file: RandomAccessFile,
  offset: number,
  length: number,
  what: string,
  /**
   * Exclusive file offset the structure must end by: the end of its section's data. Past it
   * the structure is malformed (it points out of its section); within it but past the end
   * of the file, the file is truncated.
   */
  limit?: number,
): Promise<Buffer> {
  if (!Number.isSafeInteger(offset) || offset < 0 || !Number.isSafeInteger(length) || length < 0) {
    throw new VersionInfoError('malformed', `${what}: impossible position ${offset}+${length}`, offset >= 0 ? offset : undefined);
  }
  const end = offset + length;
  if (limit !== undefined && end > limit) {
    throw new VersionInfoError('malformed', `${what} (${length} bytes) runs past the end of its section's data at ${limit}`, offset);
  }
  if (end > file.size) {
    throw new VersionInfoError('truncated', `${what} (${length} bytes) runs past the end of the ${file.size}-byte file`, offset);
  }
  let buf: Buffer;
  try {
    buf = await file.read(offset, length);
  } catch (err) {
    throw new VersionInfoError('unreadable', `${what} could not be read: ${(err as Error)?.message ?? String(err)}`, offset, { cause: err });
  }
  if (buf.length < length) {
    throw new VersionInfoError('truncated', `${what}: only ${buf.length} of ${length} bytes could be read`, offset);
  }
  return buf.length === length ? buf : buf.subarray(0, length);
}
