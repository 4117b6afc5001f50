/**
 * The commands RMM scripts start on every PC, again and again (`vigil check`,
 * `vigil verify`), which the bundle also ships as one CommonJS file each, run with V8's
 * code cache (command-script.ts, scripts/build-cli.ts). One list for the build, main.js
 * and the launcher.
 */
export const SCRIPT_COMMANDS: readonly string[] = ['check', 'verify'];
