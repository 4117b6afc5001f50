import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FsAccessError, LocalTargetFs } from '../../../../src/core/os/target-fs.js';
import {
  bundleInfoFromPlist,
  INFO_PLIST_MAX_BYTES,
  InfoPlistError,
  readBundleInfo,
  type BundleInfo,
} from '../../../../src/core/inventory/macos/info-plist.js';
import { parsePlist, PlistError } from '../../../../src/core/inventory/macos/plist.js';
import { peerInfoPlist, type PeerPlist } from './python-peer.js';
import { needsTools } from '../../../helpers/system-tool.js';

const APP = 'Applications/3CX Desktop App.app';
const USER_APP = 'Users/alice/Applications/3CX Desktop App.app';

const EXPECTED: BundleInfo = {
  bundleId: 'com.electron.3cx-desktop-app',
  shortVersion: '18.12.416',
  bundleVersion: '18.12.416',
  name: '3CX Desktop App',
  displayName: '3CX Desktop App',
  executable: '3CX Desktop App',
  minimumSystemVersion: '10.11.0',
};

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

describe('the 3CX Info.plist in both forms', needsTools('python3'), () => {
  let info: PeerPlist;
  beforeAll(() => {
    info = peerInfoPlist();
  });

  it('parses equal from XML and binary, nested dictionaries included', () => {
    expect(info.binary.subarray(0, 8).toString('latin1')).toBe('bplist00');
    const fromXml = parsePlist(info.xml);
    expect(fromXml).toEqual(parsePlist(info.binary));
    expect(fromXml).toMatchObject({
      CFBundleShortVersionString: '18.12.416',
      NSHighResolutionCapable: true,
      NSPrincipalClass: 'AtomApplication',
      LSApplicationCategoryType: 'public.app-category.business',
      NSHumanReadableCopyright: 'Copyright \u00a9 2023 3CX',
      ElectronAsarIntegrity: { 'Resources/app.asar': { algorithm: 'SHA256', hash: '0f'.repeat(32) } },
    });
  });
});

describe('readBundleInfo on a fixture tree', needsTools('python3'), () => {
  let root: string;
  let fs: LocalTargetFs;

  beforeAll(async () => {
    const info = peerInfoPlist();
    root = await mkdtemp(path.join(tmpdir(), 'vigil-macos-'));
    const put = async (rel: string, content: Buffer | string): Promise<void> => {
      await mkdir(path.dirname(path.join(root, rel)), { recursive: true });
      await writeFile(path.join(root, rel), content);
    };
    await put(`${APP}/Contents/Info.plist`, info.xml);
    await put(`${USER_APP}/Contents/Info.plist`, info.binary);
    await mkdir(path.join(root, 'Applications/Missing.app/Contents/MacOS'), { recursive: true });
    await put('Applications/Broken.app/Contents/Info.plist', info.binary.subarray(0, info.binary.length - 5));
    await put(
      'Applications/Array.app/Contents/Info.plist',
      '<?xml version="1.0" encoding="UTF-8"?>\n<plist version="1.0">\n<array><string>18.12.416</string></array>\n</plist>\n',
    );
    await put(
      'Applications/Odd.app/Contents/Info.plist',
      '<plist><dict><key>CFBundleShortVersionString</key><integer>18</integer><key>CFBundleVersion</key><string>18.12.416</string>' +
        '<key>CFBundleName</key><array/></dict></plist>',
    );
    await put('Applications/Huge.app/Contents/Info.plist', Buffer.alloc(INFO_PLIST_MAX_BYTES + 1, 0x20));
    fs = new LocalTargetFs(root);
  });

  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('reads an XML Info.plist', async () => {
    expect(await readBundleInfo(fs, APP)).toEqual(EXPECTED);
  });

  it('reads a binary Info.plist to the same result', async () => {
    expect(await readBundleInfo(fs, USER_APP)).toEqual(EXPECTED);
  });

  it('passes a missing Info.plist through as FsAccessError', async () => {
    const err = await rejection(readBundleInfo(fs, 'Applications/Missing.app'));
    expect(err).toBeInstanceOf(FsAccessError);
    expect((err as FsAccessError).isMissing).toBe(true);
    expect((err as FsAccessError).targetPath).toBe('Applications/Missing.app/Contents/Info.plist');
  });

  it('refuses an Info.plist over the size cap without parsing it', async () => {
    const err = await rejection(readBundleInfo(fs, 'Applications/Huge.app'));
    expect(err).toBeInstanceOf(FsAccessError);
    expect((err as FsAccessError).code).toBe('EFBIG');
  });

  it('reports a malformed Info.plist with its path and the PlistError as cause', async () => {
    const err = await rejection(readBundleInfo(fs, 'Applications/Broken.app'));
    expect(err).toBeInstanceOf(InfoPlistError);
    const e = err as InfoPlistError;
    expect(e.problem).toBe('malformed');
    expect(e.targetPath).toBe('Applications/Broken.app/Contents/Info.plist');
    expect(e.message).toMatch(/^Applications\/Broken\.app\/Contents\/Info\.plist: malformed Info\.plist: binary plist: .* \(at byte \d+\)$/);
    expect(e.cause).toBeInstanceOf(PlistError);
  });

  it('reports a top level that is not a dictionary', async () => {
    const err = await rejection(readBundleInfo(fs, 'Applications/Array.app'));
    expect(err).toBeInstanceOf(InfoPlistError);
    expect((err as InfoPlistError).problem).toBe('not-a-dictionary');
    expect((err as Error).message).toBe('Applications/Array.app/Contents/Info.plist: the top level is an array, not a dictionary');
  });

  it('takes only string values, leaving out keys of other types', async () => {
    expect(await readBundleInfo(fs, 'Applications/Odd.app')).toEqual({ bundleVersion: '18.12.416' });
  });
});

describe('bundleInfoFromPlist', () => {
  it('ignores inherited properties and unknown keys', () => {
    const dict = Object.create({ CFBundleIdentifier: 'inherited' }) as Record<string, string>;
    dict.CFBundleExecutable = 'x';
    dict.SomethingElse = 'y';
    expect(bundleInfoFromPlist(dict)).toEqual({ executable: 'x' });
  });
});
