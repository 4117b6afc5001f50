/**
 * macOS code signatures through Apple's own tools (there is no maintained JS reader of
 * Mach-O signatures): `codesign -dv` for who signed it (authority chain, Team ID, CDHash,
 * hardened runtime, timestamp), `codesign --verify --deep --strict` for whether the seal
 * still matches the bundle, and `spctl --assess` for Gatekeeper's verdict (notarization).
 * Returns the same SignatureVerification shape as the Authenticode verifier.
 *
 * Commands go through a CommandRunner, so tests replay recorded outputs
 * (tests/fixtures/macos/codesign/) and `--root` scans of an offline image never describe
 * the wrong machine. Never throws.
 */
import type { CommandRunner } from '../os/command-runner.js';
import type { SignatureEntry, SignatureStatus, SignatureVerification } from '../../shared/signature.js';
import { parseCodesignDisplay, parseCodesignTime, parseCodesignVerify, parseSpctl, type CodesignVerifyOutcome } from './codesign-output.js';
import { NO_FLAGS } from './verification-outcome.js';

export interface AppleCommands {
  display: { command: string; args: string[] };
  verify: { command: string; args: string[] };
  assess: { command: string; args: string[] };
}

/** The commands run for a path; exported so recordings can be keyed by them. */
export function appleCodeSignatureCommands(hostPath: string): AppleCommands {
  return {
    display: { command: 'codesign', args: ['-dv', '--verbose=4', hostPath] },
    verify: { command: 'codesign', args: ['--verify', '--deep', '--strict', '--verbose=2', hostPath] },
    assess: { command: 'spctl', args: ['--assess', '-vv', '--type', 'exec', hostPath] },
  };
}

const CS_RUNTIME = 0x10000;

const STATUS_BY_VERIFY: Record<CodesignVerifyOutcome, SignatureStatus> = {
  valid: 'valid',
  unsigned: 'unsigned',
  modified: 'digest-mismatch',
  revoked: 'bad-signature',
  invalid: 'bad-signature',
};

export interface AppleVerifyOptions {
  /** How the file is named in the result; defaults to hostPath. */
  path?: string;
  /** Ask Gatekeeper (spctl) too; on by default. */
  gatekeeper?: boolean;
  timeoutMs?: number;
}

export async function verifyAppleCodeSignature(runner: CommandRunner, hostPath: string, opts: AppleVerifyOptions = {}): Promise<SignatureVerification> {
  const result: SignatureVerification = {
    format: 'apple-codesign',
    path: opts.path ?? hostPath,
    status: 'unsupported',
    flags: { ...NO_FLAGS },
    extraData: [],
    signatures: [],
  };
  const cmds = appleCodeSignatureCommands(hostPath);
  const run = async (c: { command: string; args: string[] }) => {
    try {
      return await runner.run(c.command, c.args, { timeoutMs: opts.timeoutMs ?? 120_000, maxBytes: 4 * 1024 * 1024 });
    } catch (err) {
      return { code: null, stdout: '', stderr: '', error: `${c.command} could not run: ${(err as Error).message}` };
    }
  };

  const shown = await run(cmds.display);
  if (shown.error) {
    result.error = shown.error;
    return result;
  }
  const display = parseCodesignDisplay(`${shown.stderr}\n${shown.stdout}`);
  if (display.notSigned) {
    result.status = 'unsigned';
    return result;
  }
  if (shown.code !== 0 || display.error) {
    const message = display.error ?? `codesign -dv exited ${shown.code}`;
    result.status = /No such file|Permission denied|Operation not permitted/i.test(message) ? 'unreadable' : 'malformed';
    result.error = message;
    return result;
  }
  // codesign prints Identifier and CDHash for every signature it can read (ad-hoc ones
  // too); output without both is not codesign's, so nothing in it is trusted.
  if (!display.identifier || !display.cdHash) {
    result.status = 'malformed';
    result.error = `codesign -dv printed no ${display.identifier ? 'CDHash' : 'Identifier'}: not a signature display`;
    return result;
  }

  const verified = await run(cmds.verify);
  const verify = verified.error
    ? { outcome: 'invalid' as const, message: verified.error }
    : parseCodesignVerify(verified.code, `${verified.stderr}\n${verified.stdout}`);
  result.status = STATUS_BY_VERIFY[verify.outcome];
  result.flags.adHoc = display.adHoc;

  const hardenedRuntime = display.codeDirectoryFlags?.includes('runtime') || ((display.codeDirectoryFlagsValue ?? 0) & CS_RUNTIME) !== 0;
  result.apple = { hardenedRuntime, notarization: 'unknown' };
  if (display.identifier) result.apple.identifier = display.identifier;
  if (display.format) result.apple.format = display.format;
  if (display.cdHash) result.apple.cdHash = display.cdHash;
  if (display.teamId) result.apple.teamId = display.teamId;
  if (display.runtimeVersion) result.apple.runtimeVersion = display.runtimeVersion;
  if (verify.message) result.apple.verifyMessage = verify.message;

  const authorities = display.authorities;
  const entry: SignatureEntry = {
    index: 0,
    digestAlgorithm: display.hashType ?? 'unknown',
    digestMatches: verify.outcome === 'valid',
    signatureValid: verify.outcome === 'valid' || verify.outcome === 'modified',
    chain: {
      status: authorities.length && /^Apple Root CA/.test(authorities[authorities.length - 1]!) ? 'complete' : 'incomplete',
      certificates: authorities.map((a) => ({ subject: a, commonName: a })),
    },
    problems: verify.outcome === 'valid' ? [] : [verify.message],
  };
  if (display.cdHash) entry.signedDigest = display.cdHash;
  if (authorities[0]) entry.signer = { subject: authorities[0], commonName: authorities[0], ...(authorities[1] ? { issuer: authorities[1] } : {}) };
  if (display.teamId) entry.teamId = display.teamId;
  if (display.timestamp) {
    const time = parseCodesignTime(display.timestamp);
    entry.timestamp = { kind: 'rfc3161', text: display.timestamp, verified: verify.outcome === 'valid', ...(time ? { time: time.toISOString() } : {}) };
  } else if (display.signedTime) {
    const time = parseCodesignTime(display.signedTime);
    if (time) entry.signingTime = time.toISOString();
  }
  if (display.adHoc) entry.problems.push('ad-hoc signature: sealed, but by no identity');
  result.signatures.push(entry);

  if (opts.gatekeeper !== false && result.status !== 'unsigned') {
    const assessed = await run(cmds.assess);
    const spctl = assessed.error ? undefined : parseSpctl(assessed.code, `${assessed.stderr}\n${assessed.stdout}`);
    if (spctl) {
      result.osTrust = { source: 'macos-gatekeeper', trusted: spctl.accepted, status: spctl.accepted ? 'accepted' : 'rejected', message: spctl.source ?? spctl.message };
      if (spctl.notAnApp) result.osTrust.notApplicable = true;
      if (spctl.origin) result.osTrust.signerSubject = spctl.origin;
      result.apple.notarization = spctl.accepted
        ? spctl.source === 'Notarized Developer ID'
          ? 'notarized'
          : 'developer-id'
        : spctl.notAnApp
          ? 'unknown'
          : 'rejected';
    }
  }
  return result;
}
