/**
 * The scan check that verifies the code signature of every file inventory found in a pack
 * application's install (its executables and the companion / side-loaded DLLs the pack
 * names) and applies the pack's signer rules (signer-rules.ts) to the results.
 *
 * Windows installs: the portable Authenticode verifier reads each file through the scan
 * target's TargetFs, so `--root DIR` (an offline image, a fixture tree) is verified exactly
 * like the live C:\. The Windows trust adapter (root store, revocation) is asked only on a
 * live target, where the path names a file of this machine.
 *
 * macOS installs: Apple code signatures are checked by codesign and spctl, which only
 * describe the machine they run on, so they run only when the target is this live Mac.
 * Elsewhere (an offline image scanned from Linux) the check says, as an `info` finding,
 * that it did not look, rather than guessing.
 *
 * Use: `runScan({ ..., extraChecks: [installSignatureCheck()] })`.
 */
import * as path from 'node:path';
import type { Finding, Install, Platform } from '../../shared/scan.js';
import type { SignatureVerification } from '../../shared/signature.js';
import type { CommandRunner } from '../os/command-runner.js';
import { joinRel, type RandomAccessFile, type TargetFs } from '../os/target-fs.js';
import type { Pack, PlatformApp } from '../pack/schema.js';
import type { ScanContext } from '../scan.js';
import { hostPlatform } from '../inventory/scan-target.js';
import { makeFinding } from '../verdict/finding.js';
import { verifyAppleCodeSignature } from './apple-code-signature.js';
import type { OsTrustAdapter } from './os-trust.js';
import { evaluateSignature } from './signer-rules.js';
import { NO_FLAGS } from './verification-outcome.js';
import type { ImageDigestCache } from './image-digest-cache.js';

export interface InstallSignatureCheckOptions {
  /** Windows' own opinion (Get-AuthenticodeSignature); asked only for a live Windows target. */
  osTrust?: OsTrustAdapter;
  /** Runs codesign/spctl for a live macOS target; defaults to the target's runner. */
  runner?: CommandRunner;
  /** The OS this process runs on (Apple's tools exist only on macOS); defaults to the real one. */
  hostPlatform?: Platform;
}

export type ScanExtraCheck = (ctx: ScanContext) => Promise<Finding[]>;

/**
 * The target-relative path of a path inventory reported with `fs.displayPath(rel)`.
 * Undefined when the path is not under the target's root.
 */
export function targetRelativePath(fs: TargetFs, shown: string): string | undefined {
  const root = fs.displayPath('');
  if (shown === root) return '';
  if (!shown.startsWith(root)) return undefined;
  const rest = shown.slice(root.length);
  // The root may or may not end with a separator ("C:\", "/", "/mnt/img").
  if (!/[\\/]$/.test(root) && !/^[\\/]/.test(rest)) return undefined;
  return rest.split(/[\\/]+/).filter(Boolean).join('/');
}

function unreadable(shown: string, message: string): SignatureVerification {
  return { format: 'authenticode', path: shown, status: 'unreadable', flags: { ...NO_FLAGS }, extraData: [], signatures: [], error: message };
}

async function verifyTargetPe(
  fs: TargetFs,
  rel: string,
  shown: string,
  now: Date,
  osTrust: OsTrustAdapter | undefined,
  cache: ImageDigestCache | undefined,
): Promise<SignatureVerification> {
  let file: RandomAccessFile;
  let imageDigests: ReadonlyMap<string, Buffer> | undefined;
  try {
    if (cache) {
      const st = await fs.stat(rel);
      imageDigests = cache.lookup(rel, st.size, st.mtimeMs);
    }
    file = await fs.open(rel);
  } catch (err) {
    return unreadable(shown, (err as Error).message);
  }
  try {
    // Loaded here, not at the top: the Authenticode verifier is code that a scan which
    // found nothing to verify never needs.
    const { verifyAuthenticode } = await import('./verify-authenticode.js');
    return await verifyAuthenticode(file, { path: shown, now, ...(imageDigests ? { imageDigests } : {}), ...(osTrust ? { osTrust, hostPath: shown } : {}) });
  } finally {
    await file.close().catch(() => {});
  }
}

/** The packs that describe this install's application on its platform. */
function packsFor(ctx: ScanContext, install: Install): { pack: Pack; spec: PlatformApp }[] {
  const out: { pack: Pack; spec: PlatformApp }[] = [];
  for (const { pack } of ctx.packs) {
    const spec = pack.applications.find((a) => a.id === install.application)?.platforms[install.platform];
    if (spec) out.push({ pack, spec });
  }
  return out;
}

/**
 * The install's files to verify, target-relative, each once: what inventory listed, plus
 * any executable or companion file a pack names that exists in the install folder (a
 * second pack may name a side-loaded DLL the first did not).
 */
async function filesToVerify(fs: TargetFs, install: Install, specs: readonly PlatformApp[]): Promise<{ rel: string; shown: string }[]> {
  const seen = new Map<string, { rel: string; shown: string }>();
  const add = (rel: string, shown: string) => {
    const key = rel.toLowerCase();
    if (!seen.has(key)) seen.set(key, { rel, shown });
  };
  for (const f of install.files) {
    const rel = targetRelativePath(fs, f.path);
    if (rel !== undefined) add(rel, f.path);
  }
  const dir = targetRelativePath(fs, install.location);
  if (dir !== undefined) {
    for (const spec of specs) {
      for (const name of [...spec.executables, ...spec.companionFiles]) {
        const rel = joinRel(dir, name);
        if (seen.has(rel.toLowerCase())) continue;
        try {
          if ((await fs.stat(rel)).type === 'file') add(rel, fs.displayPath(rel));
        } catch {
          // Absent companion files are normal: builds differ in what they ship.
        }
      }
    }
  }
  return [...seen.values()];
}

async function checkWindowsInstall(ctx: ScanContext, install: Install, opts: InstallSignatureCheckOptions): Promise<Finding[]> {
  const packs = packsFor(ctx, install);
  if (!packs.length) return [];
  const fs = ctx.target.fs;
  // The OS adapter reads the file by its host path: only meaningful on the live machine.
  const osTrust = ctx.target.live && (opts.hostPlatform ?? hostPlatform()) === 'windows' ? opts.osTrust : undefined;
  const findings: Finding[] = [];
  for (const { rel, shown } of await filesToVerify(fs, install, packs.map((p) => p.spec))) {
    const result = await verifyTargetPe(fs, rel, shown, ctx.now, osTrust, ctx.imageDigests);
    for (const { pack } of packs) {
      findings.push(
        ...evaluateSignature(result, pack, {
          application: install.application,
          platform: install.platform,
          path: shown,
          observedAt: ctx.now,
          ...(install.user !== undefined ? { user: install.user } : {}),
        }),
      );
    }
  }
  return findings;
}

async function checkMacInstall(ctx: ScanContext, install: Install, opts: InstallSignatureCheckOptions): Promise<Finding[]> {
  const packs = packsFor(ctx, install);
  if (!packs.length) return [];
  const runner = opts.runner ?? ctx.target.runner;
  if (!ctx.target.live || !runner || (opts.hostPlatform ?? hostPlatform()) !== 'macos') {
    return packs.map(({ pack }) =>
      makeFinding({
        category: 'signature',
        severity: 'info',
        title: `The code signature of ${install.applicationName} at ${install.location} was not checked: Apple code signatures are checked with codesign on the Mac itself, not in an offline copy.`,
        packId: pack.id,
        ruleId: 'signature-not-checked',
        application: install.application,
        evidence: { path: install.location, ...(install.user !== undefined ? { user: install.user } : {}) },
        identity: ['signature', pack.id, 'not-checked', install.location, install.user],
        observedAt: ctx.now,
      }),
    );
  }
  // The bundle (its seal covers every nested file) and the companion files on their own,
  // so a finding names the dylib that changed.
  const targets = [install.location, ...install.files.filter((f) => f.role === 'companion' && !f.error).map((f) => f.path)];
  const findings: Finding[] = [];
  for (const p of [...new Set(targets)]) {
    const result = await verifyAppleCodeSignature(runner, path.resolve(p), { path: p });
    for (const { pack } of packs) {
      findings.push(
        ...evaluateSignature(result, pack, {
          application: install.application,
          platform: 'macos',
          path: p,
          observedAt: ctx.now,
          ...(install.user !== undefined ? { user: install.user } : {}),
        }),
      );
    }
  }
  return findings;
}

/**
 * A scan extra check: verifies every install's files and returns the signer-rule findings
 * (one set per pack that describes the application). Never throws for what it reads.
 */
export function installSignatureCheck(opts: InstallSignatureCheckOptions = {}): ScanExtraCheck {
  return async (ctx) => {
    const findings: Finding[] = [];
    for (const install of ctx.installs) {
      // A distribution point's files are installers it serves (MSI, nupkg, DMG): judged by
      // hash; the served application's signature is checked where it is installed.
      if (ctx.packs.some(({ pack }) => pack.applications.find((a) => a.id === install.application)?.role === 'distribution-point')) continue;
      if (install.platform === 'windows') findings.push(...(await checkWindowsInstall(ctx, install, opts)));
      else if (install.platform === 'macos') findings.push(...(await checkMacInstall(ctx, install, opts)));
      // Linux installs: no code-signature scheme to verify.
    }
    return findings;
  };
}
