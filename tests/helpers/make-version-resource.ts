/**
 * Writes the bytes of a .rsrc section holding a VERSIONINFO resource, for
 * `makePe({ resources: (rva) => makeVersionResource(rva, {...}) })`.
 *
 * Layout, following Microsoft's "PE Format" (.rsrc section) and "Version Information"
 * (VS_VERSIONINFO and its children) documentation:
 *
 *   root IMAGE_RESOURCE_DIRECTORY (types) -> one name directory per type -> one language
 *   directory per name -> IMAGE_RESOURCE_DATA_ENTRY per language -> the data, 8-aligned.
 *
 * Tree offsets are relative to the section start; a data entry's OffsetToData is an RVA,
 * which is why the section's RVA is an argument. Each VS_VERSIONINFO structure is WORD
 * wLength, WORD wValueLength, WORD wType, a NUL-terminated UTF-16LE key, zero padding to a
 * 32-bit boundary, the value, padding to a 32-bit boundary, then children, each on a 32-bit
 * boundary. wLength excludes the padding after the structure's last byte. String values
 * count wValueLength in WCHARs including the NUL, as rc.exe does.
 *
 * `makeVersionResourceLayout` also returns where each structure was put, so tests can cut
 * or corrupt the file at an exact structure.
 */

export type VersionQuad = readonly [number, number, number, number];

export interface VersionInfoSpec {
  /** VS_FIXEDFILEINFO file version; null leaves out the fixed info (wValueLength 0). */
  fileVersion?: VersionQuad | null;
  /** VS_FIXEDFILEINFO product version; defaults to fileVersion. */
  productVersion?: VersionQuad;
  /** Overrides the 0xFEEF04BD signature, to test a damaged fixed info. */
  fixedSignature?: number;
  /** StringTables in order; null or [] leaves out StringFileInfo. */
  stringTables?: { key: string; strings: Record<string, string> }[] | null;
  /** VarFileInfo Translation pairs [language, code page]; null leaves out VarFileInfo. */
  translations?: (readonly [number, number])[] | null;
  /** VarFileInfo before StringFileInfo (the order is not fixed by the format). */
  varFileInfoFirst?: boolean;
  /** Root key; "VS_VERSION_INFO" unless a test wants another. */
  rootKey?: string;
  /** Extra root children with keys the format does not define, each holding one String. */
  unknownChildKeys?: string[];
}

export interface VersionResourceOptions {
  /** The version resource per language ID; default: one US English (0x0409) resource. */
  languages?: { id: number; info?: VersionInfoSpec; codePage?: number }[];
  /** The resource's name: an ID (usually 1) or a name string. */
  name?: number | string;
  /** Other resource types (e.g. 3 RT_ICON, 24 RT_MANIFEST) put in the tree with dummy data. */
  otherTypes?: number[];
  /** Leave RT_VERSION out of the tree entirely. */
  omitVersion?: boolean;
}

export interface VersionResourceLayout {
  data: Buffer;
  /** Offsets from the section start. */
  rootDirectory: number;
  versionNameDirectory: number;
  versionLanguageDirectory: number;
  /** Data entry and VS_VERSIONINFO offset per language ID, in the order given. */
  versionDataEntries: { language: number; dataEntry: number; versionInfo: number; size: number }[];
}

/** What 3CX DesktopApp 18.12.416 (electron-builder, rcedit) would carry; strings per rcedit. */
export function electronAppVersionSpec(version: string, build = 0): VersionInfoSpec {
  const [a, b, c] = version.split('.').map(Number) as [number, number, number];
  return {
    fileVersion: [a, b, c, build],
    productVersion: [a, b, c, build],
    stringTables: [
      {
        key: '040904b0',
        strings: {
          CompanyName: '3CX Ltd',
          FileDescription: '3CX Desktop App',
          FileVersion: version,
          InternalName: '3CXDesktopApp',
          LegalCopyright: 'Copyright © 2023 3CX Ltd',
          OriginalFilename: '',
          ProductName: '3CX Desktop App',
          ProductVersion: `${version}.${build}`,
        },
      },
    ],
    translations: [[0x0409, 1200]],
  };
}

const align = (n: number, a: number) => Math.ceil(n / a) * a;

function utf16z(s: string): Buffer {
  return Buffer.from(`${s}\0`, 'utf16le');
}

/** One VS_VERSIONINFO-family structure. */
function versionBlock(key: string, value: Buffer, type: 0 | 1, valueLength: number, children: Buffer[]): Buffer {
  const parts: Buffer[] = [];
  let len = 6;
  const k = utf16z(key);
  len += k.length;
  const pad1 = align(len, 4) - len;
  len += pad1;
  len += value.length;
  const head = Buffer.alloc(6);
  const body: Buffer[] = [k, Buffer.alloc(pad1), value];
  if (children.length) {
    const pad2 = align(len, 4) - len;
    body.push(Buffer.alloc(pad2));
    len += pad2;
    children.forEach((c, i) => {
      body.push(c);
      len += c.length;
      if (i < children.length - 1) {
        const pad = align(len, 4) - len;
        body.push(Buffer.alloc(pad));
        len += pad;
      }
    });
  }
  head.writeUInt16LE(len, 0);
  head.writeUInt16LE(valueLength, 2);
  head.writeUInt16LE(type, 4);
  parts.push(head, ...body);
  return Buffer.concat(parts);
}

function fixedFileInfo(spec: VersionInfoSpec): Buffer {
  const f = Buffer.alloc(52);
  const file = spec.fileVersion!;
  const product = spec.productVersion ?? file;
  f.writeUInt32LE(spec.fixedSignature ?? 0xfeef04bd, 0);
  f.writeUInt32LE(0x00010000, 4); // dwStrucVersion 1.0
  f.writeUInt32LE(((file[0] << 16) | file[1]) >>> 0, 8);
  f.writeUInt32LE(((file[2] << 16) | file[3]) >>> 0, 12);
  f.writeUInt32LE(((product[0] << 16) | product[1]) >>> 0, 16);
  f.writeUInt32LE(((product[2] << 16) | product[3]) >>> 0, 20);
  f.writeUInt32LE(0x3f, 24); // dwFileFlagsMask VS_FFI_FILEFLAGSMASK
  f.writeUInt32LE(0, 28); // dwFileFlags
  f.writeUInt32LE(0x00040004, 32); // dwFileOS VOS_NT_WINDOWS32
  f.writeUInt32LE(1, 36); // dwFileType VFT_APP
  return f;
}

/** The VS_VERSIONINFO bytes alone. */
export function makeVersionInfo(spec: VersionInfoSpec): Buffer {
  const children: Buffer[] = [];
  const tables = spec.stringTables === undefined ? electronAppVersionSpec('18.12.416').stringTables : spec.stringTables;
  let sfi: Buffer | undefined;
  if (tables && tables.length) {
    sfi = versionBlock(
      'StringFileInfo',
      Buffer.alloc(0),
      1,
      0,
      tables.map((t) =>
        versionBlock(
          t.key,
          Buffer.alloc(0),
          1,
          0,
          Object.entries(t.strings).map(([k, v]) => versionBlock(k, utf16z(v), 1, v.length + 1, [])),
        ),
      ),
    );
  }
  const translations = spec.translations === undefined ? [[0x0409, 1200] as const] : spec.translations;
  let vfi: Buffer | undefined;
  if (translations) {
    const value = Buffer.alloc(translations.length * 4);
    translations.forEach(([lang, cp], i) => {
      value.writeUInt16LE(lang, i * 4);
      value.writeUInt16LE(cp, i * 4 + 2);
    });
    vfi = versionBlock('VarFileInfo', Buffer.alloc(0), 1, 0, [versionBlock('Translation', value, 0, value.length, [])]);
  }
  if (spec.varFileInfoFirst) {
    if (vfi) children.push(vfi);
    if (sfi) children.push(sfi);
  } else {
    if (sfi) children.push(sfi);
    if (vfi) children.push(vfi);
  }
  for (const key of spec.unknownChildKeys ?? []) {
    children.push(versionBlock(key, Buffer.alloc(0), 1, 0, [versionBlock('ProductVersion', utf16z('9.9.9'), 1, 6, [])]));
  }
  const fileVersion = spec.fileVersion === undefined ? ([18, 12, 416, 0] as const) : spec.fileVersion;
  const fixed = fileVersion === null ? Buffer.alloc(0) : fixedFileInfo({ ...spec, fileVersion });
  return versionBlock(spec.rootKey ?? 'VS_VERSION_INFO', fixed, 0, fixed.length, children);
}

interface Leaf {
  id: number;
  data: Buffer;
  codePage: number;
}

/** Builds the section and reports where everything went. */
export function makeVersionResourceLayout(sectionRva: number, opts: VersionResourceOptions = {}): VersionResourceLayout {
  const languages = opts.languages ?? [{ id: 0x0409 }];
  const types = new Map<number, { name: number | string; leaves: Leaf[] }>();
  for (const t of opts.otherTypes ?? []) {
    types.set(t, { name: 1, leaves: [{ id: 0x0409, data: Buffer.from(`dummy resource of type ${t}`, 'latin1'), codePage: 0 }] });
  }
  if (!opts.omitVersion) {
    types.set(16, {
      name: opts.name ?? 1,
      leaves: languages.map((l) => ({ id: l.id, data: makeVersionInfo(l.info ?? {}), codePage: l.codePage ?? 0 })),
    });
  }
  const typeIds = [...types.keys()].sort((a, b) => a - b);

  // Offsets: root table, then per type a name table and a language table, then name
  // strings, then data entries, then data.
  const dirSize = (n: number) => 16 + 8 * n;
  let off = dirSize(typeIds.length);
  const nameDirAt = new Map<number, number>();
  const langDirAt = new Map<number, number>();
  for (const t of typeIds) {
    nameDirAt.set(t, off);
    off += dirSize(1);
    langDirAt.set(t, off);
    off += dirSize(types.get(t)!.leaves.length);
  }
  const nameStringAt = new Map<number, number>();
  for (const t of typeIds) {
    const name = types.get(t)!.name;
    if (typeof name === 'string') {
      nameStringAt.set(t, off);
      off += align(2 + name.length * 2, 4);
    }
  }
  const dataEntryAt = new Map<string, number>();
  for (const t of typeIds) {
    for (const leaf of types.get(t)!.leaves) {
      dataEntryAt.set(`${t}/${leaf.id}`, off);
      off += 16;
    }
  }
  const dataAt = new Map<string, number>();
  for (const t of typeIds) {
    for (const leaf of types.get(t)!.leaves) {
      off = align(off, 8);
      dataAt.set(`${t}/${leaf.id}`, off);
      off += leaf.data.length;
    }
  }

  const out = Buffer.alloc(off);
  const writeDir = (at: number, entries: { name: number; target: number; isDir: boolean; named?: boolean }[]) => {
    out.writeUInt32LE(0, at); // Characteristics
    out.writeUInt32LE(0, at + 4); // TimeDateStamp
    out.writeUInt16LE(4, at + 8); // MajorVersion (as rc.exe writes)
    const named = entries.filter((e) => e.named).length;
    out.writeUInt16LE(named, at + 12);
    out.writeUInt16LE(entries.length - named, at + 14);
    entries.forEach((e, i) => {
      out.writeUInt32LE((e.named ? 0x80000000 | e.name : e.name) >>> 0, at + 16 + i * 8);
      out.writeUInt32LE((e.isDir ? 0x80000000 | e.target : e.target) >>> 0, at + 16 + i * 8 + 4);
    });
  };
  writeDir(
    0,
    typeIds.map((t) => ({ name: t, target: nameDirAt.get(t)!, isDir: true })),
  );
  for (const t of typeIds) {
    const { name, leaves } = types.get(t)!;
    if (typeof name === 'string') {
      const at = nameStringAt.get(t)!;
      out.writeUInt16LE(name.length, at);
      out.write(name, at + 2, 'utf16le');
      writeDir(nameDirAt.get(t)!, [{ name: at, named: true, target: langDirAt.get(t)!, isDir: true }]);
    } else {
      writeDir(nameDirAt.get(t)!, [{ name, target: langDirAt.get(t)!, isDir: true }]);
    }
    writeDir(
      langDirAt.get(t)!,
      leaves.map((l) => ({ name: l.id, target: dataEntryAt.get(`${t}/${l.id}`)!, isDir: false })),
    );
    for (const leaf of leaves) {
      const e = dataEntryAt.get(`${t}/${leaf.id}`)!;
      const d = dataAt.get(`${t}/${leaf.id}`)!;
      out.writeUInt32LE(sectionRva + d, e);
      out.writeUInt32LE(leaf.data.length, e + 4);
      out.writeUInt32LE(leaf.codePage, e + 8);
      leaf.data.copy(out, d);
    }
  }

  const versionLeaves = opts.omitVersion ? [] : types.get(16)!.leaves;
  return {
    data: out,
    rootDirectory: 0,
    versionNameDirectory: opts.omitVersion ? -1 : nameDirAt.get(16)!,
    versionLanguageDirectory: opts.omitVersion ? -1 : langDirAt.get(16)!,
    versionDataEntries: versionLeaves.map((l) => ({
      language: l.id,
      dataEntry: dataEntryAt.get(`16/${l.id}`)!,
      versionInfo: dataAt.get(`16/${l.id}`)!,
      size: l.data.length,
    })),
  };
}

export function makeVersionResource(sectionRva: number, opts: VersionResourceOptions = {}): Buffer {
  return makeVersionResourceLayout(sectionRva, opts).data;
}
