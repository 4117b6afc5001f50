/**
 * The machine agent's channel, composed: the run folder, the peer proof and the server
 * following the agent's state. `vigil run --machine` calls it after the agent started;
 * the agent itself knows nothing about the channel.
 */
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import type { Agent } from '../agent.js';
import type { Logger } from '../logging/logger.js';
import { AGENT_VERSION } from '../version.js';
import { LocalChannelServer } from './channel-server.js';
import { channelPaths } from './channel-paths.js';
import { PosixPeerProof, type PeerProof } from './peer-proof.js';
import { WindowsPeerProof } from './windows-peer-proof.js';
import { ProcessCommandRunner, type CommandRunner } from '../os/command-runner.js';
import type { RecentLog } from './recent-log.js';

export interface MachineChannelOptions {
  agent: Pick<Agent, 'state' | 'subscribe' | 'checkNow'>;
  logger: Logger;
  recentLog?: RecentLog;
  /** Overrides the per-OS folder (tests, development). */
  dir?: string;
  tenant?: string;
  heartbeatIntervalSec: number;
  minCheckIntervalMs?: number;
  platform?: NodeJS.Platform;
  /** Runs icacls on Windows (tests replay it). */
  runner?: CommandRunner;
}

export async function serveMachineChannel(o: MachineChannelOptions): Promise<LocalChannelServer> {
  const platform = o.platform ?? process.platform;
  const paths = channelPaths(platform, process.env, o.dir);
  let proof: PeerProof;
  if (platform === 'win32') {
    const windows = new WindowsPeerProof(paths.proofDir, o.runner ?? new ProcessCommandRunner());
    await windows.prepare();
    proof = windows;
  } else {
    await fsp.mkdir(paths.runDir, { recursive: true, mode: 0o755 });
    await fsp.chmod(paths.runDir, 0o755);
    const posix = new PosixPeerProof(paths.proofDir);
    await posix.prepare();
    proof = posix;
  }
  const startedAt = new Date().toISOString();
  const staleAfterMs = Math.max(15 * 60_000, 3 * o.heartbeatIntervalSec * 1000);
  const server = new LocalChannelServer({
    path: paths.endpoint,
    source: o.agent,
    proof,
    facts: () => ({ agentVersion: AGENT_VERSION, hostname: os.hostname(), startedAt, staleAfterMs, ...(o.tenant ? { tenant: o.tenant } : {}) }),
    logger: o.logger,
    ...(o.recentLog ? { recentLog: o.recentLog } : {}),
    caseInsensitiveProfiles: platform === 'darwin' || platform === 'win32',
    ...(o.minCheckIntervalMs !== undefined ? { minCheckIntervalMs: o.minCheckIntervalMs } : {}),
  });
  await server.listen();
  return server;
}
