/**
 * `vigil server ...` run in this process, as src/cli/main.ts runs it, with its output
 * captured: exit code, stdout, stderr (a usage error is exit 64 with its message).
 */
import { main } from '../../../src/cli/commands/server.js';
import { UsageError, type CliIo } from '../../../src/cli/io.js';

export interface ServerCliRun {
  out: { stdout: string; stderr: string };
  io: CliIo;
  /** What Ctrl-C does to `vigil server start`. */
  interrupt: () => void;
}

export function serverCliIo(cwd: string, env: NodeJS.ProcessEnv = {}): ServerCliRun {
  const out = { stdout: '', stderr: '' };
  let interrupt: () => void = () => {};
  const interrupted = new Promise<void>((r) => (interrupt = r));
  const io: CliIo = { stdout: (t) => (out.stdout += t), stderr: (t) => (out.stderr += t), env, cwd, interrupted };
  return { out, io, interrupt };
}

export async function runServerCli(argv: string[], cwd: string, env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const r = serverCliIo(cwd, env);
  try {
    return { code: await main(argv, r.io), ...r.out };
  } catch (err) {
    if (err instanceof UsageError) return { code: 64, stdout: r.out.stdout, stderr: err.message };
    throw err;
  }
}

/** Starts `vigil server start ARGS` in this process; resolves once it listens. */
export async function startServerCli(argv: string[], cwd: string, env: NodeJS.ProcessEnv = {}): Promise<{ url: string; run: ServerCliRun; done: Promise<number> }> {
  const run = serverCliIo(cwd, env);
  const done = main(['start', ...argv], run.io);
  for (let i = 0; i < 500 && !/listening on http/.test(run.out.stdout); i++) {
    const early = await Promise.race([done.then((c) => c), new Promise<undefined>((res) => setTimeout(() => res(undefined), 20))]);
    if (early !== undefined) throw new Error(`vigil server start exited ${early}: ${run.out.stderr}`);
  }
  const m = /listening on (https?:\/\/127\.0\.0\.1:\d+)/.exec(run.out.stdout);
  if (!m) throw new Error(`vigil server start did not listen within 10 s: ${run.out.stderr}`);
  return { url: m[1]!, run, done };
}
