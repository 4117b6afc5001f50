/**
 * What a CLI command gets from the outside world, so commands run the same from the real
 * process and from tests (which capture output instead of printing it).
 */
export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** Resolves when the user interrupts (SIGINT/SIGTERM); long-running commands stop then. */
  interrupted: Promise<void>;
}

export type CommandMain = (argv: string[], io: CliIo) => Promise<number>;

/** Exit codes RMM scripts read (docs/DEPLOY.md). */
export const EXIT = {
  ok: 0,
  attention: 1,
  compromised: 2,
  incomplete: 3,
  /** Bad command line or unreadable input named on it. */
  usage: 64,
} as const;

/** Marks a UsageError across copies of the class (a registered symbol is the same everywhere). */
const USAGE_ERROR = Symbol.for('vigil.cli.usage-error');

export class UsageError extends Error {
  readonly [USAGE_ERROR] = true;
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/**
 * Whether `err` is a UsageError, also one from another copy of the class: the bundled CLI
 * runs check and verify from their own CommonJS files (src/cli/command-script.ts), each
 * with its own UsageError, which `instanceof` in main.js would not recognise.
 */
export function isUsageError(err: unknown): err is UsageError {
  return err instanceof UsageError || (typeof err === 'object' && err !== null && (err as { [USAGE_ERROR]?: unknown })[USAGE_ERROR] === true);
}
