/**
 * Runs one loaded command and turns what it throws into the exit code RMM scripts read: a
 * usage error is 64 with its message, anything else 3 ("could not complete") with the
 * stack. Shared by main.js and the launcher (launcher.ts), so both answer alike.
 */
import { EXIT, isUsageError, type CliIo, type CommandMain } from './io.js';

export interface LoadedCommand {
  main: CommandMain;
  /** After the command has run: keeps its compiled code for the next run (command-script.ts). */
  saveCache?: () => boolean;
}

export async function runCommand(name: string, load: () => Promise<LoadedCommand> | LoadedCommand, argv: string[], io: CliIo): Promise<number> {
  try {
    const mod = await load();
    const code = await mod.main(argv, io);
    mod.saveCache?.();
    return code;
  } catch (err) {
    if (isUsageError(err)) {
      io.stderr(`vigil ${name}: ${err.message}\n`);
      return EXIT.usage;
    }
    io.stderr(`vigil ${name}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    return EXIT.incomplete;
  }
}
