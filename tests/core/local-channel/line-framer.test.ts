import { describe, expect, it } from 'vitest';
import { LineFramer, frame } from '../../../src/core/local-channel/line-framer.js';

describe('LineFramer', () => {
  it('splits lines across chunks and keeps multibyte characters whole', () => {
    const f = new LineFramer(100);
    const bytes = Buffer.from(frame({ a: 'é✓' }) + frame({ b: 2 }));
    const out = [...f.push(bytes.subarray(0, 9)), ...f.push(bytes.subarray(9))];
    expect(out.map((e) => (e.kind === 'line' ? JSON.parse(e.text) : e))).toEqual([{ a: 'é✓' }, { b: 2 }]);
  });

  it('reports an overlong line once, with or without a newline, and then nothing more', () => {
    const f = new LineFramer(10);
    expect(f.push(Buffer.from('12345'))).toEqual([]);
    expect(f.push(Buffer.from('678901'))).toEqual([{ kind: 'overflow', bytes: 11 }]);
    expect(f.push(Buffer.from('x\n'))).toEqual([]);
    const g = new LineFramer(3);
    expect(g.push(Buffer.from('ab\nabcd\nx\n'))).toEqual([{ kind: 'line', text: 'ab' }, { kind: 'overflow', bytes: 4 }]);
  });
});
