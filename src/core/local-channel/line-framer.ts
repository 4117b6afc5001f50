/**
 * Newline-delimited framing with a hard limit per line, for the local channel. A peer that
 * sends more than `maxLineBytes` without a newline gets `overflow` once and nothing more:
 * the caller closes that connection, so a client cannot make the service buffer without
 * bound.
 */
export type FrameEvent = { kind: 'line'; text: string } | { kind: 'overflow'; bytes: number };

export class LineFramer {
  private parts: Buffer[] = [];
  private size = 0;
  private dead = false;

  constructor(private readonly maxLineBytes: number) {}

  /** Feeds a chunk; returns the complete lines (and an overflow, after which nothing more). */
  push(chunk: Buffer): FrameEvent[] {
    if (this.dead) return [];
    const out: FrameEvent[] = [];
    let start = 0;
    for (let nl = chunk.indexOf(0x0a, start); nl !== -1; nl = chunk.indexOf(0x0a, start)) {
      const piece = chunk.subarray(start, nl);
      if (this.size + piece.length > this.maxLineBytes) return this.overflow(out, this.size + piece.length);
      const line = this.parts.length ? Buffer.concat([...this.parts, piece]) : piece;
      this.parts = [];
      this.size = 0;
      out.push({ kind: 'line', text: line.toString('utf8') });
      start = nl + 1;
    }
    const rest = chunk.subarray(start);
    if (this.size + rest.length > this.maxLineBytes) return this.overflow(out, this.size + rest.length);
    if (rest.length) {
      this.parts.push(Buffer.from(rest));
      this.size += rest.length;
    }
    return out;
  }

  private overflow(out: FrameEvent[], bytes: number): FrameEvent[] {
    this.dead = true;
    this.parts = [];
    this.size = 0;
    out.push({ kind: 'overflow', bytes });
    return out;
  }
}

/** One message as one line. JSON.stringify escapes newlines inside strings, so a line is a message. */
export function frame(message: unknown): string {
  return JSON.stringify(message) + '\n';
}
