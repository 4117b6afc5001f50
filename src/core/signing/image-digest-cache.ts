/**
 * Authenticode image digests a scan computed while inventory hashed a file, kept for the
 * same scan's signature check (install-signature-check.ts), so a signed 150 MB executable
 * is read and hashed once per scan rather than twice. Keyed by the target-relative path
 * and valid only while the file keeps the size and modification time it had then; a file
 * replaced in between is hashed again by the verifier.
 */
export interface CachedImageDigests {
  size: number;
  mtimeMs: number;
  /** node:crypto algorithm name -> digest of the Authenticode image ranges. */
  digests: ReadonlyMap<string, Buffer>;
}

export class ImageDigestCache {
  private readonly byPath = new Map<string, CachedImageDigests>();

  remember(relPath: string, entry: CachedImageDigests): void {
    this.byPath.set(relPath, entry);
  }

  /** The digests of `relPath` if the file is still the one they were computed from. */
  lookup(relPath: string, size: number, mtimeMs: number): ReadonlyMap<string, Buffer> | undefined {
    const e = this.byPath.get(relPath);
    return e && e.size === size && e.mtimeMs === mtimeMs ? e.digests : undefined;
  }

  get size(): number {
    return this.byPath.size;
  }
}
