/**
 * Where the agent keeps its state (device credential, outbox, stable id) when the settings
 * do not say: a machine-wide folder when running as a service/administrator, else the
 * user's own state folder (a developer running `vigil run` without privileges).
 */
import * as os from 'node:os';
import * as path from 'node:path';

export function defaultStateDir(platform: NodeJS.Platform = process.platform, env: NodeJS.ProcessEnv = process.env, privileged = isPrivileged()): string {
  if (platform === 'win32') {
    if (privileged) return path.win32.join(env.ProgramData ?? 'C:\\ProgramData', 'Vigil');
    return path.win32.join(env.LOCALAPPDATA ?? path.win32.join(os.homedir(), 'AppData', 'Local'), 'Vigil');
  }
  if (platform === 'darwin') {
    return privileged ? '/Library/Application Support/Vigil' : path.posix.join(os.homedir(), 'Library', 'Application Support', 'Vigil');
  }
  if (privileged) return '/var/lib/vigil';
  return path.posix.join(env.XDG_STATE_HOME ?? path.posix.join(os.homedir(), '.local', 'state'), 'vigil');
}

function isPrivileged(): boolean {
  // On Windows the installer runs the agent as a service; the tray app passes stateDir itself.
  return typeof process.getuid === 'function' ? process.getuid() === 0 : false;
}
