/**
 * The agent's heap growth (src/cli/agent-heap.ts): set at run time unless Node's command
 * line has one, and (in a real Node process, so on this Node's V8) it really makes full
 * collections come sooner for the same garbage: the old generation no longer grows to
 * about four times the live heap before it is collected.
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { AGENT_HEAP_GROWING_PERCENT, collectGarbagePeriodically, limitHeapGrowth } from '../../src/cli/agent-heap.js';

describe('limitHeapGrowth', () => {
  it('sets the growth, and leaves one given on the command line alone', () => {
    const set: string[] = [];
    expect(limitHeapGrowth([], (f) => set.push(f))).toBe(true);
    expect(set).toEqual([`--heap-growing-percent=${AGENT_HEAP_GROWING_PERCENT}`]);
    expect(limitHeapGrowth(['--heap-growing-percent=50'], (f) => set.push(f))).toBe(false);
    expect(limitHeapGrowth(['--heap_growing_percent=50'], (f) => set.push(f))).toBe(false);
    expect(set).toHaveLength(1);
  });

  it('makes V8 collect the old generation sooner when set at run time (a real process)', () => {
    // Keeps about 8 MB alive, and promotes garbage into the old generation (objects kept
    // across a few young collections, then dropped), counting full collections.
    const script = (setFlag: boolean) => `
      const v8 = require('node:v8');
      const { PerformanceObserver, constants } = require('node:perf_hooks');
      if (${setFlag}) v8.setFlagsFromString('--heap-growing-percent=${AGENT_HEAP_GROWING_PERCENT}');
      let majors = 0;
      new PerformanceObserver((list) => { for (const e of list.getEntries()) if (e.detail.kind === constants.NODE_PERFORMANCE_GC_MAJOR) majors++; }).observe({ entryTypes: ['gc'] });
      const live = Array.from({ length: 80000 }, (_, i) => ({ i, s: 'live' + i }));
      let ring = [];
      let round = 0;
      const step = () => {
        for (let k = 0; k < 20; k++) { ring.push(Array.from({ length: 2000 }, (_, i) => ({ i, s: 'g' + i + ':' + round }))); if (ring.length > 60) ring.shift(); }
        if (++round < 150) setImmediate(step); else setTimeout(() => { console.log(JSON.stringify({ majors, live: live.length })); }, 50);
      };
      step();
    `;
    const count = (setFlag: boolean) => {
      const r = spawnSync(process.execPath, ['-e', script(setFlag)], { encoding: 'utf8', timeout: 60_000 });
      expect(r.status, r.stderr).toBe(0);
      return (JSON.parse(r.stdout) as { majors: number }).majors;
    };
    const without = count(false);
    const withFlag = count(true);
    if (process.env.VIGIL_PRINT_GC) process.stdout.write(`full collections: ${without} without, ${withFlag} with the flag\n`);
    expect(withFlag).toBeGreaterThan(without);
  }, 120_000);
});

describe('collectGarbagePeriodically', () => {
  it('collects the old generation in full on its interval, without giving the process a global gc() (a real process)', () => {
    // Garbage promoted slowly (arrays kept across young collections, then dropped), as the
    // running agent promotes it: V8 alone leaves it in the old generation far past this
    // run's second; the agent's periodic collection takes it every 100 ms.
    const script = (periodic: boolean) => `
      const { PerformanceObserver, constants } = require('node:perf_hooks');
      const { collectGarbagePeriodically } = require(${JSON.stringify(new URL('../../src/cli/agent-heap.ts', import.meta.url).pathname)});
      let majors = 0;
      new PerformanceObserver((list) => { for (const e of list.getEntries()) if (e.detail.kind === constants.NODE_PERFORMANCE_GC_MAJOR) majors++; }).observe({ entryTypes: ['gc'] });
      setTimeout(() => {
        majors = 0;
        const stop = ${periodic} ? collectGarbagePeriodically(100) : () => {};
        let ring = [];
        const keep = setInterval(() => { ring.push(Array.from({ length: 500 }, (_, i) => ({ i }))); if (ring.length > 20) ring.shift(); }, 10);
        setTimeout(() => { clearInterval(keep); stop(); console.log(JSON.stringify({ majors, globalGc: typeof globalThis.gc })); }, 1200);
      }, 300);
    `;
    const run = (periodic: boolean) => {
      const r = spawnSync(process.execPath, ['--import', 'tsx', '-e', script(periodic)], { encoding: 'utf8', timeout: 60_000 });
      expect(r.status, r.stderr).toBe(0);
      return JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { majors: number; globalGc: string };
    };
    const periodic = run(true);
    const alone = run(false);
    if (process.env.VIGIL_PRINT_GC) process.stdout.write(`full collections in 1.2 s: ${periodic.majors} periodic, ${alone.majors} without\n`);
    expect(periodic.majors).toBeGreaterThanOrEqual(5);
    expect(alone.majors).toBeLessThan(periodic.majors / 2);
    expect(periodic.globalGc).toBe('undefined');
  }, 120_000);

  it('does nothing when V8 will not expose its collector', () => {
    expect(
      collectGarbagePeriodically(1000, () => {
        throw new Error('flags are frozen');
      }),
    ).toBeUndefined();
  });
});
