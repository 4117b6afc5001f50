/**
 * VERSIONINFO on generated PE32 and PE32+ images shaped like an electron-builder build of
 * the 3CX Desktop App (rcedit writes FileVersion "18.12.416" and ProductVersion
 * "18.12.416.0"). The generator (tests/helpers/make-version-resource.ts) was checked once
 * against Python's pefile 2023.2.7, which read the same tree, tables and versions.
 */
import { describe, expect, it } from 'vitest';
import { makePe } from '../../../helpers/make-pe.js';
import {
  electronAppVersionSpec,
  makeVersionInfo,
  makeVersionResource,
  type VersionInfoSpec,
  type VersionResourceOptions,
} from '../../../helpers/make-version-resource.js';
import { normaliseAppVersion, readPeVersionInfo, type PeVersionInfo } from '../../../../src/core/inventory/windows/pe-version.js';
import { parseVersionInfo } from '../../../../src/core/inventory/windows/version-info-block.js';
import { builtinPacks } from '../../../../src/core/pack/load.js';
import { classifyVersion } from '../../../../src/core/verdict/classify-version.js';
import { memoryFile } from './memory-file.js';

function pe(opts: VersionResourceOptions = {}, pe32plus = true): Buffer {
  return makePe({ pe32plus, resources: (rva) => makeVersionResource(rva, opts) });
}

async function read(opts: VersionResourceOptions = {}, pe32plus = true): Promise<PeVersionInfo> {
  return readPeVersionInfo(memoryFile(pe(opts, pe32plus)));
}

const one = (info: VersionInfoSpec, id = 0x0409): VersionResourceOptions => ({ languages: [{ id, info }] });

describe('readPeVersionInfo on electron-builder-shaped images', () => {
  it('reads 18.12.416 from a PE32+ (x64) image', async () => {
    const info = await read(one(electronAppVersionSpec('18.12.416')));
    expect(info).toEqual({
      fixedFileVersion: '18.12.416.0',
      fixedProductVersion: '18.12.416.0',
      stringTable: '040904b0',
      strings: {
        CompanyName: '3CX Ltd',
        FileDescription: '3CX Desktop App',
        FileVersion: '18.12.416',
        InternalName: '3CXDesktopApp',
        LegalCopyright: 'Copyright © 2023 3CX Ltd',
        OriginalFilename: '',
        ProductName: '3CX Desktop App',
        ProductVersion: '18.12.416.0',
      },
      languages: ['040904b0'],
    });
    expect(normaliseAppVersion(info)).toBe('18.12.416');
  });

  it('reads 18.12.425 from a PE32 (x86) image', async () => {
    const info = await read(one(electronAppVersionSpec('18.12.425')), false);
    expect(info.fixedFileVersion).toBe('18.12.425.0');
    expect(info.strings.ProductVersion).toBe('18.12.425.0');
    expect(info.strings.FileVersion).toBe('18.12.425');
    expect(normaliseAppVersion(info)).toBe('18.12.425');
  });

  it('classifies the versions it reads with the built-in 3CX pack: 416 compromised, 425 safe', async () => {
    const [loaded] = await builtinPacks();
    const rules = loaded!.pack.versionRules;
    const v416 = normaliseAppVersion(await read(one(electronAppVersionSpec('18.12.416'))));
    const v425 = normaliseAppVersion(await read(one(electronAppVersionSpec('18.12.425')), false));
    expect(classifyVersion(rules, '3cx-desktop-app', 'windows', v416).class).toBe('compromised');
    expect(classifyVersion(rules, '3cx-desktop-app', 'windows', v425).class).toBe('safe');
  });

  it('finds RT_VERSION among other resource types', async () => {
    const info = await read({ ...one(electronAppVersionSpec('18.12.416')), otherTypes: [3, 14, 24] });
    expect(info.fixedProductVersion).toBe('18.12.416.0');
  });

  it('reads a version resource identified by a name string rather than an ID', async () => {
    const info = await read({ ...one(electronAppVersionSpec('18.12.416')), name: 'VERSION' });
    expect(info.strings.ProductName).toBe('3CX Desktop App');
  });

  it('reads only headers, three directory tables and the resource from a 150 MB file', async () => {
    // An 8 MB code section before .rsrc and a 150 MB virtual size, like the real executable.
    const image = makePe({
      sections: [{ name: '.text', data: Buffer.alloc(8 * 1024 * 1024, 0xcc), characteristics: 0x60000020 }],
      resources: (rva) => makeVersionResource(rva, { ...one(electronAppVersionSpec('18.12.416')), otherTypes: [3, 14, 24] }),
    });
    const file = memoryFile(image, 150 * 1024 * 1024);
    const info = await readPeVersionInfo(file);
    expect(normaliseAppVersion(info)).toBe('18.12.416');
    expect(Math.max(...file.reads.map((r) => r.length))).toBeLessThanOrEqual(64 * 1024);
    expect(file.bytesRead).toBeLessThan(64 * 1024 + 2048);
    expect(file.reads.length).toBeLessThanOrEqual(10);
  });
});

describe('language and string table choice', () => {
  const german: VersionInfoSpec = {
    fileVersion: [1, 0, 0, 0],
    stringTables: [{ key: '040704b0', strings: { ProductVersion: '1.0.0' } }],
    translations: [[0x0407, 1200]],
  };
  const neutral: VersionInfoSpec = {
    fileVersion: [2, 0, 0, 0],
    stringTables: [{ key: '000004b0', strings: { ProductVersion: '2.0.0' } }],
    translations: [[0, 1200]],
  };
  const french: VersionInfoSpec = {
    fileVersion: [3, 0, 0, 0],
    stringTables: [{ key: '040c04b0', strings: { ProductVersion: '3.0.0' } }],
    translations: [[0x040c, 1200]],
  };
  const english = electronAppVersionSpec('18.12.416');

  it('prefers the US English resource whatever its position', async () => {
    for (const languages of [
      [{ id: 0x0407, info: german }, { id: 0x0409, info: english }],
      [{ id: 0x0409, info: english }, { id: 0x0407, info: german }],
    ]) {
      expect((await read({ languages })).fixedFileVersion).toBe('18.12.416.0');
    }
  });

  it('then the neutral resource, then the lowest language ID', async () => {
    expect((await read({ languages: [{ id: 0x0407, info: german }, { id: 0, info: neutral }] })).fixedFileVersion).toBe('2.0.0.0');
    expect((await read({ languages: [{ id: 0x040c, info: french }, { id: 0x0407, info: german }] })).fixedFileVersion).toBe('1.0.0.0');
  });

  it('takes the strings of the 040904b0 table when a resource holds several, and lists every language', async () => {
    const info = await read(
      one({
        fileVersion: [18, 12, 416, 0],
        stringTables: [
          { key: '040704b0', strings: { ProductVersion: 'de' } },
          { key: '040904b0', strings: { ProductVersion: 'en' } },
        ],
        translations: [
          [0x0407, 1200],
          [0x0409, 1200],
        ],
      }),
    );
    expect(info.stringTable).toBe('040904b0');
    expect(info.strings).toEqual({ ProductVersion: 'en' });
    expect(info.languages).toEqual(['040704b0', '040904b0']);
  });

  it('falls back to the table the first Translation names, then to the first table', async () => {
    const tables = [
      { key: '040704b0', strings: { ProductVersion: 'de' } },
      { key: '040c04e4', strings: { ProductVersion: 'fr' } },
    ];
    expect((await read(one({ stringTables: tables, translations: [[0x040c, 1252]] }))).strings.ProductVersion).toBe('fr');
    expect((await read(one({ stringTables: tables, translations: null }))).strings.ProductVersion).toBe('de');
  });

  it('lists translations from VarFileInfo as 8 lowercase hex digits, then table keys not among them', async () => {
    const info = await read(
      one({
        stringTables: [{ key: '040904B0', strings: { A: 'b' } }],
        translations: [
          [0x0409, 1200],
          [0x0407, 1252],
        ],
      }),
    );
    expect(info.languages).toEqual(['040904b0', '040704e4']);
    expect(info.stringTable).toBe('040904B0');
  });
});

describe('edge cases the format allows', () => {
  it('reads a resource without StringFileInfo from its fixed info', async () => {
    const info = await read(one({ fileVersion: [18, 12, 416, 0], stringTables: null }));
    expect(info.strings).toEqual({});
    expect(info.stringTable).toBeUndefined();
    expect(info.languages).toEqual(['040904b0']);
    expect(normaliseAppVersion(info)).toBe('18.12.416');
  });

  it('reads a resource without fixed info from its strings', async () => {
    const info = await read(one({ ...electronAppVersionSpec('18.12.425'), fileVersion: null }));
    expect(info.fixedFileVersion).toBeUndefined();
    expect(info.fixedProductVersion).toBeUndefined();
    expect(normaliseAppVersion(info)).toBe('18.12.425');
  });

  it('reads a resource with neither VarFileInfo nor StringFileInfo', async () => {
    const info = await read(one({ fileVersion: [1, 2, 3, 4], stringTables: null, translations: null }));
    expect(info).toEqual({ fixedFileVersion: '1.2.3.4', fixedProductVersion: '1.2.3.4', strings: {}, languages: [] });
  });

  it('keeps keys and values of every length through the 32-bit padding', async () => {
    const strings: Record<string, string> = {};
    for (let n = 0; n <= 9; n++) strings[`K${'x'.repeat(n)}`] = 'v'.repeat(n);
    strings.Unicode = 'Copyright © 2023 – 日本語 😀';
    const info = await read(one({ fileVersion: [1, 0, 0, 0], stringTables: [{ key: '040904b0', strings }] }));
    expect(info.strings).toEqual(strings);
  });

  it('reads VarFileInfo placed before StringFileInfo', async () => {
    const info = await read(one({ ...electronAppVersionSpec('18.12.416'), varFileInfoFirst: true }));
    expect(info.languages).toEqual(['040904b0']);
    expect(info.strings.ProductVersion).toBe('18.12.416.0');
  });

  it('keeps a string named "__proto__" as a plain own property', async () => {
    const info = await read(one({ fileVersion: [1, 0, 0, 0], stringTables: [{ key: '040904b0', strings: { ['__proto__']: 'x', ProductVersion: '1.0' } }] }));
    expect(Object.getOwnPropertyNames(info.strings).sort()).toEqual(['ProductVersion', '__proto__']);
    expect(Object.getPrototypeOf(info.strings)).toBe(Object.prototype);
  });
});

describe('parseVersionInfo leniency toward real-world writers', () => {
  function offsetOfKey(buf: Buffer, key: string): number {
    const at = buf.indexOf(Buffer.from(`${key}\0`, 'utf16le'));
    if (at < 6) throw new Error(`key ${key} not found`);
    return at - 6; // the structure starts 6 bytes before its key
  }

  it('reads a String whose wValueLength counts bytes instead of WCHARs', () => {
    const buf = makeVersionInfo(electronAppVersionSpec('18.12.416'));
    const at = offsetOfKey(buf, 'ProductVersion');
    expect(buf.readUInt16LE(at + 2)).toBe('18.12.416.0'.length + 1);
    buf.writeUInt16LE(('18.12.416.0'.length + 1) * 2, at + 2);
    expect(parseVersionInfo(buf, 0).strings.ProductVersion).toBe('18.12.416.0');
  });

  it('reads a String with wValueLength 0 as empty', () => {
    const buf = makeVersionInfo(electronAppVersionSpec('18.12.416'));
    buf.writeUInt16LE(0, offsetOfKey(buf, 'CompanyName') + 2);
    expect(parseVersionInfo(buf, 0).strings.CompanyName).toBe('');
  });

  it('stops at zero padding left at the end of the root structure', () => {
    const base = makeVersionInfo(electronAppVersionSpec('18.12.416'));
    const padded = Buffer.concat([base, Buffer.alloc(4 - (base.length % 4 || 4)), Buffer.alloc(16)]);
    padded.writeUInt16LE(padded.length, 0);
    const info = parseVersionInfo(padded, 0);
    expect(info.strings.FileVersion).toBe('18.12.416');
    expect(info.languages).toEqual(['040904b0']);
  });

  it('skips children with keys the format does not define', () => {
    const info = parseVersionInfo(makeVersionInfo({ ...electronAppVersionSpec('18.12.416'), unknownChildKeys: ['ExtraFileInfo', 'X'] }), 0);
    expect(info.strings.ProductVersion).toBe('18.12.416.0');
    expect(info.languages).toEqual(['040904b0']);
  });
});

describe('normaliseAppVersion', () => {
  const info = (fixedProduct?: string, fixedFile?: string, strings: Record<string, string> = {}): PeVersionInfo => ({
    ...(fixedProduct ? { fixedProductVersion: fixedProduct } : {}),
    ...(fixedFile ? { fixedFileVersion: fixedFile } : {}),
    strings,
    languages: [],
  });

  it('drops a zero fourth part of the fixed version', () => {
    expect(normaliseAppVersion(info('18.12.416.0', '18.12.416.0', { ProductVersion: '18.12.416.0', FileVersion: '18.12.416' }))).toBe('18.12.416');
  });

  it('drops a build-number fourth part when a string gives the same three parts', () => {
    expect(normaliseAppVersion(info('18.12.416.7730', '18.12.416.7730', { FileVersion: '18.12.416', ProductVersion: '18.12.416.7730' }))).toBe('18.12.416');
  });

  it('keeps a significant fourth part', () => {
    expect(normaliseAppVersion(info('120.0.6099.109', '120.0.6099.109', { ProductVersion: '120.0.6099.109' }))).toBe('120.0.6099.109');
  });

  it('prefers the fixed product version to the fixed file version, and the fixed info to the strings', () => {
    expect(normaliseAppVersion(info('18.12.425.0', '18.12.416.0', { ProductVersion: '18.12.407' }))).toBe('18.12.425');
    expect(normaliseAppVersion(info(undefined, '18.12.416.0', { ProductVersion: '18.12.407' }))).toBe('18.12.416');
  });

  it('treats an all-zero fixed version as absent', () => {
    expect(normaliseAppVersion(info('0.0.0.0', '0.0.0.0', { ProductVersion: '18.12.416' }))).toBe('18.12.416');
  });

  it('falls back to ProductVersion, then FileVersion, reading their leading dotted number', () => {
    expect(normaliseAppVersion(info(undefined, undefined, { ProductVersion: '18.12.416.0', FileVersion: '1.0' }))).toBe('18.12.416');
    expect(normaliseAppVersion(info(undefined, undefined, { ProductVersion: 'v18.12.425 (release)' }))).toBe('18.12.425');
    expect(normaliseAppVersion(info(undefined, undefined, { ProductVersion: '18, 12, 416, 0' }))).toBe('18.12.416');
    expect(normaliseAppVersion(info(undefined, undefined, { ProductVersion: 'n/a', FileVersion: '18.12.407' }))).toBe('18.12.407');
    expect(normaliseAppVersion(info(undefined, undefined, { ProductVersion: '1.0' }))).toBe('1.0');
  });

  it('returns undefined when nothing says a version', () => {
    expect(normaliseAppVersion(info())).toBeUndefined();
    expect(normaliseAppVersion(info(undefined, undefined, { ProductVersion: 'unknown', ProductName: '3CX Desktop App' }))).toBeUndefined();
  });
});
