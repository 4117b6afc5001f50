/**
 * `vigil verify FILE... [--json] [--no-os-trust]`: who signed each file, with which
 * certificate, whether the signed digest still matches, and whether the signature carries
 * smuggled data. PE files are verified in pure TypeScript on any OS (Authenticode); on
 * macOS, Mach-O files and .app bundles go to codesign and spctl. On Windows,
 * Get-AuthenticodeSignature adds the OS's own verdict (root trust, revocation) unless
 * --no-os-trust.
 *
 * Exit codes: 0 every file validly signed with nothing smuggled; 1 any file not (unsigned,
 * changed, bad or malformed signature, extra data, unsupported); 64 bad usage or a file
 * that could not be read.
 */
import * as path from 'node:path';
import { EXIT, UsageError, type CliIo } from '../io.js';
import { parseOptions } from '../parse-options.js';
import { ProcessCommandRunner } from '../../core/os/command-runner.js';
import { verifyCodeSignature } from '../../core/signing/verify-code-signature.js';
import { isCleanSignature } from '../../core/signing/verification-outcome.js';
import type { Platform } from '../../shared/scan.js';
import type { CertificateSummary, SignatureEntry, SignatureVerification } from '../../shared/signature.js';

const HELP = `usage: vigil verify FILE... [--json] [--no-os-trust]

Verifies code signatures: Authenticode (PE: .exe, .dll, .sys, .msi is not a PE) on any OS,
Apple code signing (Mach-O, .app) on macOS.

  --json          print one JSON document: { "results": [ ... ] }
  --no-os-trust   Windows: skip Get-AuthenticodeSignature (root trust, revocation)

exit: 0 all valid and clean, 1 any file not, 64 bad usage or unreadable file

environment: VIGIL_VERIFY_HASH_THREAD=1 hashes a large file's SHA-256 on a second
thread while the signature is checked (can be faster on an idle multi-core machine)
`;

function hostPlatform(): Platform {
  return process.platform === 'win32' ? 'windows' : process.platform === 'darwin' ? 'macos' : 'linux';
}

function certLines(c: CertificateSummary, indent: string): string[] {
  const out = [`${indent}subject:    ${c.subject}`];
  if (c.issuer) out.push(`${indent}issuer:     ${c.issuer}`);
  if (c.serial) out.push(`${indent}serial:     ${c.serial}`);
  if (c.sha1) out.push(`${indent}sha1:       ${c.sha1}`);
  if (c.sha256) out.push(`${indent}sha256:     ${c.sha256}`);
  if (c.notBefore || c.notAfter) out.push(`${indent}valid:      ${c.notBefore ?? '?'} to ${c.notAfter ?? '?'}`);
  return out;
}

function signatureLines(s: SignatureEntry): string[] {
  const head = `  signature #${s.index}${s.nestedIn !== undefined ? ` (nested in #${s.nestedIn})` : ''}: ${s.digestAlgorithm}, digest ${
    s.digestMatches ? 'matches' : 'DOES NOT MATCH'
  }, signature ${s.signatureValid ? 'verifies' : 'DOES NOT VERIFY'}`;
  const out = [head];
  if (s.signer) out.push(...certLines(s.signer, '    '));
  else out.push('    signer:     (none)');
  if (s.teamId) out.push(`    team id:    ${s.teamId}`);
  if (s.programName) out.push(`    program:    ${s.programName}`);
  const chain = s.chain.certificates.map((c) => c.commonName ?? c.subject).join(' <- ');
  out.push(`    chain:      ${s.chain.status}${chain ? ` (${chain})` : ''}`);
  if (s.timestamp) {
    const t = s.timestamp;
    out.push(
      `    timestamp:  ${t.time ?? t.text ?? '?'} (${t.kind}${t.signer ? `, by ${t.signer.commonName ?? t.signer.subject}` : ''}, ${t.verified ? 'verified' : 'NOT verified'})`,
    );
  } else {
    out.push('    timestamp:  none');
  }
  for (const p of s.problems) out.push(`    problem:    ${p}`);
  return out;
}

export function formatVerification(r: SignatureVerification): string {
  const lines = [`${r.path}`, `  status:     ${r.status}${r.format !== 'unknown' ? ` (${r.format})` : ''}`];
  if (r.error) lines.push(`  error:      ${r.error}`);
  const flags = Object.entries(r.flags)
    .filter(([, v]) => v)
    .map(([k]) => k);
  lines.push(`  flags:      ${flags.length ? flags.join(', ') : 'none'}`);
  for (const e of r.extraData) {
    lines.push(`  extra data: ${e.length} bytes at offset ${e.offset} (${e.location})${e.sha256 ? ` sha256 ${e.sha256}` : ''}`);
  }
  if (r.apple) {
    const a = r.apple;
    lines.push(
      `  apple:      ${[a.identifier, a.teamId && `team ${a.teamId}`, a.cdHash && `cdhash ${a.cdHash}`, a.hardenedRuntime ? 'hardened runtime' : 'no hardened runtime', `notarization ${a.notarization}`]
        .filter(Boolean)
        .join(', ')}`,
    );
  }
  for (const s of r.signatures) lines.push(...signatureLines(s));
  if (r.osTrust) {
    lines.push(`  os trust:   ${r.osTrust.source}: ${r.osTrust.status}${r.osTrust.message ? ` (${r.osTrust.message})` : ''}`);
  }
  return lines.join('\n') + '\n';
}

export async function main(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseOptions({
    args: argv,
    options: { json: { type: 'boolean' }, 'no-os-trust': { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
    allowPositionals: true,
    strict: true,
  });
  if (values.help) {
    io.stdout(HELP);
    return EXIT.ok;
  }
  if (positionals.length === 0) throw new UsageError('verify needs at least one FILE');

  const platform = hostPlatform();
  const runner = new ProcessCommandRunner();
  // The Windows adapter (and the zod schemas of its PowerShell output) loads only on Windows.
  const osTrust =
    platform === 'windows' && !values['no-os-trust']
      ? new (await import('../../core/signing/windows-authenticode-trust.js')).WindowsAuthenticodeTrust(runner)
      : undefined;
  const results: SignatureVerification[] = [];
  for (const file of positionals) {
    results.push(
      await verifyCodeSignature(path.resolve(io.cwd, file), {
        hostPlatform: platform,
        runner,
        displayPath: file,
        ...(osTrust ? { osTrust } : {}),
        ...(io.env.VIGIL_VERIFY_HASH_THREAD === '1' ? { hashOnWorker: true } : {}),
      }),
    );
  }
  if (values.json) io.stdout(JSON.stringify({ results }, null, 2) + '\n');
  else io.stdout(results.map(formatVerification).join('\n'));

  if (results.some((r) => r.status === 'unreadable')) return EXIT.usage;
  return results.every(isCleanSignature) ? EXIT.ok : EXIT.attention;
}
