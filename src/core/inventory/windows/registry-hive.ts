/**
 * A reader for Windows registry hive files (the "regf" format: SOFTWARE, NTUSER.DAT) as
 * they lie on an offline disk image, so `vigil check --root DIR` reads the uninstall
 * entries of a mounted Windows volume the way `reg query` reads a live one.
 *
 * Built from the format as documented by Maxim Suhanov's "Windows registry file format
 * specification" (github.com/msuhanov/regf) and checked against hivex (libguestfs' hive
 * library: the tests build hives with `hivexsh` and compare with `hivexget`):
 *
 * - base block (4096 bytes): "regf", primary/secondary sequence numbers (unequal: the hive
 *   was not cleanly written and its .LOG1/.LOG2 hold changes this reader does not apply),
 *   major version 1, root cell offset at 36, hive-bins size at 40, XOR checksum at 508;
 * - cells from offset 4096: a signed 32-bit size (negative = allocated), then the record;
 * - nk (key), vk (value), subkey lists lf / lh / li and ri (a list of lists), value lists,
 *   and db (big data: values over 16,344 bytes, in segments).
 *
 * Read-only, random access through small page reads (a SOFTWARE hive can be 100 MB and
 * only the path to one key and its subkeys is needed), bounded at every step: offsets must
 * fall inside the hive bins, counts and sizes are capped, ri lists nest one level. Every
 * inconsistency is a HiveError naming the cell offset; nothing else is thrown.
 */
import type { RandomAccessFile } from '../../os/target-fs.js';

export class HiveError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'HiveError';
  }
}

export interface HiveKey {
  name: string;
  /** The nk cell's offset (relative to the first hive bin), for error messages. */
  offset: number;
  subkeyCount: number;
  subkeyListOffset: number;
  valueCount: number;
  valueListOffset: number;
}

export interface HiveValue {
  /** '' for the key's default value. */
  name: string;
  /** The numeric type: 1 REG_SZ, 2 REG_EXPAND_SZ, 3 REG_BINARY, 4 REG_DWORD, 7 REG_MULTI_SZ, 11 REG_QWORD... */
  type: number;
  data: Buffer;
}

const BASE_BLOCK = 4096;
const PAGE = 4096;
const MAX_CACHED_PAGES = 2048;
const NO_CELL = 0xffffffff;
/** A key with more is not a real hive's (Windows' own largest keys hold tens of thousands). */
const MAX_SUBKEYS = 500_000;
const MAX_VALUES = 100_000;
/** Values larger than this are not read (uninstall entries are short strings). */
export const MAX_VALUE_BYTES = 1024 * 1024;
const BIG_DATA_SEGMENT = 16_344;
const KEY_COMP_NAME = 0x0020;
const VALUE_COMP_NAME = 0x0001;

export const REG_TYPE_NAMES: Record<number, string> = {
  0: 'REG_NONE',
  1: 'REG_SZ',
  2: 'REG_EXPAND_SZ',
  3: 'REG_BINARY',
  4: 'REG_DWORD',
  5: 'REG_DWORD_BIG_ENDIAN',
  6: 'REG_LINK',
  7: 'REG_MULTI_SZ',
  8: 'REG_RESOURCE_LIST',
  9: 'REG_FULL_RESOURCE_DESCRIPTOR',
  10: 'REG_RESOURCE_REQUIREMENTS_LIST',
  11: 'REG_QWORD',
};

export class RegistryHive {
  private readonly pages = new Map<number, Buffer>();

  private constructor(
    private readonly file: RandomAccessFile,
    /** Shown in errors, e.g. "Windows/System32/config/SOFTWARE". */
    readonly label: string,
    private readonly binsSize: number,
    private readonly rootOffset: number,
    /** The sequence numbers differ: changes may still sit in the hive's transaction logs. */
    readonly dirty: boolean,
    readonly minorVersion: number,
  ) {}

  /** Checks the base block; throws HiveError when the file is not a usable hive. */
  static async open(file: RandomAccessFile, label: string): Promise<RegistryHive> {
    if (file.size < BASE_BLOCK + PAGE) throw new HiveError(`${label}: too small for a registry hive (${file.size} byte${file.size === 1 ? '' : 's'})`);
    const base = await file.read(0, BASE_BLOCK);
    if (base.length < BASE_BLOCK || base.toString('latin1', 0, 4) !== 'regf') throw new HiveError(`${label}: not a registry hive (no "regf" signature)`);
    let xor = 0;
    for (let i = 0; i < 508; i += 4) xor = (xor ^ base.readUInt32LE(i)) >>> 0;
    // Windows writes 1 when the XOR is 0 and 0xFFFFFFFE when it is 0xFFFFFFFF.
    const expected = xor === 0 ? 1 : xor === 0xffffffff ? 0xfffffffe : xor;
    if (base.readUInt32LE(508) !== expected) throw new HiveError(`${label}: the base block checksum does not match (a damaged or partly written hive)`);
    const major = base.readUInt32LE(20);
    const minor = base.readUInt32LE(24);
    if (major !== 1 || minor < 2 || minor > 6) throw new HiveError(`${label}: unsupported hive format version ${major}.${minor}`);
    if (base.readUInt32LE(28) !== 0) throw new HiveError(`${label}: a transaction log, not a primary hive file`);
    const binsSize = base.readUInt32LE(40);
    const rootOffset = base.readUInt32LE(36);
    if (binsSize === 0 || binsSize % PAGE !== 0 || BASE_BLOCK + binsSize > file.size) {
      throw new HiveError(`${label}: hive bins size ${binsSize} does not fit the file (${file.size} bytes)`);
    }
    const hive = new RegistryHive(file, label, binsSize, rootOffset, base.readUInt32LE(4) !== base.readUInt32LE(8), minor);
    await hive.root();
    return hive;
  }

  root(): Promise<HiveKey> {
    return this.keyAt(this.rootOffset);
  }

  /** The key at `path` below `from` (case-insensitive, as Windows compares), or undefined. */
  async openPath(path: readonly string[], from?: HiveKey): Promise<HiveKey | undefined> {
    let key: HiveKey | undefined = from ?? (await this.root());
    for (const part of path) {
      if (!key) return undefined;
      key = await this.child(key, part);
    }
    return key;
  }

  async child(key: HiveKey, name: string): Promise<HiveKey | undefined> {
    const wanted = name.toUpperCase();
    for (const sub of await this.subkeys(key)) if (sub.name.toUpperCase() === wanted) return sub;
    return undefined;
  }

  async subkeys(key: HiveKey): Promise<HiveKey[]> {
    if (key.subkeyCount === 0) return [];
    if (key.subkeyCount > MAX_SUBKEYS) throw new HiveError(`${this.label}: key "${key.name}" claims ${key.subkeyCount} subkeys`);
    const offsets: number[] = [];
    await this.collectSubkeyOffsets(key.subkeyListOffset, offsets, 0);
    if (offsets.length !== key.subkeyCount) {
      throw new HiveError(`${this.label}: key "${key.name}" lists ${offsets.length} subkeys where it claims ${key.subkeyCount} (cell ${hex(key.subkeyListOffset)})`);
    }
    const out: HiveKey[] = [];
    for (const off of offsets) out.push(await this.keyAt(off));
    return out;
  }

  async values(key: HiveKey): Promise<HiveValue[]> {
    if (key.valueCount === 0) return [];
    if (key.valueCount > MAX_VALUES) throw new HiveError(`${this.label}: key "${key.name}" claims ${key.valueCount} values`);
    const list = await this.cell(key.valueListOffset, 'value list');
    if (list.length < key.valueCount * 4) throw new HiveError(`${this.label}: the value list of "${key.name}" is shorter than its ${key.valueCount} entries (cell ${hex(key.valueListOffset)})`);
    const out: HiveValue[] = [];
    for (let i = 0; i < key.valueCount; i++) out.push(await this.valueAt(list.readUInt32LE(i * 4)));
    return out;
  }

  // ---- cells ----------------------------------------------------------------------------

  private async collectSubkeyOffsets(listOffset: number, out: number[], depth: number): Promise<void> {
    const list = await this.cell(listOffset, 'subkey list');
    if (list.length < 4) throw new HiveError(`${this.label}: subkey list cell ${hex(listOffset)} is too short`);
    const sig = list.toString('latin1', 0, 2);
    const count = list.readUInt16LE(2);
    const stride = sig === 'lf' || sig === 'lh' ? 8 : sig === 'li' || sig === 'ri' ? 4 : 0;
    if (stride === 0) throw new HiveError(`${this.label}: cell ${hex(listOffset)} is not a subkey list (signature "${printable(sig)}")`);
    if (list.length < 4 + count * stride) throw new HiveError(`${this.label}: subkey list cell ${hex(listOffset)} holds fewer than its ${count} entries`);
    for (let i = 0; i < count; i++) {
      const off = list.readUInt32LE(4 + i * stride);
      if (sig === 'ri') {
        // An index root points to leaves, never to another index root.
        if (depth > 0) throw new HiveError(`${this.label}: nested index root at cell ${hex(listOffset)}`);
        await this.collectSubkeyOffsets(off, out, depth + 1);
      } else out.push(off);
      if (out.length > MAX_SUBKEYS) throw new HiveError(`${this.label}: subkey list at cell ${hex(listOffset)} is too long`);
    }
  }

  private async keyAt(offset: number): Promise<HiveKey> {
    const c = await this.cell(offset, 'key');
    if (c.length < 76 || c.toString('latin1', 0, 2) !== 'nk') throw new HiveError(`${this.label}: cell ${hex(offset)} is not a key (nk) record`);
    const flags = c.readUInt16LE(2);
    const nameLength = c.readUInt16LE(72);
    if (76 + nameLength > c.length) throw new HiveError(`${this.label}: the name of key cell ${hex(offset)} runs past the cell`);
    const raw = c.subarray(76, 76 + nameLength);
    return {
      name: flags & KEY_COMP_NAME ? raw.toString('latin1') : raw.toString('utf16le'),
      offset,
      subkeyCount: c.readUInt32LE(20),
      subkeyListOffset: c.readUInt32LE(28),
      valueCount: c.readUInt32LE(36),
      valueListOffset: c.readUInt32LE(40),
    };
  }

  private async valueAt(offset: number): Promise<HiveValue> {
    const c = await this.cell(offset, 'value');
    if (c.length < 20 || c.toString('latin1', 0, 2) !== 'vk') throw new HiveError(`${this.label}: cell ${hex(offset)} is not a value (vk) record`);
    const nameLength = c.readUInt16LE(2);
    const sizeField = c.readUInt32LE(4);
    const dataOffset = c.readUInt32LE(8);
    const type = c.readUInt32LE(12);
    const flags = c.readUInt16LE(16);
    if (20 + nameLength > c.length) throw new HiveError(`${this.label}: the name of value cell ${hex(offset)} runs past the cell`);
    const raw = c.subarray(20, 20 + nameLength);
    const name = flags & VALUE_COMP_NAME ? raw.toString('latin1') : raw.toString('utf16le');
    const inline = (sizeField & 0x80000000) !== 0;
    const size = sizeField & 0x7fffffff;
    let data: Buffer;
    if (inline) {
      // Four bytes or fewer live in the offset field itself.
      if (size > 4) throw new HiveError(`${this.label}: value "${name}" (cell ${hex(offset)}) claims ${size} inline bytes`);
      const b = Buffer.alloc(4);
      b.writeUInt32LE(dataOffset);
      data = b.subarray(0, size);
    } else if (size === 0) {
      data = Buffer.alloc(0);
    } else if (size > MAX_VALUE_BYTES) {
      throw new HiveError(`${this.label}: value "${name}" (cell ${hex(offset)}) is ${size} bytes, over the ${MAX_VALUE_BYTES}-byte limit`);
    } else if (size > BIG_DATA_SEGMENT && this.minorVersion > 3) {
      data = await this.bigData(dataOffset, size, name);
    } else {
      const d = await this.cell(dataOffset, 'value data');
      if (d.length < size) throw new HiveError(`${this.label}: the data of value "${name}" (cell ${hex(dataOffset)}) is shorter than its ${size} bytes`);
      data = d.subarray(0, size);
    }
    return { name, type, data };
  }

  private async bigData(offset: number, size: number, name: string): Promise<Buffer> {
    const db = await this.cell(offset, 'big data');
    if (db.length < 8 || db.toString('latin1', 0, 2) !== 'db') throw new HiveError(`${this.label}: the data of value "${name}" is not a big-data (db) record (cell ${hex(offset)})`);
    const segments = db.readUInt16LE(2);
    const list = await this.cell(db.readUInt32LE(4), 'big data segment list');
    if (segments === 0 || list.length < segments * 4) throw new HiveError(`${this.label}: big-data segment list of value "${name}" is damaged (cell ${hex(offset)})`);
    const parts: Buffer[] = [];
    let have = 0;
    for (let i = 0; i < segments && have < size; i++) {
      const seg = await this.cell(list.readUInt32LE(i * 4), 'big data segment');
      const take = seg.subarray(0, Math.min(BIG_DATA_SEGMENT, size - have, seg.length));
      parts.push(take);
      have += take.length;
    }
    if (have < size) throw new HiveError(`${this.label}: the segments of value "${name}" hold ${have} of its ${size} bytes`);
    return Buffer.concat(parts, size);
  }

  /** The record of the allocated cell at `offset` (without its size field). */
  private async cell(offset: number, what: string): Promise<Buffer> {
    if (offset === NO_CELL || offset % 8 !== 0 || offset + 4 > this.binsSize || offset < 32) {
      throw new HiveError(`${this.label}: ${what} cell offset ${hex(offset)} is outside the hive bins`);
    }
    const size = (await this.bytes(BASE_BLOCK + offset, 4)).readInt32LE(0);
    if (size >= 0) throw new HiveError(`${this.label}: ${what} cell ${hex(offset)} is not allocated`);
    const length = -size;
    if (length < 8 || offset + length > this.binsSize) throw new HiveError(`${this.label}: ${what} cell ${hex(offset)} has an impossible size ${length}`);
    return this.bytes(BASE_BLOCK + offset + 4, length - 4);
  }

  private async bytes(position: number, length: number): Promise<Buffer> {
    const first = Math.floor(position / PAGE);
    const last = Math.floor((position + length - 1) / PAGE);
    const parts: Buffer[] = [];
    for (let p = first; p <= last; p++) parts.push(await this.page(p));
    const all = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
    const start = position - first * PAGE;
    if (start + length > all.length) throw new HiveError(`${this.label}: the file ends inside the hive bins (at ${first * PAGE + all.length})`);
    return all.subarray(start, start + length);
  }

  private async page(n: number): Promise<Buffer> {
    const hit = this.pages.get(n);
    if (hit) return hit;
    const buf = await this.file.read(n * PAGE, PAGE);
    if (this.pages.size >= MAX_CACHED_PAGES) this.pages.delete(this.pages.keys().next().value!);
    this.pages.set(n, buf);
    return buf;
  }
}

function hex(n: number): string {
  return `0x${n.toString(16)}`;
}

function printable(s: string): string {
  return s.replace(/[^\x20-\x7e]/g, '?');
}

/** The data of a string value (REG_SZ, REG_EXPAND_SZ): UTF-16LE up to the first NUL. */
export function hiveString(v: HiveValue): string | undefined {
  if (v.type !== 1 && v.type !== 2) return undefined;
  const text = v.data.subarray(0, v.data.length - (v.data.length % 2)).toString('utf16le');
  const nul = text.indexOf('\0');
  return nul >= 0 ? text.slice(0, nul) : text;
}
