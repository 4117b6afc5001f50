/**
 * Runs `reg query` through a CommandRunner and turns the result into keys or a plain
 * problem statement; it never throws.
 *
 * Encoding. reg.exe writes to a pipe in the console's code page, converting from UTF-16
 * inside reg.exe: under code page 437 the "ü" of "C:\Users\Jürgen" arrives as byte 0x81,
 * which UTF-8 decoding turns into U+FFFD, and a character the code page lacks ("Ł", CJK) is
 * already "?" when Vigil reads it, so no decoding on our side can bring it back. `cmd /u`
 * does not help: it makes cmd's own built-ins write UTF-16, not the programs it starts. So reg runs
 * as `cmd.exe /d /c chcp 65001 >nul && reg.exe query ...`: the console code page is set to
 * UTF-8 first and reg.exe, started by that cmd, writes UTF-8, which ProcessCommandRunner
 * decodes as UTF-8. (The same approach as pnpm's `setup` on Windows and rage-edit's
 * unicode mode.) ProcessCommandRunner spawns with windowsHide, which gives the child its own
 * hidden console (CREATE_NO_WINDOW), so the code-page change never reaches the terminal a
 * user ran `vigil check` from. If chcp fails, `&&` keeps reg from running and the call
 * reports a failure rather than mis-decoded text.
 *
 * Both programs are named by full path under %SystemRoot%\System32, so a cmd.exe or reg.exe
 * planted in the working directory or on PATH is not run. /d skips cmd AutoRun commands.
 * `/reg:64` asks for the 64-bit registry view even if Vigil runs as a 32-bit process, so
 * HKLM\SOFTWARE is the 64-bit hive and WOW6432Node is reached by its path.
 *
 * Only fixed key paths and SIDs validated by the caller are ever put on this command line:
 * cmd would interpret & | < > ^ % in them.
 */
import type { CommandResult, CommandRunner } from '../../os/command-runner.js';
import { parseRegQuery, type RegKey } from './reg-query.js';

export interface RegQueryOptions {
  /** `/s`: every subkey and value below the key. */
  recurse?: boolean;
  /** Windows folder; defaults to %SystemRoot%, else C:\Windows. */
  systemRoot?: string;
  timeoutMs?: number;
}

export type RegFailureKind = 'not-found' | 'access-denied' | 'not-run' | 'failed';

export type RegQueryOutcome =
  | { ok: true; keys: RegKey[]; problems: string[] }
  | {
      ok: false;
      kind: RegFailureKind;
      /** A plain statement naming the key. */
      message: string;
      /** Keys printed before the failure (e.g. access denied part-way through /s). */
      keys: RegKey[];
      problems: string[];
    };

const UNSAFE_FOR_CMD = /["&|<>^%!\r\n]/;

export function systemRootOf(opts: RegQueryOptions = {}): string {
  return (opts.systemRoot ?? process.env.SystemRoot ?? 'C:\\Windows').replace(/\\+$/, '');
}

/** The command and arguments for `reg query <key>`, as the runner (and a recording) sees them. */
export function regQueryInvocation(key: string, opts: RegQueryOptions = {}): { command: string; args: string[] } {
  if (UNSAFE_FOR_CMD.test(key)) throw new Error(`refusing to pass registry key ${JSON.stringify(key)} through cmd.exe`);
  const sys = `${systemRootOf(opts)}\\System32`;
  const args = ['/d', '/c', 'chcp', '65001', '>nul', '&&', `${sys}\\reg.exe`, 'query', key];
  if (opts.recurse) args.push('/s');
  args.push('/reg:64');
  return { command: `${sys}\\cmd.exe`, args };
}

// reg.exe's English messages (Windows 10/11). Other display languages word them
// differently; those failures are reported as `failed` with reg's own text.
const NOT_FOUND = /unable to find the specified registry key or value/i;
const DENIED = /access is denied/i;

function firstLine(text: string): string {
  return (
    text
      .split(/\r?\n/)
      .map((l) => l.trim())
      .find((l) => l.length > 0) ?? ''
  );
}

function classify(result: CommandResult, errors: string[]): { kind: RegFailureKind; detail: string } {
  if (result.code === null) return { kind: 'not-run', detail: result.error ?? 'reg.exe could not be run' };
  const said = [result.stderr, ...errors].join('\n');
  const detail = firstLine(result.stderr) || (errors[0] ? `ERROR: ${errors[0]}` : `exit code ${result.code}`);
  if (NOT_FOUND.test(said)) return { kind: 'not-found', detail };
  if (DENIED.test(said)) return { kind: 'access-denied', detail };
  return { kind: 'failed', detail };
}

const WORDING: Record<RegFailureKind, string> = {
  'not-found': 'not present',
  'access-denied': 'access denied',
  'not-run': 'reg.exe could not be run',
  failed: 'reg query failed',
};

export async function runRegQuery(runner: CommandRunner, key: string, opts: RegQueryOptions = {}): Promise<RegQueryOutcome> {
  let invocation: { command: string; args: string[] };
  try {
    invocation = regQueryInvocation(key, opts);
  } catch (err) {
    return { ok: false, kind: 'failed', message: `${key}: ${(err as Error).message}`, keys: [], problems: [] };
  }
  let result: CommandResult;
  try {
    result = await runner.run(invocation.command, invocation.args, { timeoutMs: opts.timeoutMs ?? 60_000 });
  } catch (err) {
    // CommandRunner implementations should not throw; one that does is a failed call here.
    result = { code: null, stdout: '', stderr: '', error: (err as Error)?.message ?? String(err) };
  }
  const parsed = parseRegQuery(result.stdout);
  const problems = parsed.problems.map((p) => `${key}: output line ${p.line}: ${p.message}`);
  if (result.code === 0 && parsed.errors.length === 0) return { ok: true, keys: parsed.keys, problems };
  const { kind, detail } = classify(result, parsed.errors);
  return { ok: false, kind, message: `${key}: ${WORDING[kind]} (${detail})`, keys: parsed.keys, problems };
}
