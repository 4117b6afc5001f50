#!/usr/bin/env node
/**
 * `vigil`: the headless entry point for IT and RMM scripts. Each subcommand lives in
 * ./commands/<name>.ts and is loaded only when used, so `vigil check` never loads the
 * server's dependencies.
 */
import { enableCompileCache, scriptCacheDir } from './compile-cache.js';
import { EXIT, type CliIo, type CommandMain } from './io.js';
import { runAsProcess } from './process-main.js';
import { runCommand, type LoadedCommand } from './run-command.js';

/**
 * Commands the bundle also ships as one CommonJS file each (dist/cli/<name>.cjs), run with
 * V8's code cache (command-script.ts). Empty here; scripts/build-cli.ts fills it in for the
 * bundle (the sources and tsc's output load every command as an ES module).
 */
const SCRIPT_COMMANDS: readonly string[] = [];

async function loadCommand(name: string, load: () => Promise<{ main: CommandMain }>, env: NodeJS.ProcessEnv): Promise<LoadedCommand> {
  // Without a cache folder (the Electron app, which packs only the .js files; or the user
  // turned compile caches off) the command's ES-module file runs, as everywhere else.
  // The command's environment (the process's, or what a caller such as a test gives it).
  const cacheDir = SCRIPT_COMMANDS.includes(name) ? scriptCacheDir(env) : undefined;
  if (cacheDir === undefined) return load();
  const { loadCommandScript } = await import('./command-script.js');
  return loadCommandScript(fileURLToPath(new URL(`./${name}.cjs`, import.meta.url)), cacheDir);
}

const COMMANDS: Record<string, { summary: string; load: () => Promise<{ main: CommandMain }> }> = {
  check: { summary: 'scan this PC (or --root DIR) against the incident packs', load: () => import('./commands/check.js') },
  verify: { summary: 'verify the Authenticode signature of PE files', load: () => import('./commands/verify.js') },
  watch: { summary: 'watch outbound connections for the packs\' malicious hosts', load: () => import('./commands/watch.js') },
  run: { summary: 'the headless agent: scan, watch and report to the partner backend', load: () => import('./commands/run.js') },
  server: { summary: 'the reference partner backend (start, enrolment tokens)', load: () => import('./commands/server.js') },
  pack: { summary: 'draft from feeds, validate, sign, and make keys for incident packs', load: () => import('./commands/pack.js') },
  config: { summary: 'show the effective settings and where each comes from', load: () => import('./commands/config.js') },
};

function usage(offered: readonly string[]): string {
  const lines = Object.entries(COMMANDS)
    .filter(([name]) => offered.includes(name))
    .map(([name, c]) => `  ${name.padEnd(8)} ${c.summary}`);
  return `usage: vigil <command> [options]\n\ncommands:\n${lines.join('\n')}\n\nRun "vigil <command> --help" for a command's options.\n`;
}

export interface RunCliOptions {
  /** Offer only these commands (the installed tray app offers the endpoint ones). */
  only?: readonly string[];
}

export async function runCli(argv: string[], io: CliIo, opts: RunCliOptions = {}): Promise<number> {
  const [name, ...rest] = argv;
  const offered = opts.only ?? Object.keys(COMMANDS);
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    io.stdout(usage(offered));
    return name ? EXIT.ok : EXIT.usage;
  }
  const command = offered.includes(name) ? COMMANDS[name] : undefined;
  if (!command) {
    io.stderr(`vigil: unknown command "${name}"\n\n${usage(offered)}`);
    return EXIT.usage;
  }
  return runCommand(name, () => loadCommand(name, command.load, io.env), rest, io);
}

/** The CLI as this process (also what the launcher, dist/cli/vigil.cjs, calls). */
export async function processMain(): Promise<void> {
  // Before any command's modules load (Node >= 22.1; a no-op on Node 20).
  enableCompileCache();
  await runAsProcess((argv, io) => runCli(argv, io));
}

import { fileURLToPath } from 'node:url';
import { realpathSync } from 'node:fs';
const invokedDirectly = (() => {
  try {
    return process.argv[1] !== undefined && realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
})();
if (invokedDirectly) void processMain();
