/**
 * Writes small but valid PE images for tests, so that no Windows binary (and no malware)
 * is ever shipped or downloaded. The layout follows Microsoft's "PE Format" specification:
 * a DOS header, "PE\0\0", a COFF header, a PE32 or PE32+ optional header with 16 data
 * directories, and the section table; osslsigncode signs and verifies these images.
 */

export interface SectionSpec {
  name: string;
  data: Buffer;
  /** IMAGE_SCN_* flags; defaults to initialized, readable data. */
  characteristics?: number;
}

export interface MakePeOptions {
  /** PE32+ (x64) by default; false writes a PE32 (x86) image. */
  pe32plus?: boolean;
  sections?: SectionSpec[];
  /**
   * Builds the .rsrc section's bytes given the RVA it will be loaded at (resource data
   * entries hold RVAs). Added after the other sections and set as data directory 2.
   */
  resources?: (rva: number) => Buffer;
  timeDateStamp?: number;
  /** IMAGE_FILE_DLL is set when true. */
  dll?: boolean;
}

const FILE_ALIGN = 0x200;
const SECTION_ALIGN = 0x1000;
const align = (n: number, a: number) => Math.ceil(n / a) * a;

export const SCN_CODE = 0x00000020 | 0x20000000 | 0x40000000; // code, execute, read
export const SCN_DATA = 0x00000040 | 0x40000000; // initialized data, read

/** A small x64 function (push rbp; mov rbp, rsp; xor eax, eax; pop rbp; ret) for a .text section. */
export const TEXT_CODE = Buffer.from([0x55, 0x48, 0x89, 0xe5, 0x31, 0xc0, 0x5d, 0xc3]);

/** The usual two sections of a test PE: that code, and `rdata` as read-only data. */
export function codeAndData(rdata: Buffer): SectionSpec[] {
  return [
    { name: '.text', data: TEXT_CODE, characteristics: SCN_CODE },
    { name: '.rdata', data: rdata, characteristics: SCN_DATA },
  ];
}

export function makePe(opts: MakePeOptions = {}): Buffer {
  const is64 = opts.pe32plus ?? true;
  const specs: SectionSpec[] = [
    ...(opts.sections ?? [{ name: '.text', data: Buffer.from([0xc3, 0x90, 0x90, 0x90]), characteristics: SCN_CODE }]),
  ];
  const optSize = is64 ? 240 : 224;
  const peOffset = 0x80;
  const sectionCount = specs.length + (opts.resources ? 1 : 0);
  const headersEnd = peOffset + 4 + 20 + optSize + sectionCount * 40;
  const sizeOfHeaders = align(headersEnd, FILE_ALIGN);

  // Lay out sections: file offsets and RVAs.
  let fileOff = sizeOfHeaders;
  let rva = SECTION_ALIGN;
  const laid: { spec: SectionSpec; rva: number; fileOff: number; raw: Buffer }[] = [];
  for (const spec of specs) {
    const raw = Buffer.alloc(align(Math.max(spec.data.length, 1), FILE_ALIGN));
    spec.data.copy(raw);
    laid.push({ spec, rva, fileOff, raw });
    fileOff += raw.length;
    rva += align(Math.max(spec.data.length, 1), SECTION_ALIGN);
  }
  let resourceDir: { rva: number; size: number } | undefined;
  if (opts.resources) {
    const data = opts.resources(rva);
    const raw = Buffer.alloc(align(Math.max(data.length, 1), FILE_ALIGN));
    data.copy(raw);
    laid.push({ spec: { name: '.rsrc', data, characteristics: SCN_DATA }, rva, fileOff, raw });
    resourceDir = { rva, size: data.length };
    fileOff += raw.length;
    rva += align(Math.max(data.length, 1), SECTION_ALIGN);
  }
  const sizeOfImage = rva;

  const out = Buffer.alloc(fileOff);
  // DOS header
  out.write('MZ', 0, 'latin1');
  out.writeUInt16LE(0x90, 2);
  out.writeUInt16LE(3, 4);
  out.writeUInt16LE(4, 8);
  out.writeUInt16LE(0xffff, 12);
  out.writeUInt16LE(0xb8, 16);
  out.writeUInt16LE(0x40, 24);
  out.writeUInt32LE(peOffset, 0x3c);
  out.write('This program cannot be run in DOS mode.\r\r\n$', 0x4e, 'latin1');
  // PE signature + COFF header
  out.write('PE\0\0', peOffset, 'latin1');
  const coff = peOffset + 4;
  out.writeUInt16LE(is64 ? 0x8664 : 0x14c, coff);
  out.writeUInt16LE(sectionCount, coff + 2);
  out.writeUInt32LE(opts.timeDateStamp ?? 0x64200000, coff + 4);
  out.writeUInt16LE(optSize, coff + 16);
  let characteristics = 0x0002 | (is64 ? 0x0020 : 0x0100); // executable; large-address-aware / 32-bit
  if (opts.dll) characteristics |= 0x2000;
  out.writeUInt16LE(characteristics, coff + 18);
  // Optional header
  const opt = coff + 20;
  out.writeUInt16LE(is64 ? 0x20b : 0x10b, opt);
  out.writeUInt8(14, opt + 2);
  const code = laid.find((l) => (l.spec.characteristics ?? SCN_DATA) & 0x20);
  out.writeUInt32LE(laid.filter((l) => (l.spec.characteristics ?? SCN_DATA) & 0x20).reduce((n, l) => n + l.raw.length, 0), opt + 4);
  out.writeUInt32LE(laid.filter((l) => !((l.spec.characteristics ?? SCN_DATA) & 0x20)).reduce((n, l) => n + l.raw.length, 0), opt + 8);
  out.writeUInt32LE(code ? code.rva : 0, opt + 16);
  out.writeUInt32LE(code ? code.rva : 0, opt + 20);
  if (is64) {
    out.writeBigUInt64LE(0x140000000n, opt + 24);
  } else {
    out.writeUInt32LE(0, opt + 24);
    out.writeUInt32LE(0x400000, opt + 28);
  }
  out.writeUInt32LE(SECTION_ALIGN, opt + 32);
  out.writeUInt32LE(FILE_ALIGN, opt + 36);
  out.writeUInt16LE(6, opt + 40);
  out.writeUInt16LE(6, opt + 48);
  out.writeUInt32LE(sizeOfImage, opt + 56);
  out.writeUInt32LE(sizeOfHeaders, opt + 60);
  out.writeUInt32LE(0, opt + 64); // CheckSum
  out.writeUInt16LE(3, opt + 68); // console subsystem
  out.writeUInt16LE(0x8160, opt + 70); // dynamic base, NX compat, high entropy VA, terminal-server aware
  if (is64) {
    out.writeBigUInt64LE(0x100000n, opt + 72);
    out.writeBigUInt64LE(0x1000n, opt + 80);
    out.writeBigUInt64LE(0x100000n, opt + 88);
    out.writeBigUInt64LE(0x1000n, opt + 96);
    out.writeUInt32LE(16, opt + 108);
  } else {
    out.writeUInt32LE(0x100000, opt + 72);
    out.writeUInt32LE(0x1000, opt + 76);
    out.writeUInt32LE(0x100000, opt + 80);
    out.writeUInt32LE(0x1000, opt + 84);
    out.writeUInt32LE(16, opt + 92);
  }
  const dirs = opt + (is64 ? 112 : 96);
  if (resourceDir) {
    out.writeUInt32LE(resourceDir.rva, dirs + 2 * 8);
    out.writeUInt32LE(resourceDir.size, dirs + 2 * 8 + 4);
  }
  // Section table and section data
  const table = opt + optSize;
  laid.forEach((l, i) => {
    const s = table + i * 40;
    out.write(l.spec.name.slice(0, 8), s, 'latin1');
    out.writeUInt32LE(Math.max(l.spec.data.length, 1), s + 8);
    out.writeUInt32LE(l.rva, s + 12);
    out.writeUInt32LE(l.raw.length, s + 16);
    out.writeUInt32LE(l.fileOff, s + 20);
    out.writeUInt32LE(l.spec.characteristics ?? SCN_DATA, s + 36);
    l.raw.copy(out, l.fileOff);
  });
  return out;
}
