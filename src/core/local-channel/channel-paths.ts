/**
 * Where the machine agent's channel lives on each OS. The tray and the service both take
 * it from here, so they cannot disagree. `dir` overrides the folder (tests, development).
 */
import * as path from 'node:path';

export interface ChannelPaths {
  /** Socket path, or the named pipe on Windows. */
  endpoint: string;
  /** The folder the peer proof writes its one-time secrets into (0711, root's). */
  proofDir: string;
  /** The folder holding both, created 0755 by the service (POSIX). */
  runDir: string;
}

export const WINDOWS_PIPE = '\\\\.\\pipe\\vigil-agent';

export function channelPaths(platform: NodeJS.Platform = process.platform, env: NodeJS.ProcessEnv = process.env, dir?: string): ChannelPaths {
  if (platform === 'win32') {
    const runDir = dir ?? path.win32.join(env.ProgramData ?? 'C:\\ProgramData', 'Vigil', 'channel');
    return { endpoint: dir ? `\\\\.\\pipe\\vigil-agent-${path.win32.basename(dir)}` : WINDOWS_PIPE, proofDir: path.win32.join(runDir, 'proof'), runDir };
  }
  // /run is tmpfs on Linux (cleared at boot, as a socket should be); macOS has /var/run.
  const runDir = dir ?? (platform === 'darwin' ? '/var/run/vigil' : '/run/vigil');
  return { endpoint: path.posix.join(runDir, 'agent.sock'), proofDir: path.posix.join(runDir, 'proof'), runDir };
}
