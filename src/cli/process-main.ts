/**
 * The CLI as a process: the real stdout, stderr, environment and working folder, SIGINT and
 * SIGTERM as the command's `interrupted`, and the exit code once output has drained (long
 * running commands may leave timers behind on interrupt). Shared by main.js and the
 * launcher (launcher.ts).
 */
import type { CliIo } from './io.js';

export async function runAsProcess(run: (argv: string[], io: CliIo) => Promise<number>): Promise<void> {
  let interrupt: () => void = () => {};
  const interrupted = new Promise<void>((resolve) => (interrupt = resolve));
  process.once('SIGINT', () => interrupt());
  process.once('SIGTERM', () => interrupt());
  const code = await run(process.argv.slice(2), {
    stdout: (t) => process.stdout.write(t),
    stderr: (t) => process.stderr.write(t),
    env: process.env,
    cwd: process.cwd(),
    interrupted,
  });
  process.exitCode = code;
  process.stdout.write('', () => process.exit(code));
}
