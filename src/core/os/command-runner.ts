/**
 * Running an OS command (reg.exe, codesign, netstat, ipconfig...) behind one small
 * interface, so parsers are tested on recorded real outputs and the live agent runs the
 * real tool. No shell is involved: arguments are passed as an array.
 */
import type { ExecFileException } from 'node:child_process';

export interface CommandResult {
  /** Exit code; null when the process was killed (timeout) or could not start. */
  code: number | null;
  stdout: string;
  stderr: string;
  /** Set when the command could not be started or was killed. */
  error?: string;
}

export interface CommandRunner {
  run(command: string, args: readonly string[], opts?: { timeoutMs?: number; maxBytes?: number }): Promise<CommandResult>;
}

/** Runs real processes. Output is decoded as UTF-8; callers pick flags that produce it. */
export class ProcessCommandRunner implements CommandRunner {
  async run(command: string, args: readonly string[], opts: { timeoutMs?: number; maxBytes?: number } = {}): Promise<CommandResult> {
    // Loaded on first use: node:child_process brings node:net and node:dgram, about 5 ms of
    // a clean-PC `vigil check` that runs no command (issue 11).
    const { execFile } = await import('node:child_process');
    return new Promise((resolve) => {
      execFile(
        command,
        args,
        {
          timeout: opts.timeoutMs ?? 30_000,
          maxBuffer: opts.maxBytes ?? 64 * 1024 * 1024,
          windowsHide: true,
          encoding: 'utf8',
        },
        (err: ExecFileException | null, stdout: string, stderr: string) => {
          if (!err) return resolve({ code: 0, stdout, stderr });
          const e = err as NodeJS.ErrnoException & { code?: number | string; killed?: boolean };
          if (typeof e.code === 'number') return resolve({ code: e.code, stdout, stderr });
          resolve({
            code: null,
            stdout: stdout ?? '',
            stderr: stderr ?? '',
            error: e.killed ? `${command} timed out` : `${command} could not run: ${e.code ?? e.message}`,
          });
        },
      );
    });
  }
}

/**
 * Replays recorded outputs: the key is the command and its arguments joined by spaces.
 * Used by tests and by `--root` scans of an offline image, where a live command would
 * describe the wrong machine. An unrecorded command answers as a missing program would.
 */
export class RecordedCommandRunner implements CommandRunner {
  private readonly recordings: Map<string, CommandResult>;
  readonly calls: string[] = [];

  constructor(recordings: Record<string, CommandResult | string>) {
    this.recordings = new Map(
      Object.entries(recordings).map(([k, v]) => [k, typeof v === 'string' ? { code: 0, stdout: v, stderr: '' } : v]),
    );
  }

  static key(command: string, args: readonly string[]): string {
    return [command, ...args].join(' ');
  }

  async run(command: string, args: readonly string[]): Promise<CommandResult> {
    const key = RecordedCommandRunner.key(command, args);
    this.calls.push(key);
    return this.recordings.get(key) ?? { code: null, stdout: '', stderr: '', error: `${command} could not run: ENOENT` };
  }
}
