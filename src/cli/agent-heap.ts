/**
 * V8's heap growth for the long-running agent (`vigil run`). After each full collection V8
 * lets the old generation grow to a multiple of what survived before it collects again; for
 * an idle process with Node's default heap limit that multiple approaches 4. The agent's
 * live heap is about 11 MB, and the little garbage each 2 s watch cycle and 10 s heartbeat
 * promotes (about 7 MB an hour, measured with --trace-gc) then piles up for hours before the
 * next full collection, some 30 MB later: RSS that climbs by 8 to 11 MB an hour in a soak,
 * though nothing leaks. With a fixed growth of a quarter the next collection comes after
 * V8's minimum step (8 MB) instead, about an hour at that rate, at some 20 ms of CPU.
 *
 * V8 reads this flag each time it computes the next limit, so setting it at run time
 * takes effect from the next full collection. A growth the user set on Node's command line
 * is left alone.
 */
import * as v8 from 'node:v8';

export const AGENT_HEAP_GROWING_PERCENT = 25;

/** Sets the agent's heap growth unless Node was started with one; says whether it did. */
export function limitHeapGrowth(execArgv: readonly string[] = process.execArgv, setFlags: (flags: string) => void = v8.setFlagsFromString): boolean {
  if (execArgv.some((a) => a.startsWith('--heap-growing-percent') || a.startsWith('--heap_growing_percent'))) return false;
  setFlags(`--heap-growing-percent=${AGENT_HEAP_GROWING_PERCENT}`);
  return true;
}
