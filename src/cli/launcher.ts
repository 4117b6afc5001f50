/**
 * `vigil` as npm installs it (package.json "bin": dist/cli/vigil.cjs, built by
 * scripts/build-cli.ts): a small CommonJS file, so that `vigil check` and `vigil verify`,
 * which RMM scripts start on every PC again and again, never start Node's ES-module loader
 * (about 8 ms of a 150 ms clean-PC check on Node 20, measured). Those two run straight from
 * their CommonJS files with V8's code cache (command-script.ts); every other command, and
 * these two where no cache folder may be used, go through main.js as before.
 */
import * as path from 'node:path';
import { scriptCacheDir } from './compile-cache.js';
import { loadCommandScript } from './command-script.js';
import { runAsProcess } from './process-main.js';
import { runCommand } from './run-command.js';
import { SCRIPT_COMMANDS } from './script-commands.js';

const name = process.argv[2];
const cacheDir = name !== undefined && SCRIPT_COMMANDS.includes(name) ? scriptCacheDir() : undefined;
if (name !== undefined && cacheDir !== undefined) {
  // __dirname: this file is bundled as CommonJS into dist/cli, beside check.cjs and verify.cjs.
  void runAsProcess(([, ...rest], io) => runCommand(name, () => loadCommandScript(path.join(__dirname, `${name}.cjs`), cacheDir), rest, io));
} else {
  void import('./main.js').then((m) => m.processMain());
}
