/**
 * Runs one `vigil` subcommand as a real process, exactly as src/cli/main.ts does (same io,
 * same SIGINT/SIGTERM handling, same exit codes), for tests and benches that need the
 * server or agent as a separate process:
 *
 *   node --import tsx tests/server/helpers/vigil-command.ts server start --port 0 ...
 *
 * It exists because `server` and `run` are registered in src/cli/main.ts by the lead; once
 * they are, `node --import tsx src/cli/main.ts server start` is equivalent.
 */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { EXIT, UsageError, type CliIo, type CommandMain } from '../../../src/cli/io.js';

const COMMANDS: Record<string, () => Promise<{ main: CommandMain }>> = {
  server: () => import('../../../src/cli/commands/server.js'),
  run: () => import('../../../src/cli/commands/run.js'),
};

export const VIGIL_COMMAND_SCRIPT = fileURLToPath(import.meta.url);

async function processMain(): Promise<void> {
  const [name, ...rest] = process.argv.slice(2);
  const load = name ? COMMANDS[name] : undefined;
  if (!load) {
    process.stderr.write(`usage: vigil-command <${Object.keys(COMMANDS).join('|')}> ...\n`);
    process.exit(EXIT.usage);
  }
  let interrupt: () => void = () => {};
  const interrupted = new Promise<void>((resolve) => (interrupt = resolve));
  process.once('SIGINT', () => interrupt());
  process.once('SIGTERM', () => interrupt());
  const io: CliIo = { stdout: (t) => process.stdout.write(t), stderr: (t) => process.stderr.write(t), env: process.env, cwd: process.cwd(), interrupted };
  let code: number;
  try {
    code = await (await load()).main(rest, io);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`vigil ${name}: ${err.message}\n`);
      code = EXIT.usage;
    } else {
      process.stderr.write(`vigil ${name}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      code = EXIT.incomplete;
    }
  }
  process.stdout.write('', () => process.exit(code));
}

const invokedDirectly = (() => {
  try {
    return process.argv[1] !== undefined && realpathSync(process.argv[1]) === realpathSync(VIGIL_COMMAND_SCRIPT);
  } catch {
    return false;
  }
})();
if (invokedDirectly) void processMain();
