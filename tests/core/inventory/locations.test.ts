import { chmod, symlink } from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { LocalTargetFs } from '../../../src/core/os/target-fs.js';
import { needsCheckoutOthersCanRead } from '../../helpers/checkout-access.js';
import { needsTools } from '../../helpers/system-tool.js';
import { listUserProfiles } from '../../../src/core/inventory/user-profiles.js';
import { resolveLocation } from '../../../src/core/inventory/resolve-location.js';
import { detectPlatform } from '../../../src/core/inventory/scan-target.js';
import { hashInstalledFile } from '../../../src/core/inventory/file-hash.js';
import { makeTree } from '../../helpers/file-tree.js';

const tree = (files: Record<string, string | Buffer>) => makeTree(files, 'vigil-tree-');

describe('user profiles and locations on a Windows layout', () => {
  it('lists real profiles and skips built-in ones and junctions', async () => {
    const root = await tree({ 'Users/alice/NTUSER.DAT': 'x', 'Users/Bob/NTUSER.DAT': 'x', 'Users/Public/x': 'x', 'Users/Default/x': 'x', 'Users/desktop.ini': 'x', 'Windows/System32/': '' });
    await symlink(path.join(root, 'Users/Default'), path.join(root, 'Users/Default User'));
    const fs = new LocalTargetFs(root, { caseInsensitive: true });
    expect(await detectPlatform(fs)).toBe('windows');
    const { profiles, problems } = await listUserProfiles(fs, 'windows');
    expect(profiles.map((p) => p.name)).toEqual(['alice', 'Bob']);
    expect(problems).toEqual([]);
  });

  it('resolves names case-insensitively and expands * within one folder only', async () => {
    const root = await tree({
      'Users/alice/appdata/local/programs/3cxdesktopapp/3CXDesktopApp.exe': 'MZ',
      'Users/alice/Downloads/3CXDesktopApp-18.12.416.msi': 'msi',
      'Users/alice/Downloads/3CXDesktopApp-18.12.425.msi': 'msi',
      'Users/alice/Downloads/other.msi': 'msi',
      'Users/alice/Downloads/nested/3CXDesktopApp-1.msi': 'deep: must not be found',
      'Users/bob/NTUSER.DAT': 'x',
    });
    const fs = new LocalTargetFs(root, { caseInsensitive: true });
    const { profiles } = await listUserProfiles(fs, 'windows');
    const dirs = await resolveLocation(fs, { scope: 'user', path: 'AppData/Local/Programs/3CXDesktopApp' }, profiles);
    // Found although the disk spells it in lower case; evidence uses the pack's spelling, as Windows would.
    expect(dirs.found).toEqual([{ path: 'Users/alice/AppData/Local/Programs/3CXDesktopApp', type: 'directory', user: 'alice' }]);
    expect((await fs.stat(`${dirs.found[0]!.path}/3CXDesktopApp.exe`)).size).toBe(2);
    const msis = await resolveLocation(fs, { scope: 'user', path: 'Downloads/3CXDesktopApp*.msi' }, profiles);
    expect(msis.found.map((f) => path.basename(f.path)).sort()).toEqual(['3CXDesktopApp-18.12.416.msi', '3CXDesktopApp-18.12.425.msi']);
    expect(msis.problems).toEqual([]);
  });

  it('on a host whose file system ignores case (Windows) the exact path is used as is, with no segment resolution', async () => {
    const root = await tree({ 'Users/alice/appdata/local/programs/3cxdesktopapp/3CXDesktopApp.exe': 'MZ' });
    const wanted = 'Users/alice/AppData/Local/Programs/3CXDesktopApp/3CXDesktopApp.exe';
    // Resolved here, where the host file system is case-sensitive...
    expect((await new LocalTargetFs(root, { caseInsensitive: true, hostIgnoresCase: false }).stat(wanted)).size).toBe(2);
    // ...and handed to the host unchanged where the host resolves case itself (so on this
    // Linux host the differently-cased path is not found: proof that nothing was resolved).
    await expect(new LocalTargetFs(root, { caseInsensitive: true, hostIgnoresCase: true }).stat(wanted)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('detects macOS and Linux layouts', async () => {
    expect(await detectPlatform(new LocalTargetFs(await tree({ 'Applications/': '', 'Users/alice/Library/': '' })))).toBe('macos');
    expect(await detectPlatform(new LocalTargetFs(await tree({ 'Users/alice/Library/Preferences/': '' })))).toBe('macos');
    expect(await detectPlatform(new LocalTargetFs(await tree({ 'home/alice/': '', 'etc/hostname': 'x' })))).toBe('linux');
  });

  it('hashes a file by streaming and reports missing files as FsAccessError', async () => {
    const root = await tree({ 'a.bin': 'abc' });
    const fs = new LocalTargetFs(root);
    expect(await hashInstalledFile(fs, 'a.bin', await fs.stat('a.bin'), undefined)).toEqual({ sha256: 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad', size: 3 });
    await expect(hashInstalledFile(fs, 'missing.bin', { type: 'file', size: 0, mtimeMs: 0 }, undefined)).rejects.toMatchObject({ name: 'FsAccessError', code: 'ENOENT' });
    await expect(fs.list('../etc')).rejects.toMatchObject({ code: 'EINVAL' });
  });
});

describe('unreadable places', () => {
  it('reports a denied profile as a problem, and a missing folder as nothing', process.getuid?.() === 0 ? { ...needsTools('setpriv'), ...needsCheckoutOthersCanRead() } : {}, async () => {
    // Real permissions: the check runs as "nobody" (CI runs as root, which no mode bit stops).
    const root = await tree({ 'Users/alice/AppData/Local/Programs/3CXDesktopApp/3CXDesktopApp.exe': 'MZ', 'Users/carol/NTUSER.DAT': 'x' });
    await chmod(root, 0o755);
    await chmod(path.join(root, 'Users/alice'), 0o700);
    const script = `
      import { LocalTargetFs } from ${JSON.stringify(path.resolve('src/core/os/target-fs.ts'))};
      import { listUserProfiles } from ${JSON.stringify(path.resolve('src/core/inventory/user-profiles.ts'))};
      import { resolveLocation } from ${JSON.stringify(path.resolve('src/core/inventory/resolve-location.ts'))};
      const fs = new LocalTargetFs(${JSON.stringify(root)}, { caseInsensitive: true });
      const { profiles } = await listUserProfiles(fs, 'windows');
      const r = await resolveLocation(fs, { scope: 'user', path: 'AppData/Local/Programs/3CXDesktopApp' }, profiles);
      console.log(JSON.stringify(r));`;
    const { spawnSync } = await import('node:child_process');
    const asNobody = process.getuid?.() === 0 ? ['setpriv', '--reuid=nobody', '--regid=nogroup', '--clear-groups', process.execPath] : [process.execPath];
    const r = spawnSync(asNobody[0]!, [...asNobody.slice(1), '--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', cwd: process.cwd(), env: { ...process.env, HOME: '/tmp' } });
    expect(r.stderr).toBe('');
    const out = JSON.parse(r.stdout);
    expect(out.found).toEqual([]);
    expect(out.problems).toEqual([{ path: 'Users/alice/AppData', code: 'EACCES', message: 'Users/alice/AppData: permission denied', user: 'alice' }]);
  });
});
