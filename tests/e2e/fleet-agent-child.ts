/**
 * A real `vigil run` for the fleet end-to-end test: the command's own runMain (effective
 * settings from --config, the real assembly, the real agent, reporter, outbox, fleet
 * module and transport), with the two seams `vigil run` has for tests: the scan looks at
 * a fixture tree laid out like a Windows disk (as `vigil check --root` does) instead of
 * this Linux machine, and the connection watch stays off the host's sockets.
 *
 *   node --import tsx tests/e2e/fleet-agent-child.ts '{"config":"...","root":"...","hardwareId":"..."}'
 */
import { runMain } from '../../src/cli/commands/run.js';
import type { CliIo } from '../../src/cli/io.js';
import { openTarget } from '../../src/core/inventory/scan-target.js';
import { runScan } from '../../src/core/scan.js';

const cfg = JSON.parse(process.argv[2] ?? '{}') as { config: string; root: string; hardwareId: string };

let interrupt: () => void = () => {};
const interrupted = new Promise<void>((resolve) => (interrupt = resolve));
process.once('SIGTERM', () => interrupt());
const io: CliIo = { stdout: (t) => process.stdout.write(t), stderr: (t) => process.stderr.write(t), env: process.env, cwd: process.cwd(), interrupted };

const code = await runMain(['--config', cfg.config], io, {
  scanner: async (_config, _log, packs) => async () => runScan({ target: await openTarget({ root: cfg.root, platform: 'windows' }), packs: packs(), extraChecks: [] }),
  watcher: () => undefined,
  stableIdProbe: async () => ({ hardware: cfg.hardwareId }),
});
process.stdout.write('', () => process.exit(code));
