/**
 * `vigil config show [--json] [--config FILE] [--state-dir DIR]`
 *
 * Prints the effective configuration (src/core/config/effective.ts) with each value's
 * source, the enrolment state, and every problem naming the setting and the source.
 * Secrets (the enrolment token) are masked. It only reads: the last-good file is not
 * rewritten. Exit codes: 0 no problems, 1 some values were ignored or a source is
 * unreadable (the agent still runs on the rest), 64 bad usage.
 */
import * as path from 'node:path';
import { EXIT, UsageError, type CliIo } from '../io.js';
import { parseOptions } from '../parse-options.js';
import {
  displayValue,
  enrolmentState,
  formatConfigProblem,
  loadEffectiveConfig,
  type EffectiveConfig,
  type EnrolmentState,
  type LoadEffectiveConfigOptions,
} from '../../core/config/effective.js';
import { SETTING_KEYS } from '../../core/config/sources.js';
import { FileCredentialStore } from '../../core/report/credential-store.js';

const HELP = `usage: vigil config show [options]

Shows the settings the agent uses on this machine and where each one comes from, in
precedence order: machine policy (Windows HKLM\\SOFTWARE\\Policies\\Vigil, macOS managed
preferences com.vigil.agent, Linux /etc/vigil/policy.json), the per-machine settings
file, the last good configuration (only for values that are bad or unreadable now), and
the defaults. The enrolment token is masked.

options:
  --json             print one JSON document
  --config FILE      the per-machine settings file to read instead of the usual one
  --state-dir DIR    where the last good configuration and the device credential are
  -h, --help         show this help

exit codes: 0 no problems, 1 some values were ignored (each is listed), 64 bad usage
`;

const ENROLMENT_TEXT: Record<EnrolmentState, string> = {
  enrolled: 'enrolled (the enrolment token is no longer used)',
  pending: 'not enrolled yet; will enrol with the configured token',
  'missing-token': 'not enrolled and no enrolment token is configured',
  'no-server': 'no server configured; the agent only checks this PC',
};

export interface ConfigCommandDeps {
  /** Overrides for the loader (tests give recorded sources). */
  load?: Partial<LoadEffectiveConfigOptions>;
}

function showValue(v: unknown): string {
  if (v === undefined) return '(not set)';
  return typeof v === 'string' ? v : JSON.stringify(v);
}

export function formatConfigHuman(eff: EffectiveConfig, enrolment: EnrolmentState): string {
  const lines: string[] = ['Vigil effective configuration', ''];
  const width = Math.max(...SETTING_KEYS.map((k) => k.length));
  for (const key of SETTING_KEYS) {
    const origin = eff.origins[key];
    const value = showValue(displayValue(key, (eff.config as unknown as Record<string, unknown>)[key]));
    const from = origin.kind === 'last-good' ? `${origin.source}, originally ${origin.from ?? 'unknown'}` : origin.source;
    lines.push(`  ${key.padEnd(width)}  ${value}    [${from}]`);
  }
  lines.push('', 'sources (highest precedence first):');
  for (const s of eff.sources) lines.push(`  ${s.state.padEnd(7)}  ${s.name}${s.problem ? `: ${s.problem}` : ''}`);
  lines.push(`  last good configuration: ${eff.lastGood.file}`);
  lines.push('', `enrolment: ${ENROLMENT_TEXT[enrolment]}`);
  if (eff.problems.length) {
    lines.push('', 'problems:');
    for (const p of eff.problems) lines.push(`  ${formatConfigProblem(p)}`);
  }
  return lines.join('\n') + '\n';
}

export function configJson(eff: EffectiveConfig, enrolment: EnrolmentState): unknown {
  return {
    settings: Object.fromEntries(
      SETTING_KEYS.map((key) => {
        const o = eff.origins[key];
        const value = displayValue(key, (eff.config as unknown as Record<string, unknown>)[key]);
        return [key, { ...(value !== undefined ? { value } : {}), source: o.kind, sourceName: o.source, ...(o.from ? { originally: o.from } : {}) }];
      }),
    ),
    sources: eff.sources,
    lastGoodFile: eff.lastGood.file,
    enrolment,
    problems: eff.problems,
  };
}

export function main(argv: string[], io: CliIo): Promise<number> {
  return configMain(argv, io, {});
}

export async function configMain(argv: string[], io: CliIo, deps: ConfigCommandDeps): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === '--help' || sub === '-h' || sub === 'help') {
    io.stdout(HELP);
    return EXIT.ok;
  }
  if (sub !== 'show') throw new UsageError(sub === undefined ? 'missing subcommand (show)' : `unknown subcommand "${sub}" (show)`);
  const { values } = parseOptions({
    args: rest,
    options: {
      json: { type: 'boolean', default: false },
      config: { type: 'string' },
      'state-dir': { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) {
    io.stdout(HELP);
    return EXIT.ok;
  }
  const eff = await loadEffectiveConfig({
    env: io.env,
    ...(values.config ? { settingsFile: path.resolve(io.cwd, values.config) } : {}),
    ...(values['state-dir'] ? { stateDir: path.resolve(io.cwd, values['state-dir']) } : {}),
    ...deps.load,
    persistLastGood: false,
  });
  const stateDir = eff.config.stateDir ?? path.dirname(eff.lastGood.file);
  const credential = await new FileCredentialStore(stateDir).load();
  const enrolment = enrolmentState(eff.config, credential);
  if (values.json) io.stdout(JSON.stringify(configJson(eff, enrolment), null, 2) + '\n');
  else io.stdout(formatConfigHuman(eff, enrolment));
  return eff.problems.length ? EXIT.attention : EXIT.ok;
}
