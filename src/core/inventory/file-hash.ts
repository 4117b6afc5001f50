/**
 * Streaming SHA-256 of one file on the target: memory stays at one read buffer whatever
 * the file's size (the 3CX executable is about 150 MB).
 */
import { createHash } from 'node:crypto';
import type { TargetFs } from '../os/target-fs.js';

export async function sha256File(fs: TargetFs, relPath: string): Promise<{ sha256: string; size: number }> {
  const stream = await fs.createReadStream(relPath);
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of stream) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { sha256: hash.digest('hex'), size };
}
