/**
 * Every bench prints one table: our figure, the peer's figure on the same work in the same
 * run, and the ratio (ours / peer, so below 1 is better for times, above 1 for rates unless
 * the row says otherwise). Targets are stated in the row, never asserted in tests.
 */
export interface BenchRow {
  measure: string;
  ours: number;
  peer: number;
  unit: string;
  peerName: string;
  /** The target this row is judged against, in words (e.g. "ratio <= 1.3"). */
  target?: string;
  /** Whether the target is met; printed as yes/no. */
  met?: boolean;
}

function fmt(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  if (Math.abs(n) >= 100) return n.toFixed(0);
  if (Math.abs(n) >= 10) return n.toFixed(1);
  return n.toFixed(3);
}

export function printTable(title: string, rows: BenchRow[], notes: string[] = []): void {
  const header = ['measure', 'ours', 'peer', 'peer is', 'ratio', 'target', 'met'];
  const body = rows.map((r) => [
    r.measure,
    `${fmt(r.ours)} ${r.unit}`,
    `${fmt(r.peer)} ${r.unit}`,
    r.peerName,
    r.peer === 0 ? 'n/a' : fmt(r.ours / r.peer),
    r.target ?? '',
    r.met === undefined ? '' : r.met ? 'yes' : 'NO',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) => '| ' + cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ') + ' |';
  const out = [`\n## ${title}\n`, line(header), '|' + widths.map((w) => '-'.repeat(w + 2)).join('|') + '|', ...body.map(line), ...notes.map((n) => `\n${n}`)];
  process.stdout.write(out.join('\n') + '\n');
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
}
