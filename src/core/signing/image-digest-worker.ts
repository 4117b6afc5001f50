/**
 * Hashes byte ranges of an open file on a worker thread, so that `vigil verify` of a large
 * PE hashes the image while the main thread loads and runs the signature code (with pkijs
 * that took about as long as hashing 100 MB; with signing/der.ts a few ms). Hashing in Node is synchronous on the thread that calls
 * `update`; without a second thread the two costs add up.
 *
 * The worker reads through the caller's file descriptor (positional reads), so the headers,
 * the certificate table and the image digest all come from the same open file, as with
 * hashRanges: a file swapped on disk mid-way cannot mix two files. The caller keeps the
 * descriptor open until `digests` settles or `stop()` has resolved.
 *
 * The worker's code is a string evaluated by Node (`eval: true`) rather than a module file:
 * it then runs the same from the sources (tests), tsc's output and the bundled CLI, whose
 * chunks do not sit where a worker file would be looked up. It uses only node:fs,
 * node:crypto and node:worker_threads.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { ByteRange } from './win-certificate.js';

/** Below this, starting a thread costs more than the hashing it would take off the main thread. */
export const WORKER_MIN_BYTES = 32 * 1024 * 1024;

/**
 * Whether a second thread can run beside this one at all: with one CPU the worker's start
 * (about 70 ms of CPU on Node 20, measured) only adds to the hashing it takes over.
 */
export function workerCanHelp(): boolean {
  return availableParallelism() > 1;
}

const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { readSync } = require('node:fs');
const { createHash } = require('node:crypto');
const { fd, ranges, algorithms, chunkBytes } = workerData;
try {
  const hashes = algorithms.map((a) => createHash(a));
  const buf = Buffer.allocUnsafe(chunkBytes);
  for (const [start, end] of ranges) {
    for (let pos = start; pos < end; ) {
      const want = Math.min(chunkBytes, end - pos);
      const n = readSync(fd, buf, 0, want, pos);
      if (n === 0) throw Object.assign(new Error('file ended at ' + pos + ' while reading ' + start + '-' + end), { short: true });
      const part = n === chunkBytes ? buf : buf.subarray(0, n);
      for (const h of hashes) h.update(part);
      pos += n;
    }
  }
  parentPort.postMessage({ digests: algorithms.map((a, i) => [a, hashes[i].digest()]) });
} catch (err) {
  parentPort.postMessage({ error: String(err && err.message || err), code: err && err.code });
}
`;

export interface WorkerHashing {
  /** The digests by algorithm; rejects with the read error (its `code` kept) or a short-file Error. */
  digests: Promise<Map<string, Buffer>>;
  /** Ends the worker if it is still hashing; resolves once it no longer reads the descriptor. */
  stop(): Promise<void>;
}

type WorkerReply = { digests: [string, Uint8Array][] } | { error: string; code?: string };

/** Starts hashing `ranges` of the open file `fd` with every algorithm (node:crypto names). */
export function hashRangesOnWorker(fd: number, ranges: readonly ByteRange[], algorithms: readonly string[], chunkBytes = 1024 * 1024): WorkerHashing {
  const worker = new Worker(WORKER_SOURCE, {
    eval: true,
    workerData: { fd, ranges: ranges.map((r) => [r.start, r.end]), algorithms: [...algorithms], chunkBytes },
  });
  let exited = false;
  const exit = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  void exit.then(() => (exited = true));
  const digests = new Promise<Map<string, Buffer>>((resolve, reject) => {
    worker.once('message', (m: WorkerReply) => {
      if ('digests' in m) resolve(new Map(m.digests.map(([a, d]) => [a, Buffer.from(d.buffer, d.byteOffset, d.byteLength)])));
      else reject(Object.assign(new Error(m.error), m.code ? { code: m.code } : {}));
    });
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`the hashing thread exited (${code}) without a result`)));
  });
  // Observed from the start: a caller that stops early never sees an unhandled rejection.
  digests.catch(() => {});
  let stopping: Promise<void> | undefined;
  return {
    digests,
    stop() {
      stopping ??= (exited ? Promise.resolve() : worker.terminate().then(() => undefined)).then(() => exit);
      return stopping;
    },
  };
}
