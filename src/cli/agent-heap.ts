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
 *
 * The growth alone does not bound the first hour: the last full collections at start are
 * V8's memory reducer's, after which the next limit is the live heap plus the minimum step
 * whatever the growth (V8's heap controller, "minimal" growing mode). Heap snapshots of a
 * 30-minute soak (issue 11) showed the live heap flat after a full collection (+0.1 MB/h
 * besides compiled code, which settles) while heapUsed rose 7 MB/h: garbage promoted by
 * objects that outlive a young collection (about one every 17 s at the agent's allocation
 * rate: the scan report kept for a scan interval, timers, DNS and hosts-file results). So
 * `vigil run` also has V8 collect in full every 5 minutes (collectGarbagePeriodically):
 * 15 to 35 ms of CPU each time, and the old generation then holds at most 5 minutes of that
 * garbage (about 0.6 MB) instead of 8 MB. In a 25-minute soak the heap stayed at 14.3 MB
 * (it grew 2.8 MB without), the live heap after each collection 11.7 to 12.0 MB.
 */
import * as v8 from 'node:v8';
import * as vm from 'node:vm';

export const AGENT_HEAP_GROWING_PERCENT = 25;

/** Sets the agent's heap growth unless Node was started with one; says whether it did. */
export function limitHeapGrowth(execArgv: readonly string[] = process.execArgv, setFlags: (flags: string) => void = v8.setFlagsFromString): boolean {
  if (execArgv.some((a) => a.startsWith('--heap-growing-percent') || a.startsWith('--heap_growing_percent'))) return false;
  setFlags(`--heap-growing-percent=${AGENT_HEAP_GROWING_PERCENT}`);
  return true;
}

/** How often the running agent has V8 collect its old generation in full. */
export const AGENT_FULL_GC_INTERVAL_MS = 5 * 60_000;

/**
 * A full collection every `intervalMs`, on an unref'd timer; returns what stops it, or
 * undefined when V8 would not expose its collector (nothing else changes then).
 */
export function collectGarbagePeriodically(intervalMs: number = AGENT_FULL_GC_INTERVAL_MS, setFlags: (flags: string) => void = v8.setFlagsFromString): (() => void) | undefined {
  let gc: unknown;
  try {
    // Exposed to a context made for it only: the agent's own global stays without gc().
    setFlags('--expose-gc');
    gc = vm.runInNewContext('typeof gc === "function" ? gc : undefined');
  } catch {
    gc = undefined;
  }
  if (typeof gc !== 'function') return undefined;
  const collect = gc as () => void;
  const timer = setInterval(() => collect(), intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
