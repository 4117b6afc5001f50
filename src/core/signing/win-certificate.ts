/**
 * The PE attribute certificate table (PE Format, "The Attribute Certificate Table"): a run
 * of WIN_CERTIFICATE entries, each { dwLength: u32, wRevision: u16, wCertificateType: u16,
 * bCertificate[] }, each starting on an 8-byte boundary. dwLength counts the 8-byte header
 * and the certificate; signers (signtool, osslsigncode) include the zero padding to the next
 * 8-byte boundary in it.
 *
 * Windows and osslsigncode verify the first entry of revision 0x0200 and type
 * WIN_CERT_TYPE_PKCS_SIGNED_DATA, and decode only the DER element at its start: bytes after
 * that element are not covered by any signature. That is the CVE-2013-3900 "padding" trick
 * the 3CX attackers used to hide an encrypted payload inside the signed d3dcompiler_47.dll,
 * so every byte of the table that is not the PKCS#7 element or its < 8 bytes of zero
 * padding is reported here as extra data.
 *
 * Reads are bounded: entry headers are 8 bytes, the PKCS#7 blob is read only up to
 * MAX_PKCS7_BYTES, and extra data is never read here (the verifier hashes it in chunks).
 */
import type { RandomAccessFile } from '../os/target-fs.js';
import { derElementLength } from './der-length.js';

export const WIN_CERT_REVISION_1_0 = 0x0100;
export const WIN_CERT_REVISION_2_0 = 0x0200;
export const WIN_CERT_TYPE_X509 = 0x0001;
export const WIN_CERT_TYPE_PKCS_SIGNED_DATA = 0x0002;
export const WIN_CERT_TYPE_RESERVED_1 = 0x0003;
export const WIN_CERT_TYPE_TS_STACK_SIGNED = 0x0004;

/** Real Authenticode blobs are tens of KB; this bounds memory on hostile input. */
export const MAX_PKCS7_BYTES = 8 * 1024 * 1024;
/** Entries walked before the rest of the table is treated as extra data. */
export const MAX_CERTIFICATE_ENTRIES = 64;

export interface WinCertificateEntry {
  offset: number;
  length: number;
  revision: number;
  type: number;
}

export interface ByteRange {
  /** Inclusive start and exclusive end file offsets. */
  start: number;
  end: number;
}

export interface CertificateTableLayout {
  entries: WinCertificateEntry[];
  /** The first PKCS_SIGNED_DATA entry's DER blob. */
  pkcs7?: { offset: number; bytes: Buffer };
  /** Table bytes not covered by the PKCS#7 element and its padding. */
  extra: ByteRange[];
  multipleEntries: boolean;
  /** Why no PKCS#7 blob could be taken from the table (malformed). */
  error?: string;
}

const align8 = (n: number) => Math.ceil(n / 8) * 8;

export function parseWinCertificateHeader(buf: Uint8Array): { length: number; revision: number; type: number } | undefined {
  if (buf.length < 8) return undefined;
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  return { length: view.getUint32(0, true), revision: view.getUint16(4, true), type: view.getUint16(6, true) };
}

function knownHeader(h: { revision: number; type: number }): boolean {
  return (
    (h.revision === WIN_CERT_REVISION_1_0 || h.revision === WIN_CERT_REVISION_2_0) &&
    h.type >= WIN_CERT_TYPE_X509 &&
    h.type <= WIN_CERT_TYPE_TS_STACK_SIGNED
  );
}

function addRange(ranges: ByteRange[], start: number, end: number): void {
  if (end <= start) return;
  const last = ranges[ranges.length - 1];
  if (last && last.end === start) last.end = end;
  else ranges.push({ start, end });
}

const hex = (n: number) => `0x${n.toString(16)}`;

/**
 * Walks the table at [offset, offset + size), which the caller has checked lies inside the
 * file. Never throws for what the table holds; I/O errors from `file` propagate.
 */
export async function readCertificateTable(file: RandomAccessFile, offset: number, size: number): Promise<CertificateTableLayout> {
  const end = offset + size;
  const layout: CertificateTableLayout = { entries: [], extra: [], multipleEntries: false };
  let pos = offset;
  while (pos + 8 <= end) {
    if (layout.entries.length >= MAX_CERTIFICATE_ENTRIES) break;
    const header = parseWinCertificateHeader(await file.read(pos, 8));
    if (!header) break;
    const fits = header.length >= 8 && pos + header.length <= end;
    if (!fits || !knownHeader(header)) {
      if (!layout.pkcs7) {
        layout.error = !fits
          ? `WIN_CERTIFICATE at ${hex(pos)} has dwLength ${header.length}, which does not fit the ${size}-byte certificate table`
          : `WIN_CERTIFICATE at ${hex(pos)} has unknown revision ${hex(header.revision)} / type ${hex(header.type)}`;
        return layout;
      }
      break; // after the signature: everything left is extra data
    }
    const entry: WinCertificateEntry = { offset: pos, length: header.length, revision: header.revision, type: header.type };
    layout.entries.push(entry);
    const entryEnd = Math.min(end, pos + align8(header.length));
    if (!layout.pkcs7 && header.revision === WIN_CERT_REVISION_2_0 && header.type === WIN_CERT_TYPE_PKCS_SIGNED_DATA) {
      const blobStart = pos + 8;
      const der = derElementLength(await file.read(blobStart, Math.min(16, header.length - 8)));
      if (!der.ok || der.tag !== 0x30) {
        layout.error = `the PKCS#7 entry at ${hex(pos)} does not start with a DER SEQUENCE${der.ok ? '' : `: ${der.reason}`}`;
        return layout;
      }
      if (8 + der.totalLength > header.length) {
        layout.error = `the PKCS#7 blob at ${hex(blobStart)} (${der.totalLength} bytes) runs past its WIN_CERTIFICATE entry (dwLength ${header.length})`;
        return layout;
      }
      if (der.totalLength > MAX_PKCS7_BYTES) {
        layout.error = `the PKCS#7 blob at ${hex(blobStart)} is ${der.totalLength} bytes, more than the ${MAX_PKCS7_BYTES}-byte limit`;
        return layout;
      }
      const bytes = await file.read(blobStart, der.totalLength);
      layout.pkcs7 = { offset: blobStart, bytes };
      const tailStart = blobStart + der.totalLength;
      const tail = entryEnd - tailStart;
      // Up to 7 zero bytes are the 8-byte alignment padding; anything else is smuggled.
      if (tail > 0 && (tail >= 8 || (await file.read(tailStart, tail)).some((b) => b !== 0))) {
        addRange(layout.extra, tailStart, entryEnd);
      }
    } else {
      // Windows verifies only the first PKCS#7 entry: later entries are covered by nothing.
      layout.multipleEntries = true;
      addRange(layout.extra, pos, entryEnd);
    }
    pos = entryEnd;
  }
  if (!layout.pkcs7) {
    layout.error ??= layout.entries.length
      ? 'the certificate table has no WIN_CERT_TYPE_PKCS_SIGNED_DATA entry of revision 0x0200'
      : `the ${size}-byte certificate table is too small to hold a WIN_CERTIFICATE entry`;
    return layout;
  }
  const rest = end - pos;
  if (rest > 0 && (rest >= 8 || (await file.read(pos, rest)).some((b) => b !== 0))) addRange(layout.extra, pos, end);
  return layout;
}
