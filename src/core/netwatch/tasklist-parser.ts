/**
 * Parser for Windows `tasklist /fo csv /nh` (optionally with `/fi "PID eq N"`).
 *
 * Modelled on Windows 10/11 output (en-US and de-DE; recorded shapes in
 * tests/fixtures/netwatch/windows/): one quoted CSV row per process,
 *   "Image Name","PID","Session Name","Session#","Mem Usage"
 *   "svchost.exe","1104","Services","0","12,345 K"
 * with the session name and the memory figure localized. Only the first two columns are
 * used. When a filter matches nothing tasklist prints one localized "INFO: ..." line,
 * which is not CSV and is skipped.
 */
import type { SourceProblem } from './connection.js';

/** Splits one CSV row with double-quoted fields ("" is a literal quote); null if malformed. */
export function splitCsvRow(line: string): string[] | null {
  const out: string[] = [];
  let i = 0;
  while (i < line.length) {
    if (line[i] !== '"') {
      // Unquoted field (tasklist never writes one, but CSV allows it).
      const comma = line.indexOf(',', i);
      const end = comma < 0 ? line.length : comma;
      out.push(line.slice(i, end));
      i = end + 1;
      if (comma < 0) return out;
      continue;
    }
    let value = '';
    i++;
    for (;;) {
      const q = line.indexOf('"', i);
      if (q < 0) return null; // unterminated quote: a truncated row
      value += line.slice(i, q);
      if (line[q + 1] === '"') {
        value += '"';
        i = q + 2;
        continue;
      }
      i = q + 1;
      break;
    }
    out.push(value);
    if (i >= line.length) return out;
    if (line[i] !== ',') return null;
    i++;
  }
  return out;
}

export function parseTasklistCsv(text: string): { names: Map<number, string>; problems: SourceProblem[] } {
  const names = new Map<number, string>();
  let bad = 0;
  let firstBad = '';
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const t = lines[i]!.trim();
    if (!t.startsWith('"')) continue; // blank, or the localized "no tasks" message
    const cells = splitCsvRow(t);
    const pid = cells && cells.length >= 2 && /^\d+$/.test(cells[1]!) ? Number(cells[1]) : NaN;
    if (!cells || !Number.isSafeInteger(pid) || cells[0] === '') {
      if (bad++ === 0) firstBad = `line ${i + 1}: ${t.slice(0, 100)}`;
      continue;
    }
    names.set(pid, cells[0]!);
  }
  const problems: SourceProblem[] = bad > 0 ? [{ code: 'parse', message: `tasklist: skipped ${bad} malformed row(s), first at ${firstBad}`, count: bad }] : [];
  return { names, problems };
}
