/**
 * A folder tree for a test, in a new temp folder: each key is a relative path and its
 * value the file's content; a key ending in "/" is an empty folder.
 */
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

export async function makeTree(files: Record<string, string | Buffer>, prefix = 'vigil-tree-'): Promise<string> {
  const root = await mkdtemp(path.join(tmpdir(), prefix));
  for (const [rel, content] of Object.entries(files)) {
    if (rel.endsWith('/')) {
      await mkdir(path.join(root, rel), { recursive: true });
      continue;
    }
    await mkdir(path.dirname(path.join(root, rel)), { recursive: true });
    await writeFile(path.join(root, rel), content);
  }
  return root;
}
