/**
 * Windows' own verdict on a file's Authenticode signature, for what the portable verifier
 * cannot know: whether the chain ends at a root in this machine's trust store, revocation,
 * and catalog signing. Runs PowerShell's Get-AuthenticodeSignature (WinVerifyTrust
 * underneath) through the CommandRunner and reads its JSON.
 *
 * Built from the output of Windows PowerShell 5.1 on Windows 10/11: the Signature object's
 * Status enum (Valid, UnknownError, NotSigned, HashMismatch, NotTrusted,
 * NotSupportedFileFormat, Incompatible), StatusMessage, SignatureType (Authenticode,
 * Catalog), IsOSBinary and the X509Certificate2 fields (Subject, Issuer, SerialNumber,
 * Thumbprint). Enums are converted to strings in the script, because ConvertTo-Json writes
 * them as numbers in 5.1; numbers are still accepted.
 */
import { z } from 'zod';
import type { CommandRunner } from '../os/command-runner.js';
import type { OsTrust } from '../../shared/signature.js';
import type { OsTrustAdapter } from './os-trust.js';

const STATUS_NAMES = ['Valid', 'UnknownError', 'NotSigned', 'HashMismatch', 'NotTrusted', 'NotSupportedFileFormat', 'Incompatible'] as const;

const PsCertificateSchema = z
  .object({
    Subject: z.string().nullish(),
    Issuer: z.string().nullish(),
    SerialNumber: z.string().nullish(),
    Thumbprint: z.string().nullish(),
  })
  .loose();

/** One Get-AuthenticodeSignature result as the script below prints it. */
export const PsSignatureSchema = z
  .object({
    Status: z.union([z.string(), z.number().int()]),
    StatusMessage: z.string().nullish(),
    SignatureType: z.union([z.string(), z.number().int()]).nullish(),
    IsOSBinary: z.boolean().nullish(),
    SignerCertificate: PsCertificateSchema.nullish(),
    TimeStamperCertificate: PsCertificateSchema.nullish(),
  })
  .loose();

function psQuote(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

/** The command run for a file; exported so recordings can be keyed by it. */
export function windowsTrustCommand(hostPath: string): { command: string; args: string[] } {
  const script = [
    '[Console]::OutputEncoding = [Text.Encoding]::UTF8',
    `Get-AuthenticodeSignature -LiteralPath ${psQuote(hostPath)} | Select-Object ` +
      "@{n='Status';e={[string]$_.Status}},StatusMessage,@{n='SignatureType';e={[string]$_.SignatureType}},IsOSBinary," +
      "@{n='SignerCertificate';e={$_.SignerCertificate | Select-Object Subject,Issuer,SerialNumber,Thumbprint}}," +
      "@{n='TimeStamperCertificate';e={$_.TimeStamperCertificate | Select-Object Subject,Issuer,SerialNumber,Thumbprint}} " +
      '| ConvertTo-Json -Depth 3 -Compress',
  ].join('; ');
  return { command: 'powershell.exe', args: ['-NoProfile', '-NonInteractive', '-ExecutionPolicy', 'Bypass', '-Command', script] };
}

/** Parses the script's JSON output; undefined when it is not what the script prints. Pure. */
export function parseWindowsTrustJson(stdout: string): OsTrust | undefined {
  let json: unknown;
  try {
    json = JSON.parse(stdout.replace(/^\uFEFF/, '').trim());
  } catch {
    return undefined;
  }
  const parsed = PsSignatureSchema.safeParse(Array.isArray(json) ? json[0] : json);
  if (!parsed.success) return undefined;
  const s = parsed.data;
  const status = typeof s.Status === 'number' ? (STATUS_NAMES[s.Status] ?? `Status${s.Status}`) : s.Status;
  const trust: OsTrust = { source: 'windows-authenticode', trusted: status === 'Valid', status };
  if (s.StatusMessage) trust.message = s.StatusMessage;
  if (s.SignerCertificate?.Subject) trust.signerSubject = s.SignerCertificate.Subject;
  if (s.SignerCertificate?.Thumbprint) trust.signerThumbprint = s.SignerCertificate.Thumbprint.toLowerCase();
  return trust;
}

export class WindowsAuthenticodeTrust implements OsTrustAdapter {
  constructor(
    private readonly runner: CommandRunner,
    private readonly timeoutMs = 60_000,
  ) {}

  async assess(hostPath: string): Promise<OsTrust | undefined> {
    const { command, args } = windowsTrustCommand(hostPath);
    try {
      const r = await this.runner.run(command, args, { timeoutMs: this.timeoutMs, maxBytes: 1024 * 1024 });
      if (r.code !== 0) return undefined;
      return parseWindowsTrustJson(r.stdout);
    } catch {
      return undefined;
    }
  }
}
