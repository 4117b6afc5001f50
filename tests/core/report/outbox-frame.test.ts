import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { decodeFrames, encodeFrame, FRAME_HEADER_BYTES } from '../../../src/core/report/outbox-frame.js';

const rec = (s: string) => Buffer.from(JSON.stringify({ t: 'alert', s }));

describe('outbox record framing', () => {
  it('round-trips records, including empty and binary payloads', () => {
    const payloads = [rec('a'), Buffer.alloc(0), Buffer.from([0, 255, 86, 71, 79, 49]), rec('x'.repeat(10_000))];
    const d = decodeFrames(Buffer.concat(payloads.map(encodeFrame)));
    expect(d.payloads).toEqual(payloads);
    expect(d.damaged).toEqual([]);
    expect(d.tornTail).toBe(false);
  });

  it('drops a record torn at any byte and keeps every record before it', () => {
    const records = [rec('one'), rec('two'), rec('three')];
    const whole = Buffer.concat(records.map(encodeFrame));
    const lastStart = whole.length - encodeFrame(records[2]!).length;
    for (let cut = lastStart + 1; cut < whole.length; cut++) {
      const d = decodeFrames(whole.subarray(0, cut));
      expect(d.payloads).toEqual(records.slice(0, 2));
      expect(d.tornTail).toBe(true);
      expect(d.damaged).toEqual([[lastStart, cut]]);
    }
  });

  it('skips a corrupted record in the middle and recovers the ones after it', () => {
    const records = [rec('one'), rec('two'), rec('three')];
    const frames = records.map(encodeFrame);
    const buf = Buffer.concat(frames);
    const at = frames[0]!.length + FRAME_HEADER_BYTES + 3;
    buf[at] = buf[at]! ^ 0x40; // flip a bit in record two's payload
    const d = decodeFrames(buf);
    expect(d.payloads).toEqual([records[0], records[2]]);
    expect(d.damaged).toEqual([[frames[0]!.length, frames[0]!.length + frames[1]!.length]]);
    expect(d.tornTail).toBe(false);
  });

  it('treats a huge claimed length as damage, not as a record to wait for', () => {
    const good = encodeFrame(rec('ok'));
    const bogus = Buffer.from(good);
    bogus.writeUInt32LE(0xfffffff0, 4);
    const d = decodeFrames(Buffer.concat([bogus, good]));
    expect(d.payloads).toEqual([rec('ok')]);
  });

  it('never throws on arbitrary bytes, and what it returns are whole valid records', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), (bytes) => {
        const d = decodeFrames(Buffer.from(bytes));
        const covered = d.payloads.reduce((n, p) => n + p.length + FRAME_HEADER_BYTES, 0) + d.damaged.reduce((n, [a, b]) => n + b - a, 0);
        return covered === bytes.length;
      }),
    );
  });

  it('keeps the valid prefix of any sequence truncated anywhere', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 64 }), { minLength: 1, maxLength: 8 }), fc.nat(), (payloads, cutSeed) => {
        const frames = payloads.map((p) => encodeFrame(p));
        const whole = Buffer.concat(frames);
        const cut = cutSeed % (whole.length + 1);
        let whole_records = 0;
        for (let n = 0, i = 0; i < frames.length && n + frames[i]!.length <= cut; n += frames[i]!.length, i++) whole_records++;
        const d = decodeFrames(whole.subarray(0, cut));
        expect(d.payloads.slice(0, whole_records).map((p) => Buffer.from(p))).toEqual(payloads.slice(0, whole_records).map((p) => Buffer.from(p)));
      }),
    );
  });
});
