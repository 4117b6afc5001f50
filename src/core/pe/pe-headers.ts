/**
 * PE/COFF header parsing (Microsoft "PE Format" specification): the DOS header, the PE
 * signature, the COFF file header, the optional header (PE32 and PE32+), its data
 * directories and the section table. Used by the VERSIONINFO reader (inventory) and by the
 * Authenticode verifier (signing). Only the first 64 KiB of a file are read, whatever its
 * size: the 3CX executable is about 150 MB and is never loaded whole.
 *
 * Every structural problem is a PeFormatError that says what is wrong and where.
 */
import type { RandomAccessFile } from '../os/target-fs.js';

export const IMAGE_DIRECTORY_ENTRY_RESOURCE = 2;
export const IMAGE_DIRECTORY_ENTRY_SECURITY = 4;

/** Real PE headers fit well inside this; e_lfanew beyond it is treated as malformed. */
export const PE_HEADER_READ_BYTES = 64 * 1024;
const MAX_SECTIONS = 96; // the loader's limit (PE Format: NumberOfSections)

export class PeFormatError extends Error {
  constructor(
    message: string,
    readonly offset?: number,
  ) {
    super(offset === undefined ? message : `${message} (at offset ${offset})`);
    this.name = 'PeFormatError';
  }
}

export interface DataDirectory {
  virtualAddress: number;
  size: number;
}

export interface PeSection {
  name: string;
  virtualSize: number;
  virtualAddress: number;
  sizeOfRawData: number;
  pointerToRawData: number;
  characteristics: number;
}

export interface PeHeaders {
  fileSize: number;
  /** e_lfanew: file offset of the "PE\0\0" signature. */
  peOffset: number;
  machine: number;
  timeDateStamp: number;
  characteristics: number;
  /** PE32+ (64-bit optional header). */
  is64: boolean;
  optionalHeaderOffset: number;
  sizeOfOptionalHeader: number;
  /** File offset of the 4-byte CheckSum field, skipped by the Authenticode digest. */
  checksumOffset: number;
  sizeOfHeaders: number;
  numberOfRvaAndSizes: number;
  dataDirectories: DataDirectory[];
  /**
   * File offset of the 8-byte certificate-table directory entry (index 4), skipped by the
   * Authenticode digest; undefined when the optional header has fewer than 5 directories.
   */
  securityDirectoryOffset: number | undefined;
  sections: PeSection[];
}

function need(buf: Buffer, offset: number, length: number, what: string): void {
  if (offset < 0 || offset + length > buf.length) {
    throw new PeFormatError(`truncated: ${what} ends past the end of the headers read`, offset);
  }
}

/** Parses headers from the first bytes of a file; `fileSize` is the whole file's size. */
export function parsePeHeaders(buf: Buffer, fileSize: number): PeHeaders {
  if (buf.length < 64) throw new PeFormatError(`not a PE file: only ${buf.length} bytes`);
  if (buf.readUInt16LE(0) !== 0x5a4d) throw new PeFormatError('not a PE file: no "MZ" DOS signature', 0);
  const peOffset = buf.readUInt32LE(0x3c);
  if (peOffset < 0x40 || peOffset > PE_HEADER_READ_BYTES - 24) {
    throw new PeFormatError(`malformed DOS header: e_lfanew ${peOffset} is out of range`, 0x3c);
  }
  need(buf, peOffset, 24, 'PE signature and COFF header');
  if (buf.readUInt32LE(peOffset) !== 0x00004550) {
    throw new PeFormatError('not a PE file: no "PE\\0\\0" signature', peOffset);
  }
  const coff = peOffset + 4;
  const machine = buf.readUInt16LE(coff);
  const numberOfSections = buf.readUInt16LE(coff + 2);
  const timeDateStamp = buf.readUInt32LE(coff + 4);
  const sizeOfOptionalHeader = buf.readUInt16LE(coff + 16);
  const characteristics = buf.readUInt16LE(coff + 18);
  if (numberOfSections > MAX_SECTIONS) {
    throw new PeFormatError(`malformed COFF header: ${numberOfSections} sections (at most ${MAX_SECTIONS})`, coff + 2);
  }
  const opt = coff + 20;
  need(buf, opt, Math.max(2, sizeOfOptionalHeader), 'optional header');
  const magic = buf.readUInt16LE(opt);
  let is64: boolean;
  if (magic === 0x10b) is64 = false;
  else if (magic === 0x20b) is64 = true;
  else throw new PeFormatError(`unknown optional header magic 0x${magic.toString(16)}`, opt);
  const fixedSize = is64 ? 112 : 96;
  if (sizeOfOptionalHeader < fixedSize) {
    throw new PeFormatError(`optional header is ${sizeOfOptionalHeader} bytes, shorter than the ${fixedSize} required`, coff + 16);
  }
  const sizeOfHeaders = buf.readUInt32LE(opt + 60);
  const checksumOffset = opt + 64;
  const numberOfRvaAndSizes = buf.readUInt32LE(opt + (is64 ? 108 : 92));
  const dirStart = opt + fixedSize;
  const dirCount = Math.min(numberOfRvaAndSizes, 16, Math.floor((sizeOfOptionalHeader - fixedSize) / 8));
  const dataDirectories: DataDirectory[] = [];
  for (let i = 0; i < dirCount; i++) {
    dataDirectories.push({ virtualAddress: buf.readUInt32LE(dirStart + i * 8), size: buf.readUInt32LE(dirStart + i * 8 + 4) });
  }
  const securityDirectoryOffset = dirCount > IMAGE_DIRECTORY_ENTRY_SECURITY ? dirStart + IMAGE_DIRECTORY_ENTRY_SECURITY * 8 : undefined;

  const sectionTable = opt + sizeOfOptionalHeader;
  need(buf, sectionTable, numberOfSections * 40, 'section table');
  const sections: PeSection[] = [];
  for (let i = 0; i < numberOfSections; i++) {
    const s = sectionTable + i * 40;
    const rawName = buf.subarray(s, s + 8);
    const nul = rawName.indexOf(0);
    sections.push({
      name: rawName.subarray(0, nul === -1 ? 8 : nul).toString('latin1'),
      virtualSize: buf.readUInt32LE(s + 8),
      virtualAddress: buf.readUInt32LE(s + 12),
      sizeOfRawData: buf.readUInt32LE(s + 16),
      pointerToRawData: buf.readUInt32LE(s + 20),
      characteristics: buf.readUInt32LE(s + 36),
    });
  }
  return {
    fileSize,
    peOffset,
    machine,
    timeDateStamp,
    characteristics,
    is64,
    optionalHeaderOffset: opt,
    sizeOfOptionalHeader,
    checksumOffset,
    sizeOfHeaders,
    numberOfRvaAndSizes,
    dataDirectories,
    securityDirectoryOffset,
    sections,
  };
}

export async function readPeHeaders(file: RandomAccessFile): Promise<PeHeaders> {
  const head = await file.read(0, Math.min(file.size, PE_HEADER_READ_BYTES));
  return parsePeHeaders(head, file.size);
}

/** Maps a relative virtual address to a file offset, or undefined if no section holds it. */
export function rvaToOffset(headers: PeHeaders, rva: number): number | undefined {
  for (const s of headers.sections) {
    const span = Math.max(s.virtualSize, s.sizeOfRawData);
    if (rva >= s.virtualAddress && rva < s.virtualAddress + span) {
      const delta = rva - s.virtualAddress;
      if (delta >= s.sizeOfRawData) return undefined; // in the zero-filled tail, not in the file
      return s.pointerToRawData + delta;
    }
  }
  if (rva < headers.sizeOfHeaders) return rva;
  return undefined;
}

/** The certificate table's file range (its "RVA" is a file offset), if the file has one. */
export function certificateTable(headers: PeHeaders): { offset: number; size: number } | undefined {
  const dir = headers.dataDirectories[IMAGE_DIRECTORY_ENTRY_SECURITY];
  if (!dir || dir.virtualAddress === 0 || dir.size === 0) return undefined;
  return { offset: dir.virtualAddress, size: dir.size };
}
