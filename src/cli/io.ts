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

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}
