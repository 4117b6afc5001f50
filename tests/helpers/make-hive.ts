/**
 * Registry hive files for tests, two ways:
 *
 * - `writeHive(spec)`: our own writer, for structures a test needs exactly (ri and li
 *   subkey lists, big-data values, UTF-16 names, damaged cells). Its output is checked
 *   against hivex (`hivexget`), an independent reader, in the tests.
 * - `hivexBuild(file, script)`: hivex's own writer (`hivexsh -w`) adding keys and values to
 *   `writeHive`'s empty hive: structures made by another implementation, as Windows-
 *   compatible as libguestfs needs them to be.
 *
 * Layout per "Windows registry file format specification" (msuhanov/regf): base block of
 * 4096 bytes, then one hive bin ("hbin") holding every cell.
 */
import { execFileSync } from 'node:child_process';

export interface ValueSpec {
  /** '' for the default value. */
  name: string;
  type: number;
  data: Buffer;
  /** Store the name as UTF-16LE (no VALUE_COMP_NAME flag). */
  utf16Name?: boolean;
}

export interface KeySpec {
  name: string;
  utf16Name?: boolean;
  values?: ValueSpec[];
  subkeys?: KeySpec[];
  /** How the subkey list is written: lf (default), lh, li, or ri over lists of `riChunk`. */
  list?: 'lf' | 'lh' | 'li' | 'ri';
  riChunk?: number;
}

export interface HiveOptions {
  /** Unequal sequence numbers: a hive not cleanly written. */
  dirty?: boolean;
  minorVersion?: number;
}

export const REG_SZ = 1;
export const REG_EXPAND_SZ = 2;
export const REG_BINARY = 3;
export const REG_DWORD = 4;
export const REG_MULTI_SZ = 7;
export const REG_QWORD = 11;

export function sz(text: string): Buffer {
  return Buffer.from(text + '\0', 'utf16le');
}

export function dword(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b;
}

class Cells {
  private readonly chunks: Buffer[] = [];
  private next = 0x20; // after the hbin header

  private readonly at = new Map<number, Buffer>();

  /** Appends an allocated cell holding `record`; returns its offset in the hive bins. */
  add(record: Buffer): number {
    const size = (4 + record.length + 7) & ~7;
    const cell = Buffer.alloc(size);
    cell.writeInt32LE(-size, 0);
    record.copy(cell, 4);
    const at = this.next;
    this.chunks.push(cell);
    this.at.set(at, cell);
    this.next += size;
    return at;
  }

  /** Writes `record` into the cell added at `offset` (a key's nk, once its parts exist). */
  fill(offset: number, record: Buffer): void {
    const cell = this.at.get(offset);
    if (!cell || cell.length < 4 + record.length) throw new Error(`no room for the record at ${offset}`);
    record.copy(cell, 4);
  }

  bin(): Buffer {
    const used = this.next;
    const total = Math.ceil((used + 8) / 4096) * 4096;
    const bin = Buffer.alloc(total);
    bin.write('hbin', 0, 'latin1');
    bin.writeUInt32LE(0, 4);
    bin.writeUInt32LE(total, 8);
    Buffer.concat(this.chunks).copy(bin, 0x20);
    // The rest is one free cell.
    if (total - used >= 8) bin.writeInt32LE(total - used, used);
    return bin;
  }
}

function nameBytes(name: string, utf16: boolean | undefined): Buffer {
  return utf16 ? Buffer.from(name, 'utf16le') : Buffer.from(name, 'latin1');
}

function writeValue(cells: Cells, v: ValueSpec, minor: number): number {
  const name = nameBytes(v.name, v.utf16Name);
  let sizeField = v.data.length;
  let dataOffset = 0;
  if (v.data.length <= 4) {
    sizeField = (v.data.length | 0x80000000) >>> 0;
    dataOffset = Buffer.concat([v.data, Buffer.alloc(4)]).readUInt32LE(0);
  } else if (v.data.length > 16_344 && minor > 3) {
    const segments: number[] = [];
    for (let p = 0; p < v.data.length; p += 16_344) segments.push(cells.add(v.data.subarray(p, p + 16_344)));
    const list = Buffer.alloc(segments.length * 4);
    segments.forEach((o, i) => list.writeUInt32LE(o, i * 4));
    const listOff = cells.add(list);
    const db = Buffer.alloc(8);
    db.write('db', 0, 'latin1');
    db.writeUInt16LE(segments.length, 2);
    db.writeUInt32LE(listOff, 4);
    dataOffset = cells.add(db);
  } else {
    dataOffset = cells.add(v.data);
  }
  const vk = Buffer.alloc(20 + name.length);
  vk.write('vk', 0, 'latin1');
  vk.writeUInt16LE(name.length, 2);
  vk.writeUInt32LE(sizeField, 4);
  vk.writeUInt32LE(dataOffset, 8);
  vk.writeUInt32LE(v.type, 12);
  vk.writeUInt16LE(v.utf16Name || v.name === '' ? 0 : 1, 16);
  name.copy(vk, 20);
  return cells.add(vk);
}

function leaf(cells: Cells, kind: 'lf' | 'lh' | 'li', entries: Array<{ offset: number; name: string }>): number {
  const stride = kind === 'li' ? 4 : 8;
  const b = Buffer.alloc(4 + entries.length * stride);
  b.write(kind, 0, 'latin1');
  b.writeUInt16LE(entries.length, 2);
  entries.forEach((e, i) => {
    b.writeUInt32LE(e.offset, 4 + i * stride);
    if (kind === 'lf') Buffer.from((e.name + '\0\0\0\0').slice(0, 4), 'latin1').copy(b, 8 + i * stride);
    if (kind === 'lh') {
      let h = 0;
      for (const ch of e.name.toUpperCase()) h = (Math.imul(h, 37) + ch.charCodeAt(0)) >>> 0;
      b.writeUInt32LE(h, 8 + i * stride);
    }
  });
  return cells.add(b);
}

function writeKey(cells: Cells, k: KeySpec, security: number, minor: number, parent: number | undefined): number {
  const root = parent === undefined;
  const name = nameBytes(k.name, k.utf16Name);
  // The key's own cell first, so its subkeys can name it as their parent.
  const self = cells.add(Buffer.alloc(76 + name.length));
  const kids = (k.subkeys ?? []).map((s) => ({ offset: writeKey(cells, s, security, minor, self), name: s.name }));
  // Windows keeps subkey lists sorted by upper-cased name.
  kids.sort((a, b) => (a.name.toUpperCase() < b.name.toUpperCase() ? -1 : 1));
  let listOff = 0xffffffff;
  if (kids.length) {
    const kind = k.list ?? 'lf';
    if (kind === 'ri') {
      const chunk = k.riChunk ?? 2;
      const leaves: number[] = [];
      for (let i = 0; i < kids.length; i += chunk) leaves.push(leaf(cells, 'li', kids.slice(i, i + chunk)));
      const ri = Buffer.alloc(4 + leaves.length * 4);
      ri.write('ri', 0, 'latin1');
      ri.writeUInt16LE(leaves.length, 2);
      leaves.forEach((o, i) => ri.writeUInt32LE(o, 4 + i * 4));
      listOff = cells.add(ri);
    } else listOff = leaf(cells, kind, kids);
  }
  const values = (k.values ?? []).map((v) => writeValue(cells, v, minor));
  let valueListOff = 0xffffffff;
  if (values.length) {
    const vl = Buffer.alloc(values.length * 4);
    values.forEach((o, i) => vl.writeUInt32LE(o, i * 4));
    valueListOff = cells.add(vl);
  }
  const nk = Buffer.alloc(76 + name.length);
  nk.write('nk', 0, 'latin1');
  nk.writeUInt16LE((root ? 0x0c : 0) | (k.utf16Name ? 0 : 0x20), 2);
  nk.writeUInt32LE(parent ?? 0xffffffff, 16);
  nk.writeUInt32LE(kids.length, 20);
  nk.writeUInt32LE(listOff, 28);
  nk.writeUInt32LE(0xffffffff, 32);
  nk.writeUInt32LE(values.length, 36);
  nk.writeUInt32LE(valueListOff, 40);
  nk.writeUInt32LE(security, 44);
  nk.writeUInt32LE(0xffffffff, 48);
  nk.writeUInt16LE(name.length, 72);
  name.copy(nk, 76);
  cells.fill(self, nk);
  return self;
}

export function writeHive(root: KeySpec, opts: HiveOptions = {}): Buffer {
  const minor = opts.minorVersion ?? 5;
  const cells = new Cells();
  // One security descriptor shared by every key: revision 1, self-relative, no DACL.
  const sd = Buffer.from([1, 0, 0x04, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
  const sk = Buffer.alloc(20 + sd.length);
  sk.write('sk', 0, 'latin1');
  sk.writeUInt32LE(0x20, 4); // flink and blink point to itself (the first cell)
  sk.writeUInt32LE(0x20, 8);
  sk.writeUInt32LE(1, 12);
  sk.writeUInt32LE(sd.length, 16);
  sd.copy(sk, 20);
  const security = cells.add(sk);
  const rootOff = writeKey(cells, root, security, minor, undefined);
  const bin = cells.bin();
  const base = Buffer.alloc(4096);
  base.write('regf', 0, 'latin1');
  base.writeUInt32LE(7, 4);
  base.writeUInt32LE(opts.dirty ? 6 : 7, 8);
  base.writeUInt32LE(1, 20);
  base.writeUInt32LE(minor, 24);
  base.writeUInt32LE(0, 28);
  base.writeUInt32LE(1, 32);
  base.writeUInt32LE(rootOff, 36);
  base.writeUInt32LE(bin.length, 40);
  base.writeUInt32LE(1, 44);
  fixChecksum(base);
  return Buffer.concat([base, bin]);
}

/** Recomputes the base block's checksum (after a test edits a header field). */
export function fixChecksum(base: Buffer): void {
  let x = 0;
  for (let i = 0; i < 508; i += 4) x = (x ^ base.readUInt32LE(i)) >>> 0;
  base.writeUInt32LE(x === 0 ? 1 : x === 0xffffffff ? 0xfffffffe : x, 508);
}

/** An empty hive whose root key is `rootName`, for hivexsh to fill. */
export function emptyHive(rootName = 'ROOT'): Buffer {
  return writeHive({ name: rootName });
}

/**
 * Runs hivexsh commands (`add NAME`, `cd PATH`, `setval N` + name/value lines, `del`...)
 * against `file` and commits. Throws with hivexsh's message when a command fails.
 */
export function hivexsh(file: string, commands: string[]): void {
  execFileSync('hivexsh', ['-w', file], { input: [...commands, 'commit', ''].join('\n'), stdio: ['pipe', 'pipe', 'pipe'] });
}

/** `hivexget FILE KEY`: every value of the key as hivex prints it (regedit .reg syntax). */
export function hivexget(file: string, key: string): string {
  return execFileSync('hivexget', [file, key], { encoding: 'utf8' });
}

/** hivexsh lines that create `path` below the root (each part added, then entered). */
export function hivexMkdirs(path: string[]): string[] {
  const out = ['cd \\'];
  for (const part of path) out.push(`add ${part}`, `cd ${part}`);
  return out;
}

/** hivexsh lines setting string values on the current key. */
export function hivexSetStrings(values: Record<string, string>): string[] {
  const entries = Object.entries(values);
  return [`setval ${entries.length}`, ...entries.flatMap(([k, v]) => [k, `string:${v}`])];
}
