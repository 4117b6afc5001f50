import { mkdir, mkdtemp, chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkoutAccessOptions, folderOthersCannotEnter } from './checkout-access.js';

describe('a checkout other users must reach', () => {
  it('names the first folder, from the checkout up, that others may not enter', async () => {
    const top = await mkdtemp(path.join(tmpdir(), 'vigil-access-')); // mkdtemp: 0700
    const repo = path.join(top, 'clone', 'vigil');
    await mkdir(repo, { recursive: true, mode: 0o755 });
    await chmod(path.join(top, 'clone'), 0o755);
    await chmod(repo, 0o755);
    expect(folderOthersCannotEnter(repo)).toBe(top);
    await chmod(top, 0o755);
    expect(folderOthersCannotEnter(repo)).toBeUndefined();
    await chmod(path.join(top, 'clone'), 0o750);
    expect(folderOthersCannotEnter(repo)).toBe(path.join(top, 'clone'));
  });

  it('runs when nothing blocks, and skips naming the folder when something does', () => {
    expect(checkoutAccessOptions(undefined)).toEqual({});
    const skipped = checkoutAccessOptions('/root/tmp.abc');
    expect(skipped.skip).toBe(true);
    expect(skipped.meta?.unmetPrecondition).toMatch(/cannot enter \/root\/tmp\.abc/);
  });
});
