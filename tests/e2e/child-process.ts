/**
 * Real child processes for the end-to-end tests (`node --import tsx SCRIPT ...` from the
 * repository root, or plain `node BUNDLE.mjs ...`): stdout kept as lines, stderr as text, a bounded wait for a line, and
 * every child still running SIGKILLed after each test.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach } from 'vitest';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export interface ChildProc {
  child: ChildProcess;
  /** Complete stdout lines so far. */
  out: string[];
  /** Everything on stderr so far. */
  err(): string;
  exited: Promise<number | null>;
  /** The first stdout line matching `re`, waiting at most `ms`; throws with both streams' tails. */
  waitFor(re: RegExp, ms?: number): Promise<RegExpMatchArray>;
}

export interface StartOptions {
  /** false: run `script` with plain Node (an already bundled .mjs), not through tsx. */
  tsx?: boolean;
}

/** Call at the top of a test file: returns `start`, and kills what it started after each test. */
export function childProcesses(): (script: string, args: string[], env?: NodeJS.ProcessEnv, opts?: StartOptions) => ChildProc {
  const running = new Set<ChildProcess>();
  afterEach(() => {
    for (const c of running) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    running.clear();
  });
  return (script, args, env = {}, opts = {}) => {
    const loader = opts.tsx === false ? [] : ['--import', 'tsx'];
    const child = spawn(process.execPath, [...loader, script, ...args], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    running.add(child);
    const out: string[] = [];
    let buf = '';
    let err = '';
    const waiters: Array<() => void> = [];
    child.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      const parts = buf.split('\n');
      buf = parts.pop()!;
      out.push(...parts);
      for (const w of waiters.splice(0)) w();
    });
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    return {
      child,
      out,
      err: () => err,
      exited,
      async waitFor(re, ms = 20_000) {
        const end = Date.now() + ms;
        for (;;) {
          for (const line of out) {
            const m = re.exec(line);
            if (m) return m;
          }
          if (Date.now() > end || child.exitCode !== null) throw new Error(`no line matching ${re} (exit ${child.exitCode}); stdout:\n${out.join('\n')}\nstderr:\n${err.slice(-2000)}`);
          await new Promise<void>((r) => {
            waiters.push(r);
            setTimeout(r, 100);
          });
        }
      },
    };
  };
}
