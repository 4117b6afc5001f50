/**
 * Streaming SHA-256 of one file on the target: memory stays at two read buffers whatever
 * the file's size (the 3CX executable is about 150 MB).
 */
import type { FileStat, TargetFs } from '../os/target-fs.js';
import type { ImageDigestCache } from '../signing/image-digest-cache.js';
import { hashFileAndRanges } from '../signing/pe-image-digest.js';

/**
 * SHA-256 of a file inventory found, in one pass that also computes its Authenticode
 * image digests when it is a signed PE and a cache is given (kept there for the signature
 * check of the same scan). Two reused 1 MiB buffers, whatever the size.
 */
export async function hashInstalledFile(
  fs: TargetFs,
  relPath: string,
  stat: FileStat,
  cache: ImageDigestCache | undefined,
): Promise<{ sha256: string; size: number }> {
  const file = await fs.open(relPath);
  try {
    // The Authenticode parser (signing/, about 27 KB minified) loads only once a file is
    // actually hashed, so a check of a PC without the packs' software never loads it.
    const plan = cache ? await (await import('../signing/verify-authenticode.js')).planImageDigest(file) : undefined;
    const r = await hashFileAndRanges(file, plan?.ranges ?? [], plan?.algorithms ?? []);
    if (plan && cache) cache.remember(relPath, { size: file.size, mtimeMs: stat.mtimeMs, digests: r.ranges });
    return { sha256: r.sha256.toString('hex'), size: file.size };
  } finally {
    await file.close().catch(() => undefined);
  }
}
