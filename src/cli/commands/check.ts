/**
 * `vigil check [--json] [--root DIR] [--platform windows|macos|linux] [--pack FILE ...] [--no-builtin]`
 *
 * One scan, for people and for RMM scripts. Exit codes: 0 ok, 1 attention, 2 compromised,
 * 3 could not complete (64 for a bad command line or an unreadable pack).
 */
import * as path from 'node:path';
import { EXIT, UsageError, type CliIo } from '../io.js';
import { parseOptions } from '../parse-options.js';
import { loadCommandPacks } from '../pack-options.js';
import { openTarget } from '../../core/inventory/scan-target.js';
import { DISTRIBUTION_POINT_VERSION_SOURCE } from '../../core/inventory/find-installs.js';
import { runScan, type ScanContext } from '../../core/scan.js';
import { packRefusalFinding } from '../../core/pack/refusal-finding.js';
import { installSignatureCheck } from '../../core/signing/install-signature-check.js';
import { exitCodeFor } from '../../core/verdict/compute-verdict.js';
import type { ScanReport, Severity } from '../../shared/scan.js';
import type { TrustedPackKey } from '../../core/pack/pack-signature.js';

const HELP = `usage: vigil check [options]

Scans this PC (or a mounted image / folder with --root) for the software and traces named
by the incident packs, verifies the code signatures of the installs it finds against the
packs' signer rules, and prints the verdict.

options:
  --json                 print one JSON document (host, packs, installs, findings, verdict)
  --root DIR             scan the file system under DIR instead of this PC (offline image)
  --platform NAME        layout of --root: windows, macos or linux (default: detected)
  --pack FILE            also use this incident pack (repeatable)
  --no-builtin           use only the packs named with --pack
  --config FILE          settings file whose packKeys verify signed --pack files
                         (default: machine policy and the per-machine settings file)
  -h, --help             show this help

exit codes: 0 nothing found, 1 action recommended, 2 compromise indicators,
            3 the check could not complete, 64 bad usage or unreadable pack
`;

const MARK: Record<Severity, string> = { compromised: 'RED  ', attention: 'AMBER', unknown: 'GREY ', info: 'info ' };

export function formatHuman(report: ScanReport): string {
  const lines: string[] = [];
  const where = report.target.live ? report.host.hostname : `${report.target.root} (${report.target.platform} layout)`;
  lines.push(`Vigil ${report.agentVersion} checked ${where} with ${report.packs.map((p) => `${p.title} (v${p.version})`).join(', ') || 'no packs'}.`);
  if (report.installs.length === 0) lines.push('No installed copy of the packs\' applications was found.');
  for (const i of report.installs) {
    const what = i.versionSource === DISTRIBUTION_POINT_VERSION_SOURCE ? `(serves ${i.files.length} file${i.files.length === 1 ? '' : 's'})` : (i.version ?? '(version unreadable)');
    lines.push(`found  ${i.applicationName} ${what}${i.user ? ` for ${i.user}` : ''} at ${i.location}`);
  }
  const order: Severity[] = ['compromised', 'unknown', 'attention', 'info'];
  const sorted = [...report.findings].sort((a, b) => order.indexOf(a.severity) - order.indexOf(b.severity));
  for (const f of sorted) {
    lines.push(`${MARK[f.severity]}  ${f.title}`);
    if (f.evidence.sha256) lines.push(`        sha256 ${f.evidence.sha256}`);
    if (f.advice && f.severity !== 'info') lines.push(`        what to do: ${f.advice.text}`);
  }
  for (const n of report.notes) lines.push(`note   ${n}`);
  lines.push(`verdict: ${report.verdict.status.toUpperCase()} - ${report.verdict.summary}`);
  return lines.join('\n') + '\n';
}

/**
 * The trusted pack keys of this machine's settings (machine policy, the settings file or
 * --config FILE), read only when a --pack is given: a signed pack on the command line must
 * verify against them. An unsigned --pack stays the administrator's explicit choice.
 */
async function trustedPackKeys(packs: readonly string[], configFile: string | undefined, io: CliIo): Promise<TrustedPackKey[]> {
  if (packs.length === 0) return [];
  // Loaded only here: a check without --pack needs no settings (start-up, issue 11).
  const { formatConfigProblem, loadEffectiveConfig } = await import('../../core/config/effective.js');
  const eff = await loadEffectiveConfig({
    env: io.env,
    persistLastGood: false,
    ...(configFile !== undefined ? { settingsFile: path.resolve(io.cwd, configFile) } : {}),
  });
  for (const p of eff.problems.filter((p) => p.key === 'packKeys')) io.stderr(`vigil check: ${formatConfigProblem(p)}\n`);
  return eff.config.packKeys;
}

export async function main(argv: string[], io: CliIo): Promise<number> {
  const { values } = parseOptions({
    args: argv,
    options: {
      json: { type: 'boolean', default: false },
      root: { type: 'string' },
      platform: { type: 'string' },
      pack: { type: 'string', multiple: true, default: [] },
      'no-builtin': { type: 'boolean', default: false },
      config: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) {
    io.stdout(HELP);
    return EXIT.ok;
  }
  // The schemas (and zod) load only when an option needs one: a clean-PC check loads none.
  const platform = values.platform === undefined ? undefined : (await import('../../shared/scan.js')).PlatformSchema.safeParse(values.platform);
  if (platform && !platform.success) throw new UsageError(`--platform must be windows, macos or linux, not "${values.platform}"`);
  if (platform && values.root === undefined) throw new UsageError('--platform only applies with --root');

  const { packs, refused } = await loadCommandPacks(values.pack, values['no-builtin'], io, await trustedPackKeys(values.pack, values.config, io));

  const target = await openTarget({
    ...(values.root !== undefined ? { root: path.resolve(io.cwd, values.root) } : {}),
    ...(platform?.success ? { platform: platform.data } : {}),
  });
  if (values.root !== undefined) {
    try {
      const st = await target.fs.stat('');
      if (st.type !== 'directory') throw new UsageError(`--root ${values.root} is not a directory`);
    } catch (err) {
      if (err instanceof UsageError) throw err;
      throw new UsageError(`--root ${values.root}: ${(err as Error).message}`);
    }
  }
  // Signatures of every install found: Authenticode through the target's file system (so
  // --root images are verified too), Windows' own trust verdict only on the live machine.
  // (The Windows adapter loads only there.)
  const signatures = installSignatureCheck(
    target.live && target.platform === 'windows' && target.runner
      ? { osTrust: new (await import('../../core/signing/windows-authenticode-trust.js')).WindowsAuthenticodeTrust(target.runner) }
      : {},
  );
  const refusals = async (ctx: ScanContext) => refused.map((r) => packRefusalFinding(r, ctx.now));
  const report = await runScan({ target, packs, extraChecks: [signatures, refusals] });
  io.stdout(values.json ? JSON.stringify(report, null, 2) + '\n' : formatHuman(report));
  return exitCodeFor(report.verdict.status);
}
