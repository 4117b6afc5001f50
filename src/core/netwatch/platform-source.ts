/**
 * The connection source and DNS evidence readers for a platform (docs/NETWATCH.md):
 * Linux reads /proc; Windows runs `netstat -nao` and reads the DNS client cache with
 * `ipconfig /displaydns`; macOS runs `lsof`. Every OS checks its hosts file.
 */
import * as path from 'node:path';
import type { Platform } from '../../shared/scan.js';
import { ProcessCommandRunner, type CommandRunner } from '../os/command-runner.js';
import { LocalTargetFs } from '../os/target-fs.js';
import type { ConnectionSource } from './connection.js';
import { WindowsDnsCacheReader, type DnsCacheReader } from './dns-cache-windows.js';
import { HostsFileReader } from './hosts-file.js';
import { MacosLsofSource } from './macos-source.js';
import { ProcNetSource } from './proc-net-source.js';
import { WindowsNetstatSource } from './windows-source.js';

export interface PlatformNetwatch {
  source: ConnectionSource;
  dnsCache?: DnsCacheReader;
  hosts: HostsFileReader;
}

export interface PlatformNetwatchOptions {
  runner?: CommandRunner;
  /** Linux: proc root (default /proc). */
  procRoot?: string;
  env?: NodeJS.ProcessEnv;
}

export function platformNetwatch(platform: Platform, opts: PlatformNetwatchOptions = {}): PlatformNetwatch {
  const runner = opts.runner ?? new ProcessCommandRunner();
  if (platform === 'windows') {
    const systemRoot = opts.env?.SystemRoot ?? opts.env?.SYSTEMROOT ?? 'C:\\Windows';
    const etc = path.win32.join(systemRoot, 'System32', 'drivers', 'etc');
    return {
      source: new WindowsNetstatSource({ runner }),
      dnsCache: new WindowsDnsCacheReader(runner, 'ipconfig'),
      hosts: new HostsFileReader(new LocalTargetFs(etc, { caseInsensitive: true, displayStyle: 'windows' }), 'hosts'),
    };
  }
  const hosts = new HostsFileReader(new LocalTargetFs('/etc'), 'hosts');
  if (platform === 'macos') return { source: new MacosLsofSource({ runner }), hosts };
  return { source: new ProcNetSource(opts.procRoot ? { procRoot: opts.procRoot } : {}), hosts };
}
