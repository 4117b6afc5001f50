/**
 * Who is on the other end of the local channel, without a native module.
 *
 * Node gives a server no SO_PEERCRED / getpeereid / GetNamedPipeClientProcessId. So the
 * client states who it is (uid, account, home folder) and the service makes it prove it:
 * the service writes a fresh 256-bit secret into a file that only the claimed account
 * (and root) can read, in a folder nobody else can list, and tells the client where; the
 * client reads it and sends it back. Only a process running as that account can. See
 * docs/ARCHITECTURE.md "The local channel" for the alternatives weighed.
 *
 * The home folder decides whose profile the viewer sees in full, so it is checked too:
 * it must be a profile folder (/home/<name>, /Users/<name>, /root) owned by the uid.
 *
 * This class is the POSIX half (Linux, macOS); windows-peer-proof.ts sets the file's ACL
 * to the claimed account instead of its owner.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import type { PeerClaim } from '../../shared/local-channel.js';

export interface ProvenPeer {
  uid: number | null;
  user: string;
  /** The profile folder name as inventory names it (the last segment of home). */
  profile: string;
}

export interface Challenge {
  /** Where the client finds the secret. */
  path: string;
  /** Checks the client's answer (once); always removes the secret file. */
  verify(answer: string): Promise<ProvenPeer | null>;
  /** Removes the secret file without an answer (connection gone, timeout). */
  discard(): Promise<void>;
}

/**
 * The secret file as a challenge: one answer only (compared in constant time), and the file
 * is removed on that answer or on discard. Shared by the POSIX and Windows proofs.
 */
export function oneTimeChallenge(file: string, secret: string, peer: ProvenPeer): Challenge {
  let used = false;
  const discard = async () => {
    used = true;
    await fsp.rm(file, { force: true });
  };
  return {
    path: file,
    discard,
    verify: async (answer) => {
      if (used) return null;
      await discard();
      const a = Buffer.from(answer);
      const b = Buffer.from(secret);
      return a.length === b.length && timingSafeEqual(a, b) ? peer : null;
    },
  };
}

export class PeerProofError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PeerProofError';
  }
}

export interface PeerProof {
  challenge(claim: PeerClaim): Promise<Challenge>;
}

/** Profile folders a home may be: the ones inventory scans (src/core/inventory/user-profiles.ts). */
const PROFILE_PARENTS = ['/home', '/Users'];

export class PosixPeerProof implements PeerProof {
  constructor(
    /** A folder only root writes, mode 0711 (traversable, not listable). */
    private readonly dir: string,
  ) {}

  /** Creates the folder (0711, root's). Call once as root before serving. */
  async prepare(): Promise<void> {
    await fsp.mkdir(this.dir, { recursive: true, mode: 0o711 });
    await fsp.chmod(this.dir, 0o711);
    const st = await fsp.lstat(this.dir);
    if (!st.isDirectory()) throw new PeerProofError(`${this.dir} is not a folder`);
    if (typeof process.getuid === 'function' && st.uid !== process.getuid()) throw new PeerProofError(`${this.dir} belongs to uid ${st.uid}, not to this service`);
  }

  async challenge(claim: PeerClaim): Promise<Challenge> {
    if (claim.uid === undefined) throw new PeerProofError('the claim has no uid');
    const uid = claim.uid;
    const home = path.posix.normalize(claim.home);
    const profile = home === '/root' ? 'root' : PROFILE_PARENTS.includes(path.posix.dirname(home)) ? path.posix.basename(home) : null;
    if (!profile) throw new PeerProofError(`the home folder ${claim.home} is not a profile folder`);
    let st;
    try {
      st = await fsp.lstat(home);
    } catch {
      throw new PeerProofError(`the home folder ${claim.home} does not exist`);
    }
    if (!st.isDirectory() || st.uid !== uid) throw new PeerProofError(`the home folder ${claim.home} does not belong to uid ${uid}`);

    const secret = randomBytes(32).toString('hex');
    const file = path.join(this.dir, randomBytes(16).toString('hex'));
    // Created 0600 by root, then given to the claimed uid: nobody else can read it at any point.
    const fh = await fsp.open(file, 'wx', 0o600);
    try {
      await fh.chown(uid, st.gid);
      await fh.writeFile(secret);
    } finally {
      await fh.close();
    }
    return oneTimeChallenge(file, secret, { uid, user: claim.user, profile });
  }
}

/** The claim the tray makes for the account it runs as. */
export async function ownClaim(): Promise<PeerClaim> {
  const os = await import('node:os');
  const info = os.userInfo();
  if (process.platform === 'win32') {
    // The account as icacls names it: DOMAIN\name (the computer name for a local account).
    const domain = process.env.USERDOMAIN ?? os.hostname();
    return { user: `${domain}\\${info.username}`, home: info.homedir };
  }
  return { ...(info.uid >= 0 ? { uid: info.uid } : {}), user: info.username, home: info.homedir };
}

/** Reads the secret the service left for this account. */
export async function readChallenge(file: string): Promise<string> {
  return (await fsp.readFile(file, 'utf8')).trim();
}
