/**
 * Real Windows executables, not generated ones: the vendor binaries electron-winstaller
 * ships (a dev dependency via electron-builder, pinned in package-lock.json), among them
 * rcedit.exe, the tool electron-builder uses to write an Electron app's VERSIONINFO. They
 * cover compiler output the generator does not imitate: MSVC and .NET resource layouts,
 * PE32 and PE32+, a language-neutral table with extra strings, an upper-case table key, a
 * code-page-1252 table, fixed info that disagrees with the strings, no RT_VERSION at all.
 *
 * Every expected value below was cross-checked with Python's pefile 2023.2.7 (Debian
 * python3-pefile), which reported the same fixed versions and string tables for all 36
 * PE files found in this repository's node_modules and Python installs.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { LocalTargetFs, type RandomAccessFile } from '../../../../src/core/os/target-fs.js';
import { normaliseAppVersion, readPeVersionInfo, VersionInfoError, type PeVersionInfo } from '../../../../src/core/inventory/windows/pe-version.js';

const VENDOR = fileURLToPath(new URL('../../../../node_modules/electron-winstaller/vendor/', import.meta.url));
const fs = new LocalTargetFs(VENDOR);

async function withFile<T>(name: string, fn: (file: RandomAccessFile & { bytesRead: number }) => Promise<T>): Promise<T> {
  if (!existsSync(`${VENDOR}${name}`)) throw new Error(`${name} is missing from node_modules/electron-winstaller/vendor: run npm ci`);
  const inner = await fs.open(name);
  let bytesRead = 0;
  const file = {
    size: inner.size,
    get bytesRead() {
      return bytesRead;
    },
    async read(position: number, length: number) {
      const b = await inner.read(position, length);
      bytesRead += b.length;
      return b;
    },
    close: () => inner.close(),
  };
  try {
    return await fn(file);
  } finally {
    await file.close();
  }
}

async function versionOf(name: string): Promise<PeVersionInfo> {
  return withFile(name, async (file) => {
    const info = await readPeVersionInfo(file);
    // Headers plus a few small tables and the resource, whatever the file's size.
    expect(file.bytesRead).toBeLessThan(64 * 1024 + 8 * 1024);
    return info;
  });
}

describe('VERSIONINFO of real executables', () => {
  it('rcedit.exe (PE32, MSVC): 0.2.0', async () => {
    const info = await versionOf('rcedit.exe');
    expect(info).toEqual({
      fixedFileVersion: '0.2.0.0',
      fixedProductVersion: '0.2.0.0',
      stringTable: '040904b0',
      strings: {
        CompanyName: 'GitHub, Inc',
        FileDescription: 'Edit resources of exe',
        FileVersion: '0.2.0',
        LegalCopyright: 'Copyright (C) 2013 GitHub, Inc. All rights reserved.',
        ProductName: 'rcedit',
        ProductVersion: '0.2.0',
      },
      languages: ['040904b0'],
    });
    expect(normaliseAppVersion(info)).toBe('0.2.0');
  });

  it('Squirrel.exe (.NET, 1.9 MB): a neutral 000004b0 table, a build-suffixed ProductVersion', async () => {
    const info = await versionOf('Squirrel.exe');
    expect(info.stringTable).toBe('000004b0');
    expect(info.languages).toEqual(['000004b0']);
    expect(info.fixedFileVersion).toBe('2.0.1.1');
    expect(info.fixedProductVersion).toBe('2.0.1.0');
    expect(info.strings).toMatchObject({ ProductName: 'Squirrel', ProductVersion: '2.0.1+eef37460ae', 'Assembly Version': '2.0.0.0', LegalCopyright: 'Copyright © GitHub 2013-2015' });
    expect(normaliseAppVersion(info)).toBe('2.0.1');
  });

  it('7z-x64.exe (PE32+): 16.04, whose fixed info says 16.4.0.0', async () => {
    const info = await versionOf('7z-x64.exe');
    expect(info.fixedProductVersion).toBe('16.4.0.0');
    expect(info.strings.ProductVersion).toBe('16.04');
    expect(normaliseAppVersion(info)).toBe('16.4.0');
  });

  it('signtool.exe: an upper-case table key and a significant fourth part', async () => {
    const info = await versionOf('signtool.exe');
    expect(info.stringTable).toBe('040904B0');
    expect(info.languages).toEqual(['040904b0']);
    expect(info.strings.ProductName).toBe('Microsoft® Windows® Operating System');
    expect(normaliseAppVersion(info)).toBe('6.1.7600.16385');
  });

  it('candle.exe (WiX): a code-page 1252 table whose strings disagree with the fixed info', async () => {
    const info = await versionOf('candle.exe');
    expect(info.languages).toEqual(['040904e4']);
    expect(info.strings.FileVersion).toBe('3.10.0.2103');
    expect(info.fixedFileVersion).toBe('3.10.2103.0');
    // The fixed info wins (see app-version.ts): it is what the loader and Explorer's numeric fields use.
    expect(normaliseAppVersion(info)).toBe('3.10.2103');
  });

  it('StubExecutable.exe has resources but no RT_VERSION', async () => {
    await withFile('StubExecutable.exe', async (file) => {
      const err = await readPeVersionInfo(file).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(VersionInfoError);
      expect((err as VersionInfoError).reason).toBe('no-version-resource');
    });
  });
});
