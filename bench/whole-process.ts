/**
 * Whole-process timing from outside: what an RMM script pays for `vigil check` or
 * `vigil verify` (Node start-up, module loading, the work, exit), measured around spawn
 * beside a peer process on the same work, in paired rounds (ours, then each peer, round
 * after round) so both see the same machine and page-cache state. The first round warms
 * the cache and is not counted.
 */
import { spawnSync } from 'node:child_process';
import { median } from './table.js';

export interface ProcessSpec {
  cmd: string;
  args: readonly string[];
  /** Exit codes that mean the run did its job (anything else fails the bench). */
  okCodes?: readonly number[];
  /** Added to this process's environment. */
  env?: NodeJS.ProcessEnv;
  /** Removed from this process's environment. */
  unsetEnv?: readonly string[];
}

/**
 * NODE_EXTRA_CA_CERTS: when it is set, every Node process parses Node's ~140 root
 * certificates and the named file before running any code (node's InitCryptoOnce), about
 * 30 ms here, where the sandbox points it at the system bundle. A PC that does not set it
 * (the usual endpoint) does not pay that, so the benches time Node processes both ways when
 * it is set; peers that are not Node never pay it.
 */
export const EXTRA_CA_VAR = 'NODE_EXTRA_CA_CERTS';
export const extraCaSet = (): boolean => process.env[EXTRA_CA_VAR] !== undefined && process.env[EXTRA_CA_VAR] !== '';

function environment(spec: ProcessSpec): NodeJS.ProcessEnv | undefined {
  if (!spec.env && !spec.unsetEnv) return undefined;
  const env = { ...process.env, ...spec.env };
  for (const name of spec.unsetEnv ?? []) delete env[name];
  return env;
}

export interface ProcessTimes {
  ms: number[];
  median: number;
  min: number;
  max: number;
}

function timeOnce(spec: ProcessSpec): number {
  const t0 = performance.now();
  const env = environment(spec);
  const r = spawnSync(spec.cmd, spec.args, { stdio: ['ignore', 'ignore', 'pipe'], maxBuffer: 1 << 26, ...(env ? { env } : {}) });
  const ms = performance.now() - t0;
  if (r.error) throw r.error;
  const ok = spec.okCodes ?? [0];
  if (r.status === null || !ok.includes(r.status)) {
    throw new Error(`${spec.cmd} ${spec.args.join(' ')} exited ${r.status ?? r.signal} (expected ${ok.join(' or ')}): ${String(r.stderr).slice(0, 500)}`);
  }
  return ms;
}

/** Times every spec `runs` times, interleaved; returns the times per spec, in order. */
export function pairedRuns(specs: readonly ProcessSpec[], runs: number): ProcessTimes[] {
  const ms = specs.map(() => [] as number[]);
  for (let round = 0; round <= runs; round++) {
    specs.forEach((spec, i) => {
      const t = timeOnce(spec);
      if (round > 0) ms[i]!.push(t);
    });
  }
  return ms.map((xs) => ({ ms: xs, median: median(xs), min: Math.min(...xs), max: Math.max(...xs) }));
}

/** "212 ms (198-240)": the median and the range, for a bench's notes. */
export function spread(t: ProcessTimes): string {
  return `${t.median.toFixed(0)} ms (${t.min.toFixed(0)}-${t.max.toFixed(0)})`;
}
