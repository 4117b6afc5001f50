/** VIGIL_BENCH_TARGETS as the ingest bench reads it (bench/ingest-targets.ts). */
import { describe, expect, it } from 'vitest';
import { parseTargets, TargetListError } from '../../bench/ingest-targets.js';

describe('parseTargets', () => {
  it('runs every target when unset or empty', () => {
    expect(parseTargets(undefined)).toEqual(['sqlite', 'pg1', 'pg2']);
    expect(parseTargets(' ')).toEqual(['sqlite', 'pg1', 'pg2']);
  });

  it('keeps the order given, without repeats or blanks', () => {
    expect(parseTargets('pg2, sqlite,,pg2')).toEqual(['pg2', 'sqlite']);
  });

  it('names unknown targets and lists the known ones', () => {
    expect(() => parseTargets('sqlite,pg3,mysql')).toThrow(TargetListError);
    expect(() => parseTargets('sqlite,pg3')).toThrow(/"pg3".*known: sqlite, pg1, pg2/);
  });
});
