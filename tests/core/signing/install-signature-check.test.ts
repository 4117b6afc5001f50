/**
 * The install signature check on its own (the CLI test runs it through `vigil check`):
 * mapping inventory's display paths back to target paths on both path styles, files that
 * vanish between inventory and the check, and macOS installs in an offline copy, where
 * codesign cannot describe the files and the check says it did not look.
 */
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LocalTargetFs, type TargetFs } from '../../../src/core/os/target-fs.js';
import { type LoadedPack } from '../../../src/core/pack/load.js';
import { parsePack } from '../../../src/core/pack/parse-pack.js';
import type { ScanContext } from '../../../src/core/scan.js';
import { installSignatureCheck, targetRelativePath } from '../../../src/core/signing/install-signature-check.js';
import type { Install } from '../../../src/shared/scan.js';
import { testPack } from '../../helpers/test-pack.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function loaded(): LoadedPack[] {
  const pack = parsePack(testPack(), 'test-pack.json');
  return [{ pack, ref: { id: pack.id, version: pack.version, title: pack.title, source: 'test' } } as unknown as LoadedPack];
}

describe('targetRelativePath', () => {
  it('inverts displayPath for POSIX roots, the live "/" and a live Windows drive', () => {
    const img = new LocalTargetFs('/mnt/img');
    expect(targetRelativePath(img, img.displayPath('Users/alice/x.exe'))).toBe('Users/alice/x.exe');
    expect(targetRelativePath(img, '/mnt/img')).toBe('');
    expect(targetRelativePath(img, '/mnt/imgother/x.exe')).toBeUndefined();
    expect(targetRelativePath(img, '/elsewhere/x.exe')).toBeUndefined();
    const live = new LocalTargetFs('/');
    expect(targetRelativePath(live, live.displayPath('Applications/3CX Desktop App.app'))).toBe('Applications/3CX Desktop App.app');
    // LocalTargetFs resolves its root with the host's path module, so a "C:\\" root exists
    // only on Windows; this stand-in shows paths the way it does there (path.win32.join).
    const win = { root: 'C:\\', displayPath: (rel: string) => path.win32.join('C:\\', ...rel.split('/')) } as unknown as TargetFs;
    const shown = win.displayPath('Users/alice/AppData/Local/Programs/3CXDesktopApp/ffmpeg.dll');
    expect(shown).toBe('C:\\Users\\alice\\AppData\\Local\\Programs\\3CXDesktopApp\\ffmpeg.dll');
    expect(targetRelativePath(win, shown)).toBe('Users/alice/AppData/Local/Programs/3CXDesktopApp/ffmpeg.dll');
  });
});

describe('installSignatureCheck', () => {
  it('a file inventory listed but that is gone when verified: unknown, naming the file', async () => {
    const root = mkdtempSync(path.join(tmpdir(), 'vigil-sigcheck-'));
    dirs.push(root);
    mkdirSync(path.join(root, 'Users/alice/AppData/Local/Programs/3CXDesktopApp'), { recursive: true });
    const fs = new LocalTargetFs(root, { caseInsensitive: true });
    const exe = fs.displayPath('Users/alice/AppData/Local/Programs/3CXDesktopApp/3CXDesktopApp.exe');
    const install: Install = {
      application: 'softphone',
      applicationName: 'Test Softphone',
      platform: 'windows',
      user: 'alice',
      location: fs.displayPath('Users/alice/AppData/Local/Programs/3CXDesktopApp'),
      versionClass: 'unknown',
      files: [{ role: 'executable', path: exe, size: 10, sha256: '00'.repeat(32) }],
    };
    const ctx: ScanContext = { target: { platform: 'windows', fs, live: false }, packs: loaded(), installs: [install], now: new Date('2026-01-01T00:00:00Z') };
    const findings = await installSignatureCheck()(ctx);
    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatchObject({ category: 'signature', severity: 'unknown', application: 'softphone', observedAt: '2026-01-01T00:00:00.000Z' });
    expect(findings[0]!.title).toMatch(/could not check the code signature of 3CXDesktopApp\.exe: .*does not exist/);
    expect(findings[0]!.evidence).toMatchObject({ path: exe, user: 'alice', detail: { status: 'unreadable' } });
  });

  it('a macOS install in an offline copy: one info finding saying the signature was not checked, nothing run', async () => {
    const fs = new LocalTargetFs('/mnt/mac-image');
    const install: Install = {
      application: 'softphone',
      applicationName: 'Test Softphone',
      platform: 'macos',
      location: fs.displayPath('Applications/3CX Desktop App.app'),
      versionClass: 'compromised',
      files: [],
    };
    const calls: string[] = [];
    const runner = { run: async (c: string) => (calls.push(c), { code: 0, stdout: '', stderr: '' }) };
    const ctx: ScanContext = { target: { platform: 'macos', fs, live: false, runner }, packs: loaded(), installs: [install], now: new Date() };
    const findings = await installSignatureCheck({ hostPlatform: 'macos' })(ctx);
    expect(findings.map((f) => [f.severity, f.ruleId])).toEqual([['info', 'signature-not-checked']]);
    expect(findings[0]!.title).toContain('/mnt/mac-image/Applications/3CX Desktop App.app');
    expect(calls).toEqual([]);
  });

  it('installs of applications no loaded pack describes are left alone', async () => {
    const fs = new LocalTargetFs('/mnt/img');
    const install: Install = { application: 'other-app', applicationName: 'Other', platform: 'windows', location: '/mnt/img/x', versionClass: 'unknown', files: [{ role: 'executable', path: '/mnt/img/x/a.exe' }] };
    const ctx: ScanContext = { target: { platform: 'windows', fs, live: false }, packs: loaded(), installs: [install], now: new Date() };
    expect(await installSignatureCheck()(ctx)).toEqual([]);
  });
});
