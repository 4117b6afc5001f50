/**
 * Parser for the executable paths of a few processes on Windows, from
 *   Get-CimInstance Win32_Process -Filter "ProcessId=1 OR ProcessId=2" |
 *     Select-Object ProcessId,Name,ExecutablePath | ConvertTo-Json -Compress
 *
 * Modelled on Windows PowerShell 5.1 ConvertTo-Json output: one object when one process
 * matched, an array for several, nothing at all for none; ExecutablePath is null for
 * processes the caller may not inspect (other sessions without administrator rights) and
 * for System/Idle. Untrusted text: validated with zod.
 */
import { z } from 'zod';
import type { SourceProblem } from './connection.js';

const Row = z.object({
  ProcessId: z.number().int().nonnegative(),
  Name: z.string().nullish(),
  ExecutablePath: z.string().nullish(),
});
const Doc = z.union([Row, z.array(Row)]);

export interface Win32ProcessRow {
  pid: number;
  name?: string;
  path?: string;
}

export function parseWin32ProcessJson(text: string): { rows: Win32ProcessRow[]; problems: SourceProblem[] } {
  const t = text.replace(/^\uFEFF/, '').trim();
  if (t === '') return { rows: [], problems: [] };
  let doc: unknown;
  try {
    doc = JSON.parse(t);
  } catch (err) {
    return { rows: [], problems: [{ code: 'parse', message: `Win32_Process JSON: not valid JSON (${(err as Error).message})` }] };
  }
  const parsed = Doc.safeParse(doc);
  if (!parsed.success) {
    return { rows: [], problems: [{ code: 'parse', message: `Win32_Process JSON: unexpected shape (${parsed.error.issues[0]?.message ?? 'invalid'})` }] };
  }
  const list = Array.isArray(parsed.data) ? parsed.data : [parsed.data];
  return {
    rows: list.map((r) => {
      const row: Win32ProcessRow = { pid: r.ProcessId };
      if (r.Name) row.name = r.Name;
      if (r.ExecutablePath) row.path = r.ExecutablePath;
      return row;
    }),
    problems: [],
  };
}
