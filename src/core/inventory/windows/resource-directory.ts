/**
 * Finds the RT_VERSION resource of a PE image by walking its resource directory (data
 * directory 2), as laid out in Microsoft's "PE Format" specification, section ".rsrc
 * Section": a tree of IMAGE_RESOURCE_DIRECTORY tables, three levels deep (type, name,
 * language), whose leaves are IMAGE_RESOURCE_DATA_ENTRY records.
 *
 * Offsets inside the tree are relative to the start of the resource directory; only the
 * data entry's OffsetToData is an RVA. Only the tables on the path to RT_VERSION are read,
 * each with one positional read, so the walk costs a handful of small reads whatever the
 * size of the image. Every offset is checked against the resource section and the file,
 * entry counts are capped, and a table that refers back to one already visited is a cycle.
 */
import type { RandomAccessFile } from '../../os/target-fs.js';
import { IMAGE_DIRECTORY_ENTRY_RESOURCE, rvaToOffset, type PeHeaders } from '../../pe/pe-headers.js';
import { readExact } from './bounded-read.js';
import { VersionInfoError } from './version-info-error.js';

export const RT_VERSION = 16;
/** US English, the language electron-builder (rcedit) and most tools write. */
export const LANG_EN_US = 0x0409;
/** LANG_NEUTRAL / SUBLANG_NEUTRAL. */
export const LANG_NEUTRAL = 0x0000;
/**
 * Real tables on the path to RT_VERSION hold a few dozen entries at most (the type table:
 * one per resource type; the version name and language tables: usually one). A table
 * claiming more is treated as malformed rather than read.
 */
export const MAX_DIRECTORY_ENTRIES = 1024;
/** Longest resource name string read (IMAGE_RESOURCE_DIR_STRING_U), in UTF-16 units. */
const MAX_NAME_CHARS = 256;
const DIRECTORY_HEADER_SIZE = 16;
const ENTRY_SIZE = 8;
const DATA_ENTRY_SIZE = 16;
const HIGH_BIT = 0x80000000;
const LOW_31_BITS = 0x7fffffff;

interface DirectoryEntry {
  /** Resource ID, for entries identified by number. */
  id?: number;
  /** Offset (from the resource directory start) of the name string, for named entries. */
  nameOffset?: number;
  isDirectory: boolean;
  /** Offset from the resource directory start of the subdirectory or data entry. */
  target: number;
}

export interface VersionResourceLocation {
  /** File offset of the VS_VERSIONINFO bytes. */
  fileOffset: number;
  /** RVA of the VS_VERSIONINFO bytes, as the data entry states it. */
  rva: number;
  size: number;
  /** The resource name: its ID (usually 1) or its name string. */
  name: number | string;
  /** Language ID of the chosen leaf (e.g. 0x0409); undefined for a (non-standard) named leaf. */
  language: number | undefined;
  /** Every language ID the version resource is present in, in table order. */
  languages: number[];
  /** The data entry's CodePage field. */
  codePage: number;
  /** Exclusive file offset where the data's section ends: the data may not run past it. */
  sectionEnd: number;
}

/** Where the resource tree lies in the file, and what bounds its structures. */
interface ResourceRegion {
  /** File offset of the resource directory (relative offset 0). */
  start: number;
  /** Exclusive file offset no tree structure may reach past: the end of its section's data. */
  limit: number;
}

/** The file offset where the raw data of the section holding `rva` ends (headers: SizeOfHeaders). */
function sectionEndFor(headers: PeHeaders, rva: number): number {
  const section = headers.sections.find((s) => rva >= s.virtualAddress && rva < s.virtualAddress + Math.max(s.virtualSize, s.sizeOfRawData));
  return section ? section.pointerToRawData + section.sizeOfRawData : headers.sizeOfHeaders;
}

function resourceRegion(headers: PeHeaders, fileSize: number): ResourceRegion {
  const dir = headers.dataDirectories[IMAGE_DIRECTORY_ENTRY_RESOURCE];
  if (!dir || dir.virtualAddress === 0 || dir.size === 0) {
    throw new VersionInfoError('no-resources', 'the image has no resource directory (data directory 2 is empty)');
  }
  const start = rvaToOffset(headers, dir.virtualAddress);
  if (start === undefined) {
    throw new VersionInfoError('malformed', `resource directory RVA 0x${dir.virtualAddress.toString(16)} is not backed by any section's file data`);
  }
  if (start >= fileSize) {
    throw new VersionInfoError('truncated', `the resource directory starts past the end of the ${fileSize}-byte file`, start);
  }
  return { start, limit: sectionEndFor(headers, dir.virtualAddress) };
}

async function readDirectory(file: RandomAccessFile, region: ResourceRegion, relOffset: number, what: string): Promise<DirectoryEntry[]> {
  const at = region.start + relOffset;
  const header = await readExact(file, at, DIRECTORY_HEADER_SIZE, `${what} header`, region.limit);
  const named = header.readUInt16LE(12);
  const ids = header.readUInt16LE(14);
  const count = named + ids;
  if (count > MAX_DIRECTORY_ENTRIES) {
    throw new VersionInfoError('malformed', `${what} claims ${count} entries (at most ${MAX_DIRECTORY_ENTRIES} are read)`, at + 12);
  }
  if (count === 0) return [];
  const raw = await readExact(file, at + DIRECTORY_HEADER_SIZE, count * ENTRY_SIZE, `${what} entries`, region.limit);
  const entries: DirectoryEntry[] = [];
  for (let i = 0; i < count; i++) {
    const nameField = raw.readUInt32LE(i * ENTRY_SIZE);
    const dataField = raw.readUInt32LE(i * ENTRY_SIZE + 4);
    const isDirectory = (dataField & HIGH_BIT) !== 0;
    const target = dataField & LOW_31_BITS;
    // The spec puts named entries first; the flag, not the position, says which an entry is.
    if ((nameField & HIGH_BIT) !== 0) entries.push({ nameOffset: nameField & LOW_31_BITS, isDirectory, target });
    else entries.push({ id: nameField & 0xffff, isDirectory, target });
  }
  return entries;
}

async function readName(file: RandomAccessFile, region: ResourceRegion, relOffset: number): Promise<string> {
  const at = region.start + relOffset;
  const len = (await readExact(file, at, 2, 'resource name length', region.limit)).readUInt16LE(0);
  if (len > MAX_NAME_CHARS) {
    throw new VersionInfoError('malformed', `resource name of ${len} characters (at most ${MAX_NAME_CHARS})`, at);
  }
  return (await readExact(file, at + 2, len * 2, 'resource name', region.limit)).toString('utf16le');
}

/** ID entries first (lowest ID), then named ones in table order: deterministic. */
function pickName(entries: DirectoryEntry[]): DirectoryEntry | undefined {
  const ids = entries.filter((e) => e.id !== undefined).sort((a, b) => a.id! - b.id!);
  return ids[0] ?? entries[0];
}

/** US English, then neutral, then the lowest language ID, then the first named entry. */
function pickLanguage(entries: DirectoryEntry[]): DirectoryEntry | undefined {
  return (
    entries.find((e) => e.id === LANG_EN_US) ??
    entries.find((e) => e.id === LANG_NEUTRAL) ??
    entries.filter((e) => e.id !== undefined).sort((a, b) => a.id! - b.id!)[0] ??
    entries[0]
  );
}

function descend(entry: DirectoryEntry, visited: Set<number>, region: ResourceRegion, what: string): number {
  if (!entry.isDirectory) {
    throw new VersionInfoError('malformed', `${what} is a data entry where the resource tree needs a subdirectory`, region.start + entry.target);
  }
  if (visited.has(entry.target)) {
    throw new VersionInfoError('malformed', `${what} refers back to a resource directory already visited (a cycle)`, region.start + entry.target);
  }
  visited.add(entry.target);
  return entry.target;
}

/** Locates the VS_VERSIONINFO bytes; throws VersionInfoError when there are none to read. */
export async function findVersionResource(file: RandomAccessFile, headers: PeHeaders): Promise<VersionResourceLocation> {
  const region = resourceRegion(headers, file.size);
  const visited = new Set<number>([0]);

  const types = await readDirectory(file, region, 0, 'resource type directory');
  const versionType = types.find((e) => e.id === RT_VERSION);
  if (!versionType) throw new VersionInfoError('no-version-resource', 'the resource directory has no RT_VERSION (16) entry', region.start);
  const namesAt = descend(versionType, visited, region, 'the RT_VERSION entry');

  const names = await readDirectory(file, region, namesAt, 'RT_VERSION name directory');
  const nameEntry = pickName(names);
  if (!nameEntry) throw new VersionInfoError('no-version-resource', 'the RT_VERSION directory is empty', region.start + namesAt);
  const langsAt = descend(nameEntry, visited, region, 'the version resource name entry');
  const name = nameEntry.id ?? (await readName(file, region, nameEntry.nameOffset!));

  const langs = await readDirectory(file, region, langsAt, 'version resource language directory');
  const langEntry = pickLanguage(langs);
  if (!langEntry) throw new VersionInfoError('no-version-resource', 'the version resource has no language entry', region.start + langsAt);
  if (langEntry.isDirectory) {
    throw new VersionInfoError('malformed', 'the version resource language entry is a directory, not a data entry (the tree is three levels deep)', region.start + langEntry.target);
  }

  const dataEntryAt = region.start + langEntry.target;
  const dataEntry = await readExact(file, dataEntryAt, DATA_ENTRY_SIZE, 'version resource data entry', region.limit);
  const rva = dataEntry.readUInt32LE(0);
  const size = dataEntry.readUInt32LE(4);
  const codePage = dataEntry.readUInt32LE(8);
  if (size === 0) throw new VersionInfoError('malformed', 'the version resource data entry has size 0', dataEntryAt + 4);
  const fileOffset = rvaToOffset(headers, rva);
  if (fileOffset === undefined) {
    throw new VersionInfoError('malformed', `version resource data RVA 0x${rva.toString(16)} is not backed by any section's file data`, dataEntryAt);
  }
  return {
    fileOffset,
    rva,
    size,
    name,
    language: langEntry.id,
    languages: langs.filter((e) => e.id !== undefined).map((e) => e.id!),
    codePage,
    sectionEnd: sectionEndFor(headers, rva),
  };
}
