/**
 * Verifies a PE file's Authenticode signature in pure TypeScript, on any OS. Reads the
 * headers (first 64 KiB), walks the certificate table entry by entry, decodes the PKCS#7
 * blob, hashes the image once in 1 MiB chunks for every digest algorithm the signatures
 * name, then checks each signature. Memory stays bounded whatever the file size.
 *
 * Every outcome is a SignatureVerification; nothing thrown escapes (I/O failures become
 * `unreadable`, structural problems `malformed`).
 */
import { open, type FileHandle } from 'node:fs/promises';
import * as path from 'node:path';
import type { RandomAccessFile } from '../os/target-fs.js';
import { FsAccessError } from '../os/target-fs.js';
import { IMAGE_DIRECTORY_ENTRY_SECURITY, PeFormatError, readPeHeaders, type PeHeaders } from '../pe/pe-headers.js';
import type { ExtraData, SignatureVerification } from '../../shared/signature.js';
import { hashRangesOnWorker, WORKER_MIN_BYTES, workerCanHelp, type WorkerHashing } from './image-digest-worker.js';
import type { OsTrustAdapter } from './os-trust.js';
import { authenticodeDigestRanges, hashRanges, type ReadIntoFile } from './pe-image-digest.js';
import { combinedStatus, NO_FLAGS } from './verification-outcome.js';
import { readCertificateTable, type ByteRange } from './win-certificate.js';

export interface VerifyAuthenticodeOptions {
  /** How the file is named in the result (a display path). */
  path: string;
  /** The file's path on this machine, for the OS trust adapter. */
  hostPath?: string;
  osTrust?: OsTrustAdapter;
  /** Time certificate validity is checked at when there is no timestamp. */
  now?: Date;
  /**
   * Image digests already computed over this file (by the scan's inventory pass, see
   * planImageDigest): used instead of hashing again when they cover every algorithm the
   * signatures name.
   */
  imageDigests?: ReadonlyMap<string, Buffer>;
  /**
   * Hash a large file's image (SHA-256) on a worker thread, started before the signature
   * code loads, when the file has a descriptor to share (see image-digest-worker.ts).
   * Default false: on a busy 2-CPU machine the thread's start (about 70 ms of CPU on
   * Node 20) made `vigil verify` slower; whether it pays on an idle one is for a quiet
   * run of bench/verify.bench.ts to say (it times both).
   */
  hashOnWorker?: boolean;
}

/** A file with its descriptor, which a worker thread can read too (files of this machine). */
export interface DescriptorFile extends ReadIntoFile {
  fd: number;
}

function hasDescriptor(file: RandomAccessFile): file is DescriptorFile {
  return typeof (file as Partial<DescriptorFile>).fd === 'number';
}

/** The signature code (DER reader, CMS, X.509), loaded only once a file turns out to be signed. */
const signatureCode = () => import('./authenticode.js');

/** Extra-data ranges hashed for the report (each is also reported without a hash beyond this). */
const MAX_HASHED_EXTRA_RANGES = 8;

class Malformed extends Error {}

function baseResult(opts: VerifyAuthenticodeOptions): SignatureVerification {
  return { format: 'authenticode', path: opts.path, status: 'malformed', flags: { ...NO_FLAGS }, extraData: [], signatures: [] };
}

/** The certificate table's position, checked against the file and the image. */
function locateTable(headers: PeHeaders): { offset: number; size: number } | undefined {
  const dir = headers.dataDirectories[IMAGE_DIRECTORY_ENTRY_SECURITY];
  if (!dir || (dir.virtualAddress === 0 && dir.size === 0)) return undefined;
  const hex = (n: number) => `0x${n.toString(16)}`;
  if (dir.virtualAddress === 0 || dir.size === 0) {
    throw new Malformed(`the certificate-table directory entry is half set (offset ${hex(dir.virtualAddress)}, size ${dir.size})`);
  }
  const end = dir.virtualAddress + dir.size;
  if (end > headers.fileSize) {
    throw new Malformed(`the certificate table (${dir.size} bytes at ${hex(dir.virtualAddress)}) extends past the end of the ${headers.fileSize}-byte file`);
  }
  const headersEnd = headers.optionalHeaderOffset + headers.sizeOfOptionalHeader + headers.sections.length * 40;
  const sectionsEnd = Math.max(headersEnd, ...headers.sections.map((s) => (s.sizeOfRawData ? s.pointerToRawData + s.sizeOfRawData : 0)));
  if (dir.virtualAddress < Math.min(sectionsEnd, headers.fileSize)) {
    throw new Malformed(`the certificate table at ${hex(dir.virtualAddress)} overlaps the headers or section data (which end at ${hex(sectionsEnd)})`);
  }
  return { offset: dir.virtualAddress, size: dir.size };
}

async function hashExtra(file: RandomAccessFile, location: ExtraData['location'], ranges: readonly ByteRange[], index: { n: number }): Promise<ExtraData[]> {
  const out: ExtraData[] = [];
  for (const r of ranges) {
    const item: ExtraData = { location, offset: r.start, length: r.end - r.start };
    if (index.n++ < MAX_HASHED_EXTRA_RANGES) item.sha256 = (await hashRanges(file, [r], ['sha256'])).get('sha256')!.toString('hex');
    out.push(item);
  }
  return out;
}

async function verifyInner(file: RandomAccessFile, opts: VerifyAuthenticodeOptions, result: SignatureVerification): Promise<void> {
  result.fileSize = file.size;
  const magic = await file.read(0, 2);
  if (magic.length < 2 || magic[0] !== 0x4d || magic[1] !== 0x5a) {
    result.format = 'unknown';
    result.status = 'unsupported';
    result.error = 'not a PE file (no "MZ" header)';
    return;
  }
  let headers: PeHeaders;
  try {
    headers = await readPeHeaders(file);
  } catch (err) {
    if (err instanceof PeFormatError) throw new Malformed(err.message);
    throw err;
  }
  const table = locateTable(headers);
  if (!table) {
    result.status = 'unsigned';
    return;
  }
  // SHA-256 (what nearly every signature names) starts on a worker thread now, while this
  // thread reads the certificate table, loads the signature code and checks the signatures.
  const ranges = authenticodeDigestRanges(headers, table);
  const given = opts.imageDigests;
  const early: WorkerHashing | undefined =
    opts.hashOnWorker === true && !given?.has('sha256') && hasDescriptor(file) && file.size >= WORKER_MIN_BYTES && workerCanHelp()
      ? hashRangesOnWorker(file.fd, ranges, ['sha256'])
      : undefined;
  try {
    await verifySigned(file, opts, result, table, ranges, early);
  } finally {
    // On every path out (a malformed table, a failed read), the worker stops reading the
    // descriptor before the caller closes it.
    await early?.stop();
  }
}

async function verifySigned(
  file: RandomAccessFile,
  opts: VerifyAuthenticodeOptions,
  result: SignatureVerification,
  table: { offset: number; size: number },
  ranges: ByteRange[],
  early: WorkerHashing | undefined,
): Promise<void> {
  const extraIndex = { n: 0 };
  const tableEnd = table.offset + table.size;
  if (tableEnd < file.size) {
    result.flags.dataAfterCertificateTable = true;
    result.extraData.push(...(await hashExtra(file, 'after-certificate-table', [{ start: tableEnd, end: file.size }], extraIndex)));
  }
  const layout = await readCertificateTable(file, table.offset, table.size);
  if (layout.error || !layout.pkcs7) throw new Malformed(layout.error ?? 'no PKCS#7 signature in the certificate table');
  result.flags.multipleCertificateEntries = layout.multipleEntries;
  if (layout.extra.length) {
    result.flags.extraDataInCertificateTable = true;
    result.extraData.unshift(...(await hashExtra(file, 'certificate-table', layout.extra, extraIndex)));
  }

  const { checkAuthenticodeSignature, parseAuthenticodeSignatures, requiredDigests } = await signatureCode();
  const parsed = parseAuthenticodeSignatures(layout.pkcs7.bytes);
  if (parsed.error) throw new Malformed(parsed.error);
  // One pass over the file for every digest algorithm; the signature checks run meanwhile
  // (their public-key work and DER parsing fill the time spent waiting for reads), and each
  // compares its digest once hashing is done. Promise.all observes both from the start, so
  // an I/O error while hashing is never an unhandled rejection.
  const algorithms = requiredDigests(parsed);
  const given = opts.imageDigests;
  let hashing: Promise<Map<string, Buffer>>;
  if (given && algorithms.every((a) => given.has(a))) {
    hashing = Promise.resolve(new Map(algorithms.map((a) => [a, given.get(a)!])));
  } else if (early && algorithms.includes('sha256')) {
    // Any other algorithm (the SHA-1 of a dual-signed file) is hashed here meanwhile.
    const rest = algorithms.filter((a) => a !== 'sha256');
    hashing = Promise.all([early.digests, rest.length ? hashRanges(file, ranges, rest) : new Map<string, Buffer>()]).then(
      ([a, b]) => new Map([...a, ...b]),
    );
  } else {
    // Not needed after all (no SHA-256 signature): the worker stops now, not at the end.
    void early?.stop();
    hashing = hashRanges(file, ranges, algorithms);
  }
  const ctx = { imageDigests: hashing, now: opts.now ?? new Date() };
  const [, entries] = await Promise.all([hashing, Promise.all(parsed.signatures.map((sig) => checkAuthenticodeSignature(sig, ctx)))]);
  result.signatures.push(...entries);
  result.status = combinedStatus(result.signatures);
}

/**
 * What the image digest of a signed PE covers and with which algorithms, read from its
 * headers and signatures the way verifyAuthenticode reads them; undefined for anything
 * that is not a well-formed signed PE (the verifier then says what is wrong itself).
 */
export async function planImageDigest(file: RandomAccessFile): Promise<{ ranges: ByteRange[]; algorithms: string[] } | undefined> {
  try {
    const magic = await file.read(0, 2);
    if (magic.length < 2 || magic[0] !== 0x4d || magic[1] !== 0x5a) return undefined;
    const headers = await readPeHeaders(file);
    const table = locateTable(headers);
    if (!table) return undefined;
    const layout = await readCertificateTable(file, table.offset, table.size);
    if (layout.error || !layout.pkcs7) return undefined;
    const { parseAuthenticodeSignatures, requiredDigests } = await signatureCode();
    const parsed = parseAuthenticodeSignatures(layout.pkcs7.bytes);
    if (parsed.error) return undefined;
    return { ranges: authenticodeDigestRanges(headers, table), algorithms: requiredDigests(parsed) };
  } catch {
    return undefined;
  }
}

export async function verifyAuthenticode(file: RandomAccessFile, opts: VerifyAuthenticodeOptions): Promise<SignatureVerification> {
  const result = baseResult(opts);
  try {
    await verifyInner(file, opts, result);
  } catch (err) {
    if (err instanceof Malformed) {
      result.status = 'malformed';
      result.error = err.message;
    } else if (err instanceof FsAccessError || (err as NodeJS.ErrnoException)?.code) {
      result.status = 'unreadable';
      result.error = (err as Error).message;
    } else {
      // A bug or an input no check above foresaw: still a result, never a throw.
      result.status = 'malformed';
      result.error = `could not verify: ${err instanceof Error ? err.message : String(err)}`;
    }
  }
  if (opts.osTrust && opts.hostPath && result.status !== 'unreadable' && result.format === 'authenticode') {
    try {
      const trust = await opts.osTrust.assess(opts.hostPath);
      if (trust) result.osTrust = trust;
    } catch {
      // The adapter promises not to throw; an OS opinion is optional either way.
    }
  }
  return result;
}

/**
 * A file of this machine, opened once for verification (headers, table and image all come
 * from the same handle, so a file swapped mid-way cannot mix two files), with `readInto`
 * so hashing reuses two buffers (see pe-image-digest.ts). Errors read like LocalTargetFs's.
 */
async function openHostFile(abs: string): Promise<DescriptorFile> {
  let handle: FileHandle;
  try {
    handle = await open(abs, 'r');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'EIO';
    const reason = code === 'ENOENT' ? 'does not exist' : code === 'EACCES' || code === 'EPERM' ? 'permission denied' : (err as Error).message;
    throw new FsAccessError(code, abs, `${abs}: ${reason}`);
  }
  const st = await handle.stat();
  if (!st.isFile()) {
    await handle.close();
    throw new FsAccessError('EISDIR', abs, `${abs}: not a regular file`);
  }
  const size = st.size;
  return {
    size,
    fd: handle.fd,
    async read(position, length) {
      const len = Math.max(0, Math.min(length, size - position));
      const buf = Buffer.alloc(len);
      if (len === 0 || position < 0) return buf;
      const { bytesRead } = await handle.read(buf, 0, len, position);
      return bytesRead === len ? buf : buf.subarray(0, bytesRead);
    },
    async readInto(buf, position) {
      const { bytesRead } = await handle.read(buf, 0, buf.length, position);
      return bytesRead;
    },
    close: () => handle.close(),
  };
}

/** Opens a file of this machine and verifies it; the result names it by `hostPath`. */
export async function verifyAuthenticodeFile(
  hostPath: string,
  opts: Omit<VerifyAuthenticodeOptions, 'path' | 'hostPath'> & { path?: string } = {},
): Promise<SignatureVerification> {
  const abs = path.resolve(hostPath);
  const shown = opts.path ?? hostPath;
  let file: RandomAccessFile;
  try {
    file = await openHostFile(abs);
  } catch (err) {
    return { ...baseResult({ path: shown }), status: 'unreadable', error: `${shown}: ${(err as FsAccessError).message?.replace(/^[^:]*: /, '') ?? String(err)}` };
  }
  try {
    return await verifyAuthenticode(file, { ...opts, path: shown, hostPath: abs });
  } finally {
    await file.close().catch(() => {});
  }
}
