/**
 * Parses the bytes of a VS_VERSIONINFO resource (Microsoft Learn, "Version Information":
 * VS_VERSIONINFO, VS_FIXEDFILEINFO, StringFileInfo, StringTable, String, VarFileInfo, Var).
 *
 * Every structure there has the same header: WORD wLength (bytes, not counting the padding
 * after it), WORD wValueLength, WORD wType (1 = text, 0 = binary), a NUL-terminated UTF-16LE
 * szKey, zero padding to a 32-bit boundary, the Value, padding to a 32-bit boundary, then
 * child structures, each starting on a 32-bit boundary. Alignment is counted from the start
 * of the resource, which is itself 32-bit aligned in the file.
 *
 * For text values rc.exe writes wValueLength in WCHARs (including the NUL), while some other
 * writers put a byte count there; text is therefore read from the value's start up to its
 * first NUL, never past the end of its block. Pure: bytes in, a value or a VersionInfoError.
 */
import { VersionInfoError } from './version-info-error.js';

export const VS_FIXEDFILEINFO_SIGNATURE = 0xfeef04bd;
export const VS_FIXEDFILEINFO_SIZE = 52;
const HEADER_SIZE = 6;

export interface PeVersionInfo {
  /** VS_FIXEDFILEINFO dwFileVersionMS/LS as "a.b.c.d"; absent when there is no fixed info. */
  fixedFileVersion?: string;
  /** VS_FIXEDFILEINFO dwProductVersionMS/LS as "a.b.c.d". */
  fixedProductVersion?: string;
  /**
   * The strings of one StringTable (ProductVersion, FileVersion, ProductName, CompanyName,
   * FileDescription, OriginalFilename, LegalCopyright...): the US English one when there is
   * one, see `stringTable` for which. Empty when the resource has no StringFileInfo.
   */
  strings: Record<string, string>;
  /** The StringTable key `strings` came from, e.g. "040904b0". */
  stringTable?: string;
  /**
   * Language and code page pairs as 8 lowercase hex digits ("040904b0"): VarFileInfo's
   * Translation entries first, then any StringTable key not among them.
   */
  languages: string[];
}

interface Block {
  start: number;
  end: number;
  valueLength: number;
  type: number;
  key: string;
  valueStart: number;
  /** Start of the first child, 32-bit aligned after the value. */
  childrenStart: number;
}

const align4 = (n: number) => (n + 3) & ~3;

class BlockReader {
  constructor(
    private readonly buf: Buffer,
    /** File offset of buf[0], for error messages. */
    private readonly base: number,
  ) {}

  fail(detail: string, at: number): never {
    throw new VersionInfoError('malformed', detail, this.base + at);
  }

  /** Reads the structure at `start`, which must end by `limit` (its parent's end). */
  block(start: number, limit: number, what: string): Block {
    const { buf } = this;
    if (start + HEADER_SIZE > limit) this.fail(`${what}: its header runs past the end of the enclosing structure`, start);
    const length = buf.readUInt16LE(start);
    const valueLength = buf.readUInt16LE(start + 2);
    const type = buf.readUInt16LE(start + 4);
    if (length < HEADER_SIZE) this.fail(`${what}: wLength ${length} is shorter than its own header`, start);
    const end = start + length;
    if (end > limit) this.fail(`${what}: wLength ${length} runs ${end - limit} bytes past the end of the enclosing structure`, start);
    let keyEnd = -1;
    for (let p = start + HEADER_SIZE; p + 1 < end; p += 2) {
      if (buf.readUInt16LE(p) === 0) {
        keyEnd = p;
        break;
      }
    }
    if (keyEnd < 0) this.fail(`${what}: szKey has no NUL terminator within wLength`, start + HEADER_SIZE);
    const key = buf.toString('utf16le', start + HEADER_SIZE, keyEnd);
    const valueStart = Math.min(align4(keyEnd + 2), end);
    let valueBytes: number;
    if (valueLength === 0) valueBytes = 0;
    else if (type === 1) valueBytes = Math.min(valueLength * 2, end - valueStart);
    else {
      valueBytes = valueLength;
      if (valueStart + valueBytes > end) this.fail(`${what} "${key}": wValueLength ${valueLength} runs past wLength ${length}`, start + 2);
    }
    return { start, end, valueLength, type, key, valueStart, childrenStart: align4(valueStart + valueBytes) };
  }

  /**
   * The children of a block. A zero wLength where a child would start is the zero padding
   * some writers leave at the end of a block, and ends the list.
   */
  children(parent: Block, what: string): Block[] {
    const out: Block[] = [];
    let p = parent.childrenStart;
    while (p + HEADER_SIZE <= parent.end) {
      if (this.buf.readUInt16LE(p) === 0) break;
      const child = this.block(p, parent.end, `${what} child at +${p}`);
      out.push(child);
      p = align4(child.end); // wLength >= 6, so p always advances
    }
    return out;
  }

  /** A text value: UTF-16LE from the value's start to its first NUL or the end of the block. */
  text(b: Block): string {
    if (b.valueLength === 0) return '';
    let p = b.valueStart;
    while (p + 1 < b.end && this.buf.readUInt16LE(p) !== 0) p += 2;
    return this.buf.toString('utf16le', b.valueStart, p);
  }

  u32(at: number): number {
    return this.buf.readUInt32LE(at);
  }
}

function dotted(ms: number, ls: number): string {
  return `${ms >>> 16}.${ms & 0xffff}.${ls >>> 16}.${ls & 0xffff}`;
}

const hex4 = (n: number) => n.toString(16).padStart(4, '0');

/** Prefers US English tables, then the first Translation, then neutral, then file order. */
function pickStringTable(tables: string[], translations: string[]): string | undefined {
  const lower = tables.map((t) => t.toLowerCase());
  const tests: ((t: string) => boolean)[] = [
    (t) => t === '040904b0',
    (t) => t.startsWith('0409'),
    (t) => translations.length > 0 && t === translations[0],
    (t) => t.startsWith('0000'),
  ];
  for (const test of tests) {
    const i = lower.findIndex(test);
    if (i >= 0) return tables[i];
  }
  return tables[0];
}

/** `buf` holds the resource (at least its root wLength bytes); `fileOffset` is where it starts. */
export function parseVersionInfo(buf: Buffer, fileOffset: number): PeVersionInfo {
  const r = new BlockReader(buf, fileOffset);
  const root = r.block(0, buf.length, 'VS_VERSIONINFO');
  if (root.key !== 'VS_VERSION_INFO') r.fail(`root key is "${root.key.slice(0, 40)}", not "VS_VERSION_INFO"`, HEADER_SIZE);
  const info: PeVersionInfo = { strings: {}, languages: [] };

  if (root.valueLength !== 0) {
    if (root.valueLength < VS_FIXEDFILEINFO_SIZE) {
      r.fail(`VS_FIXEDFILEINFO is ${root.valueLength} bytes, shorter than the ${VS_FIXEDFILEINFO_SIZE} required`, 2);
    }
    const f = root.valueStart;
    const signature = r.u32(f);
    if (signature !== VS_FIXEDFILEINFO_SIGNATURE) {
      r.fail(`VS_FIXEDFILEINFO signature is 0x${signature.toString(16)}, not 0xfeef04bd`, f);
    }
    info.fixedFileVersion = dotted(r.u32(f + 8), r.u32(f + 12));
    info.fixedProductVersion = dotted(r.u32(f + 16), r.u32(f + 20));
  }

  const tables = new Map<string, Map<string, string>>();
  const translations: string[] = [];
  for (const child of r.children(root, 'VS_VERSIONINFO')) {
    if (child.key === 'StringFileInfo') {
      for (const table of r.children(child, 'StringFileInfo')) {
        const strings = tables.get(table.key) ?? new Map<string, string>();
        tables.set(table.key, strings);
        for (const s of r.children(table, `StringTable "${table.key}"`)) {
          if (!strings.has(s.key)) strings.set(s.key, r.text(s));
        }
      }
    } else if (child.key === 'VarFileInfo') {
      for (const v of r.children(child, 'VarFileInfo')) {
        if (v.key !== 'Translation') continue;
        // wValueLength counts bytes here (rc.exe writes wType 0); never read past the block.
        const valueEnd = Math.min(v.valueStart + v.valueLength, v.end);
        for (let p = v.valueStart; p + 4 <= valueEnd; p += 4) {
          const pair = hex4(buf.readUInt16LE(p)) + hex4(buf.readUInt16LE(p + 2));
          if (!translations.includes(pair)) translations.push(pair);
        }
      }
    }
    // Other keys are not defined by the format; they are skipped, not an error.
  }

  info.languages = [...translations];
  for (const key of tables.keys()) {
    const k = key.toLowerCase();
    if (!info.languages.includes(k)) info.languages.push(k);
  }
  const chosen = pickStringTable([...tables.keys()], translations);
  if (chosen !== undefined) {
    info.stringTable = chosen;
    // fromEntries defines own properties, so a string named "__proto__" stays a string.
    info.strings = Object.fromEntries(tables.get(chosen)!);
  }
  return info;
}
