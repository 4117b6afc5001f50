/**
 * Parser for `ps -o pid=,comm= -p PID[,PID...]` on macOS, which prints the full path of
 * each process's executable as its command (BSD ps: comm is the executable path, e.g.
 * "/Applications/3CX Desktop App.app/Contents/MacOS/3CX Desktop App"). Modelled on macOS
 * 13/14 output: the pid right-aligned, one space, then the path (which may contain spaces).
 * Also accepts the Linux procps form, where comm is the short name.
 */
import type { SourceProblem } from './connection.js';

export function parsePsPidComm(text: string): { commands: Map<number, string>; problems: SourceProblem[] } {
  const commands = new Map<number, string>();
  let bad = 0;
  let first = '';
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.trim() === '') continue;
    const m = /^\s*(\d+)\s(.*\S)\s*$/.exec(line);
    if (!m) {
      if (bad++ === 0) first = `line ${i + 1}: ${line.trim().slice(0, 100)}`;
      continue;
    }
    commands.set(Number(m[1]), m[2]!.trim());
  }
  return { commands, problems: bad > 0 ? [{ code: 'parse', message: `ps: skipped ${bad} malformed line(s), first at ${first}`, count: bad }] : [] };
}
