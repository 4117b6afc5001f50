/**
 * The peer proof on Windows (see peer-proof.ts for the protocol): the named pipe gives the
 * service no client identity without a native module, so the client claims its account
 * (DOMAIN\name) and profile folder, and proves it by reading a one-time secret from a file
 * whose ACL admits only that account (plus SYSTEM and Administrators). ACLs are read and
 * set with icacls.exe through the CommandRunner.
 *
 * icacls output parsed here is shaped like this (Windows 10/11, `icacls C:\Users\alice`):
 *
 *   C:\Users\alice NT AUTHORITY\SYSTEM:(OI)(CI)(F)
 *                  BUILTIN\Administrators:(OI)(CI)(F)
 *                  DESKTOP-7Q2\alice:(OI)(CI)(F)
 *
 *   Successfully processed 1 files; Failed processing 0 files
 *
 * Not run on a real Windows machine here (none is available); the tests replay this shape.
 */
import { randomBytes } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import type { CommandRunner } from '../os/command-runner.js';
import type { PeerClaim } from '../../shared/local-channel.js';
import { oneTimeChallenge, PeerProofError, type Challenge, type PeerProof } from './peer-proof.js';

const SYSTEM = '*S-1-5-18';
const ADMINISTRATORS = '*S-1-5-32-544';
/** DOMAIN\name with none of the characters icacls or a path would treat specially. */
const ACCOUNT = /^[^\\/:*?"<>|@\s][^\\/:*?"<>|]{0,254}\\[^\\/:*?"<>|]{1,256}$/;

export interface AclEntry {
  principal: string;
  rights: string[];
}

/** The entries of `icacls PATH` for that one path. */
export function parseIcacls(output: string, target: string): AclEntry[] {
  const out: AclEntry[] = [];
  for (const raw of output.split(/\r?\n/)) {
    let line = raw;
    if (line.toLowerCase().startsWith(target.toLowerCase())) line = line.slice(target.length);
    line = line.trim();
    const m = /^(.+?):((?:\([^)]*\))+)$/.exec(line);
    if (m) out.push({ principal: m[1]!, rights: [...m[2]!.matchAll(/\(([^)]*)\)/g)].map((x) => x[1]!) });
  }
  return out;
}

export class WindowsPeerProof implements PeerProof {
  constructor(
    private readonly dir: string,
    private readonly runner: CommandRunner,
  ) {}

  /** Creates the folder, readable and listable by SYSTEM and Administrators only. */
  async prepare(): Promise<void> {
    await fsp.mkdir(this.dir, { recursive: true });
    await this.icacls([this.dir, '/inheritance:r', '/grant:r', `${SYSTEM}:(OI)(CI)F`, `${ADMINISTRATORS}:(OI)(CI)F`]);
  }

  async challenge(claim: PeerClaim): Promise<Challenge> {
    if (!ACCOUNT.test(claim.user)) throw new PeerProofError(`"${claim.user}" is not an account name (DOMAIN\\name)`);
    const home = path.win32.normalize(claim.home);
    if (path.win32.basename(path.win32.dirname(home)).toLowerCase() !== 'users') throw new PeerProofError(`the home folder ${claim.home} is not a profile folder`);
    const acl = parseIcacls((await this.icacls([home])).stdout, home);
    const owns = acl.some((e) => e.principal.toLowerCase() === claim.user.toLowerCase() && e.rights.includes('F'));
    if (!owns) throw new PeerProofError(`the home folder ${claim.home} does not belong to ${claim.user}`);

    const secret = randomBytes(32).toString('hex');
    const file = path.join(this.dir, randomBytes(16).toString('hex'));
    // Empty first (inheriting the folder's SYSTEM/Administrators-only ACL), then opened to
    // the claimed account alone, then the secret.
    await fsp.writeFile(file, '', { flag: 'wx' });
    try {
      await this.icacls([file, '/inheritance:r', '/grant:r', `${SYSTEM}:F`, `${ADMINISTRATORS}:F`, `${claim.user}:R`]);
      await fsp.writeFile(file, secret);
    } catch (e) {
      await fsp.rm(file, { force: true });
      throw e;
    }
    return oneTimeChallenge(file, secret, { uid: null, user: claim.user, profile: path.win32.basename(home) });
  }

  private async icacls(args: string[]) {
    const r = await this.runner.run('icacls', args, { timeoutMs: 15_000 });
    if (r.code !== 0) throw new PeerProofError(`icacls ${args[0]} failed: ${(r.error ?? r.stderr.trim()) || `exit ${r.code}`}`);
    return r;
  }
}
