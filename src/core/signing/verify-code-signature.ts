/**
 * One entry point for "verify this file's code signature" on the live machine: PE files go
 * to the portable Authenticode verifier (on every OS), Mach-O files and .app bundles to
 * Apple's tools on macOS. Anything else is `unsupported`. Never throws.
 */
import { open, stat } from 'node:fs/promises';
import type { CommandRunner } from '../os/command-runner.js';
import type { Platform } from '../../shared/scan.js';
import type { SignatureVerification } from '../../shared/signature.js';
import { verifyAppleCodeSignature } from './apple-code-signature.js';
import type { OsTrustAdapter } from './os-trust.js';
import { verifyAuthenticodeFile } from './verify-authenticode.js';

export interface CodeSignatureOptions {
  /** The platform this process runs on (decides whether Apple's tools exist). */
  hostPlatform: Platform;
  /** Runs codesign/spctl on macOS. */
  runner?: CommandRunner;
  /** Windows: Get-AuthenticodeSignature for root trust and revocation. */
  osTrust?: OsTrustAdapter;
  /** How the file is named in the result; defaults to the path given. */
  displayPath?: string;
  now?: Date;
  /** See VerifyAuthenticodeOptions.hashOnWorker (default false). */
  hashOnWorker?: boolean;
}

const MACHO_MAGICS = new Set([0xfeedface, 0xfeedfacf, 0xcefaedfe, 0xcffaedfe, 0xcafebabe, 0xbebafeca]);

async function firstBytes(p: string): Promise<Buffer> {
  const fh = await open(p, 'r');
  try {
    const buf = Buffer.alloc(4);
    const { bytesRead } = await fh.read(buf, 0, 4, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

export async function verifyCodeSignature(hostPath: string, opts: CodeSignatureOptions): Promise<SignatureVerification> {
  const shown = opts.displayPath ?? hostPath;
  const apple = () => verifyAppleCodeSignature(opts.runner!, hostPath, { path: shown });
  try {
    const st = await stat(hostPath);
    if (st.isDirectory()) {
      if (opts.hostPlatform === 'macos' && opts.runner && /\.(app|framework|bundle|appex|plugin|kext)\/?$/i.test(hostPath)) return await apple();
    } else if (st.isFile()) {
      const head = await firstBytes(hostPath);
      const isPe = head.length >= 2 && head[0] === 0x4d && head[1] === 0x5a;
      if (!isPe && head.length === 4 && MACHO_MAGICS.has(head.readUInt32BE(0)) && opts.hostPlatform === 'macos' && opts.runner) return await apple();
    }
  } catch {
    // verifyAuthenticodeFile reports the file as unreadable, with the reason.
  }
  return verifyAuthenticodeFile(hostPath, {
    path: shown,
    ...(opts.osTrust ? { osTrust: opts.osTrust } : {}),
    ...(opts.now ? { now: opts.now } : {}),
    ...(opts.hashOnWorker ? { hashOnWorker: true } : {}),
  }).then((r) =>
    r.status === 'unreadable' && /not a regular file/.test(r.error ?? '')
      ? { ...r, format: 'unknown' as const, status: 'unsupported' as const, error: `${shown} is a folder; only .app bundles on macOS are verified as folders` }
      : r,
  );
}
