/**
 * Malformed input: every way the reader must refuse a file ends in a VersionInfoError with
 * the right `reason` and, where there is one, the file offset of the structure at fault.
 * Files are the generated 3CX-shaped image cut or patched at exact structures, whose
 * positions the generator reports.
 */
import { describe, expect, it } from 'vitest';
import { makePe } from '../../../helpers/make-pe.js';
import { electronAppVersionSpec, makeVersionResourceLayout, type VersionResourceLayout, type VersionResourceOptions } from '../../../helpers/make-version-resource.js';
import { parsePeHeaders } from '../../../../src/core/pe/pe-headers.js';
import { readPeVersionInfo, VersionInfoError, type VersionInfoErrorReason } from '../../../../src/core/inventory/windows/pe-version.js';
import { parseVersionInfo } from '../../../../src/core/inventory/windows/version-info-block.js';
import type { RandomAccessFile } from '../../../../src/core/os/target-fs.js';
import { failingFile, memoryFile } from './memory-file.js';

interface Image {
  bytes: Buffer;
  layout: VersionResourceLayout;
  /** File offset of the .rsrc section (tree offset 0). */
  rsrc: number;
  /** File offsets of the version data entry and VS_VERSIONINFO (US English). */
  dataEntry: number;
  versionInfo: number;
  versionSize: number;
  /** Offset of data directory 2 (resource table) in the optional header. */
  resourceDirectoryEntry: number;
  /** Offset of the .rsrc section header in the section table. */
  rsrcSectionHeader: number;
}

function image(opts: VersionResourceOptions = { languages: [{ id: 0x0409, info: electronAppVersionSpec('18.12.416') }], otherTypes: [3, 24] }): Image {
  let layout: VersionResourceLayout | undefined;
  const bytes = makePe({
    resources: (rva) => {
      layout = makeVersionResourceLayout(rva, opts);
      return layout.data;
    },
  });
  const headers = parsePeHeaders(bytes, bytes.length);
  const index = headers.sections.findIndex((s) => s.name === '.rsrc');
  const rsrc = headers.sections[index]!.pointerToRawData;
  const v = layout!.versionDataEntries[0];
  return {
    bytes,
    layout: layout!,
    rsrc,
    dataEntry: v ? rsrc + v.dataEntry : -1,
    versionInfo: v ? rsrc + v.versionInfo : -1,
    versionSize: v?.size ?? 0,
    resourceDirectoryEntry: headers.optionalHeaderOffset + (headers.is64 ? 112 : 96) + 2 * 8,
    rsrcSectionHeader: headers.optionalHeaderOffset + headers.sizeOfOptionalHeader + index * 40,
  };
}

async function failure(file: RandomAccessFile | Buffer): Promise<VersionInfoError> {
  try {
    await readPeVersionInfo(Buffer.isBuffer(file) ? memoryFile(file) : file);
  } catch (err) {
    expect(err).toBeInstanceOf(VersionInfoError);
    return err as VersionInfoError;
  }
  throw new Error('readPeVersionInfo succeeded on malformed input');
}

async function expectReason(file: RandomAccessFile | Buffer, reason: VersionInfoErrorReason, offset?: number): Promise<VersionInfoError> {
  const err = await failure(file);
  expect(err.reason, err.message).toBe(reason);
  if (offset !== undefined) expect(err.offset, err.message).toBe(offset);
  return err;
}

/** Patches a copy. */
function patched(bytes: Buffer, edits: [offset: number, value: number, width: 2 | 4][]): Buffer {
  const out = Buffer.from(bytes);
  for (const [at, value, width] of edits) {
    if (width === 2) out.writeUInt16LE(value, at);
    else out.writeUInt32LE(value >>> 0, at);
  }
  return out;
}

describe('files that are not PE images', () => {
  it.each([
    ['an empty file', Buffer.alloc(0)],
    ['63 bytes', Buffer.alloc(63, 0x4d)],
    ['a text file', Buffer.from('3CX Desktop App\r\n'.repeat(20), 'latin1')],
    ['an ELF binary', Buffer.concat([Buffer.from('\x7fELF\x02\x01\x01', 'latin1'), Buffer.alloc(200)])],
    ['an MZ stub without a PE signature', (() => {
      const b = Buffer.alloc(512);
      b.write('MZ', 0, 'latin1');
      b.writeUInt32LE(0x80, 0x3c);
      b.write('NE', 0x80, 'latin1');
      return b;
    })()],
  ])('%s is not-pe', async (_name, bytes) => {
    await expectReason(bytes, 'not-pe');
  });

  it('random bytes behind a valid-looking DOS header end in a typed error', async () => {
    let seed = 7;
    const b = Buffer.alloc(8192);
    for (let i = 0; i < b.length; i++) b[i] = (seed = (seed * 1103515245 + 12345) & 0x7fffffff) & 0xff;
    b.write('MZ', 0, 'latin1');
    b.writeUInt32LE(0x100, 0x3c);
    b.write('PE\0\0', 0x100, 'latin1');
    const err = await failure(b);
    expect(['malformed', 'truncated', 'not-pe']).toContain(err.reason);
  });
});

describe('images without a version resource', () => {
  it('an image with no .rsrc is no-resources', async () => {
    await expectReason(makePe(), 'no-resources');
    await expectReason(makePe({ pe32plus: false }), 'no-resources');
  });

  it('a resource tree without RT_VERSION is no-version-resource', async () => {
    const img = image({ omitVersion: true, otherTypes: [3, 14, 24] });
    await expectReason(img.bytes, 'no-version-resource', img.rsrc);
  });

  it('an empty RT_VERSION name directory or language directory is no-version-resource', async () => {
    const img = image();
    const names = img.rsrc + img.layout.versionNameDirectory;
    const langs = img.rsrc + img.layout.versionLanguageDirectory;
    await expectReason(patched(img.bytes, [[names + 14, 0, 2]]), 'no-version-resource', names);
    await expectReason(patched(img.bytes, [[langs + 14, 0, 2]]), 'no-version-resource', langs);
  });
});

describe('truncated at each structure', () => {
  const img = image();
  const cuts: [string, number, VersionInfoErrorReason][] = [
    ['inside the DOS header', 40, 'not-pe'],
    ['inside the COFF header', 0x80 + 10, 'truncated'],
    ['inside the section table', 0x80 + 24 + 240 + 20, 'truncated'],
    ['at the start of .rsrc', img.rsrc, 'truncated'],
    ['inside the root directory header', img.rsrc + 8, 'truncated'],
    ['inside the root directory entries', img.rsrc + 20, 'truncated'],
    ['inside the RT_VERSION name directory', img.rsrc + img.layout.versionNameDirectory + 4, 'truncated'],
    ['inside the language directory', img.rsrc + img.layout.versionLanguageDirectory + 18, 'truncated'],
    ['inside the data entry', img.dataEntry + 6, 'truncated'],
    ['inside the VS_VERSIONINFO header', img.versionInfo + 3, 'truncated'],
    ['inside VS_FIXEDFILEINFO', img.versionInfo + 60, 'truncated'],
    ['inside the last String', img.versionInfo + img.versionSize - 10, 'truncated'],
  ];
  it.each(cuts)('cut %s: %s', async (_name, at, reason) => {
    await expectReason(img.bytes.subarray(0, at), reason);
  });

  it('the intact image reads, so each cut is what fails', async () => {
    expect((await readPeVersionInfo(memoryFile(img.bytes))).fixedFileVersion).toBe('18.12.416.0');
  });

  it('a file that returns fewer bytes than its size promised is truncated, not a crash', async () => {
    const shrinking: RandomAccessFile = {
      size: img.bytes.length,
      read: async (p, l) => img.bytes.subarray(p, Math.min(p + l, img.versionInfo + 20)),
      close: async () => {},
    };
    await expectReason(shrinking, 'truncated', img.versionInfo);
  });
});

describe('resource tree corruption', () => {
  const img = image();
  const root = img.rsrc;
  const versionTypeEntry = () => {
    // The root table lists types 3, 16, 24 in that order (ID entries sorted).
    const at = root + 16 + 8;
    expect(img.bytes.readUInt32LE(at)).toBe(16);
    return at;
  };
  const names = img.rsrc + img.layout.versionNameDirectory;
  const langs = img.rsrc + img.layout.versionLanguageDirectory;

  it('an RT_VERSION entry pointing back at the root directory is a cycle', async () => {
    const err = await expectReason(patched(img.bytes, [[versionTypeEntry() + 4, 0x80000000, 4]]), 'malformed', root);
    expect(err.message).toMatch(/cycle/);
  });

  it('a name entry pointing at its own directory is a cycle', async () => {
    const err = await expectReason(patched(img.bytes, [[names + 16 + 4, 0x80000000 | img.layout.versionNameDirectory, 4]]), 'malformed', names);
    expect(err.message).toMatch(/cycle/);
  });

  it('a name entry pointing at the root is a cycle', async () => {
    await expectReason(patched(img.bytes, [[names + 16 + 4, 0x80000000, 4]]), 'malformed', root);
  });

  it('a language entry that is a directory is malformed (the tree is three levels deep)', async () => {
    const err = await expectReason(patched(img.bytes, [[langs + 16 + 4, 0x80000000 | img.layout.versionNameDirectory, 4]]), 'malformed');
    expect(err.message).toMatch(/three levels/);
  });

  it('an RT_VERSION entry that is a data entry is malformed', async () => {
    await expectReason(patched(img.bytes, [[versionTypeEntry() + 4, img.layout.versionLanguageDirectory, 4]]), 'malformed');
  });

  it('a directory claiming 65535 entries is malformed, not read', async () => {
    const err = await expectReason(patched(img.bytes, [[root + 14, 0xffff, 2]]), 'malformed', root + 12);
    expect(err.message).toMatch(/entries/);
  });

  it('a subdirectory offset past the end of the section is malformed', async () => {
    await expectReason(patched(img.bytes, [[versionTypeEntry() + 4, 0x80000000 | 0x7fff0000, 4]]), 'malformed', root + 0x7fff0000);
    await expectReason(patched(img.bytes, [[names + 16 + 4, 0x80000000 | (img.layout.data.length + 0x1000), 4]]), 'malformed');
  });

  it('a data entry offset past the end of the section is malformed', async () => {
    await expectReason(patched(img.bytes, [[langs + 16 + 4, 0x10000, 4]]), 'malformed', root + 0x10000);
  });

  it('a data RVA no section backs is malformed', async () => {
    await expectReason(patched(img.bytes, [[img.dataEntry, 0x00f00000, 4]]), 'malformed', img.dataEntry);
  });

  it('a data size running past the end of the section is malformed', async () => {
    await expectReason(patched(img.bytes, [[img.dataEntry + 4, 0x8000, 4]]), 'malformed', img.versionInfo);
  });

  it('a zero data size is malformed', async () => {
    await expectReason(patched(img.bytes, [[img.dataEntry + 4, 0, 4]]), 'malformed', img.dataEntry + 4);
  });

  it('a resource directory RVA no section backs is malformed', async () => {
    await expectReason(patched(img.bytes, [[img.resourceDirectoryEntry, 0x00f00000, 4]]), 'malformed');
  });

  it('a .rsrc section whose raw data lies past the end of the file is truncated', async () => {
    await expectReason(patched(img.bytes, [[img.rsrcSectionHeader + 20, img.bytes.length + 0x1000, 4]]), 'truncated');
  });

  it('a resource name string longer than 256 characters is malformed', async () => {
    const named = image({ languages: [{ id: 0x0409, info: electronAppVersionSpec('18.12.416') }], name: 'VERSION' });
    const nameDir = named.rsrc + named.layout.versionNameDirectory;
    const nameAt = named.rsrc + (named.bytes.readUInt32LE(nameDir + 16) & 0x7fffffff);
    await expectReason(patched(named.bytes, [[nameAt, 0xffff, 2]]), 'malformed', nameAt);
  });
});

describe('VS_VERSIONINFO corruption', () => {
  const img = image();
  const vi = img.versionInfo;
  const at = (key: string) => {
    const k = img.bytes.indexOf(Buffer.from(`${key}\0`, 'utf16le'), vi);
    expect(k).toBeGreaterThan(vi);
    return k - 6;
  };

  it('a root key other than VS_VERSION_INFO is malformed', async () => {
    const bytes = Buffer.from(img.bytes);
    bytes.write('X', vi + 6, 'utf16le');
    await expectReason(bytes, 'malformed', vi + 6);
  });

  it('a root wLength shorter than its header, or longer than the resource, is malformed', async () => {
    await expectReason(patched(img.bytes, [[vi, 4, 2]]), 'malformed', vi);
    await expectReason(patched(img.bytes, [[vi, img.versionSize + 4, 2]]), 'malformed', vi);
  });

  it('a VS_FIXEDFILEINFO with a bad signature or too short is malformed', async () => {
    const sig = await expectReason(patched(img.bytes, [[vi + 40, 0xdeadbeef, 4]]), 'malformed', vi + 40);
    expect(sig.message).toMatch(/signature/);
    await expectReason(patched(img.bytes, [[vi + 2, 20, 2]]), 'malformed', vi + 2);
  });

  it('a fixed info wValueLength running past wLength is malformed', async () => {
    await expectReason(patched(img.bytes, [[vi + 2, 0xfff0, 2]]), 'malformed', vi + 2);
  });

  it('a String running past its StringTable is malformed', async () => {
    await expectReason(patched(img.bytes, [[at('ProductVersion'), 0x400, 2]]), 'malformed', at('ProductVersion'));
  });

  it('a child wLength shorter than a header is malformed', async () => {
    await expectReason(patched(img.bytes, [[at('StringFileInfo'), 3, 2]]), 'malformed', at('StringFileInfo'));
  });

  it('a key without a NUL inside its structure is malformed', async () => {
    // CompanyName's structure cut to 12 bytes: only "Com" of its key fits.
    await expectReason(patched(img.bytes, [[at('CompanyName'), 12, 2]]), 'malformed', at('CompanyName') + 6);
  });

  it('parseVersionInfo on bytes shorter than a header is malformed', () => {
    expect(() => parseVersionInfo(Buffer.alloc(4), 1000)).toThrow(VersionInfoError);
  });
});

describe('I/O failures', () => {
  it('a read that throws is unreadable, with the cause kept', async () => {
    const err = await expectReason(failingFile(4096), 'unreadable');
    expect((err.cause as Error).message).toMatch(/EIO/);
  });

  it('a read failing after the headers is unreadable too', async () => {
    const img = image();
    let calls = 0;
    const file: RandomAccessFile = {
      size: img.bytes.length,
      read: async (p, l) => {
        if (++calls > 1) throw new Error('EBUSY: resource busy or locked');
        return img.bytes.subarray(p, p + l);
      },
      close: async () => {},
    };
    await expectReason(file, 'unreadable', img.rsrc);
  });
});
