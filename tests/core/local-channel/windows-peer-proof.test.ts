/**
 * The Windows peer proof with icacls replayed (no Windows machine here): the output shapes
 * are those in windows-peer-proof.ts's header. The whole channel runs on a Unix socket with
 * this proof in place of the POSIX one, so a "Windows" client proves DOMAIN\bob and sees
 * his own profile in full and alice's redacted.
 */
import { mkdtemp, readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { CommandResult, CommandRunner } from '../../../src/core/os/command-runner.js';
import { parseIcacls, WindowsPeerProof } from '../../../src/core/local-channel/windows-peer-proof.js';
import { LocalChannelServer } from '../../../src/core/local-channel/channel-server.js';
import { LocalChannelClient } from '../../../src/core/local-channel/channel-client.js';
import { readChallenge } from '../../../src/core/local-channel/peer-proof.js';
import { OTHER_PROFILE } from '../../../src/core/local-channel/redact-for-viewer.js';
import { silentLogger } from '../../../src/core/logging/logger.js';
import type { AgentState } from '../../../src/core/agent.js';
import type { Install } from '../../../src/shared/scan.js';

const profileAcl = (home: string, user: string) =>
  `${home} NT AUTHORITY\\SYSTEM:(OI)(CI)(F)\r\n${' '.repeat(home.length)} BUILTIN\\Administrators:(OI)(CI)(F)\r\n${' '.repeat(home.length)} ${user}:(OI)(CI)(F)\r\n\r\nSuccessfully processed 1 files; Failed processing 0 files\r\n`;

/** icacls as Windows answers it: the profile folders' ACLs, and "processed" for grants. */
class Icacls implements CommandRunner {
  readonly calls: string[][] = [];
  constructor(private readonly profiles: Record<string, string>) {}
  async run(command: string, args: readonly string[]): Promise<CommandResult> {
    this.calls.push([command, ...args]);
    if (command !== 'icacls') return { code: null, stdout: '', stderr: '', error: `${command} could not run: ENOENT` };
    if (args.length === 1) {
      const owner = this.profiles[args[0]!.toLowerCase()];
      return owner ? { code: 0, stdout: profileAcl(args[0]!, owner), stderr: '' } : { code: 2, stdout: '', stderr: `${args[0]}: The system cannot find the file specified.\r\nSuccessfully processed 0 files; Failed processing 1 files` };
    }
    return { code: 0, stdout: 'processed file: x\r\nSuccessfully processed 1 files; Failed processing 0 files\r\n', stderr: '' };
  }
}

describe('parseIcacls', () => {
  it('reads the entries of the first and the continuation lines', () => {
    expect(parseIcacls(profileAcl('C:\\Users\\alice', 'DESKTOP-7Q2\\alice'), 'C:\\Users\\alice')).toEqual([
      { principal: 'NT AUTHORITY\\SYSTEM', rights: ['OI', 'CI', 'F'] },
      { principal: 'BUILTIN\\Administrators', rights: ['OI', 'CI', 'F'] },
      { principal: 'DESKTOP-7Q2\\alice', rights: ['OI', 'CI', 'F'] },
    ]);
    expect(parseIcacls('garbage\r\n\r\nSuccessfully processed 0 files', 'C:\\x')).toEqual([]);
  });
});

describe('WindowsPeerProof', () => {
  it('restricts the proof folder and each secret file to SYSTEM, Administrators and the claimed account', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'vigil-winproof-'));
    const icacls = new Icacls({ 'c:\\users\\bob': 'PC-0042\\bob' });
    const proof = new WindowsPeerProof(dir, icacls);
    await proof.prepare();
    expect(icacls.calls[0]).toEqual(['icacls', dir, '/inheritance:r', '/grant:r', '*S-1-5-18:(OI)(CI)F', '*S-1-5-32-544:(OI)(CI)F']);
    const ch = await proof.challenge({ user: 'PC-0042\\bob', home: 'C:\\Users\\bob' });
    expect(icacls.calls.at(-1)).toEqual(['icacls', ch.path, '/inheritance:r', '/grant:r', '*S-1-5-18:F', '*S-1-5-32-544:F', 'PC-0042\\bob:R']);
    const secret = await readFile(ch.path, 'utf8');
    expect(secret).toMatch(/^[0-9a-f]{64}$/);
    expect(await ch.verify(secret)).toEqual({ uid: null, user: 'PC-0042\\bob', profile: 'bob' });
    expect(existsSync(ch.path)).toBe(false);
    expect(await ch.verify(secret)).toBeNull();
  });

  it('turns down a home that is not the account’s, not a profile, or a name icacls would misread', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'vigil-winproof-'));
    const proof = new WindowsPeerProof(dir, new Icacls({ 'c:\\users\\alice': 'PC-0042\\alice', 'c:\\users\\bob': 'PC-0042\\bob' }));
    await expect(proof.challenge({ user: 'PC-0042\\bob', home: 'C:\\Users\\alice' })).rejects.toThrow(/does not belong to PC-0042\\bob/);
    await expect(proof.challenge({ user: 'PC-0042\\bob', home: 'C:\\Temp\\bob' })).rejects.toThrow(/not a profile folder/);
    await expect(proof.challenge({ user: 'PC-0042\\bob', home: 'C:\\Users\\carol' })).rejects.toThrow(/icacls .* failed: .*cannot find/);
    await expect(proof.challenge({ user: '*S-1-5-18', home: 'C:\\Users\\bob' })).rejects.toThrow(/not an account name/);
    await expect(proof.challenge({ user: 'bob', home: 'C:\\Users\\bob' })).rejects.toThrow(/not an account name/);
  });
});

describe('the channel with the Windows proof', () => {
  let server: LocalChannelServer | undefined;
  let client: LocalChannelClient | undefined;
  afterEach(async () => {
    await client?.stop();
    await server?.close();
  });

  it('a client proving PC-0042\\bob sees his profile in full and alice’s redacted', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'vigil-winchan-'));
    const install = (user: string): Install => ({ application: '3cx-desktop-app', applicationName: '3CX Desktop App', platform: 'windows', user, location: `C:\\Users\\${user}\\AppData\\Local\\Programs\\3CXDesktopApp`, version: '18.12.416', versionClass: 'compromised', files: [] });
    const core: AgentState = {
      phase: 'running', scanning: false, verdict: null, findings: [], installs: [install('Bob'), install('alice')], packs: [], lastScanAt: null, lastScanError: null,
      connectionWatch: 'off', report: null, lastReportAt: null, backlog: null, problems: [],
    };
    const proof = new WindowsPeerProof(path.join(dir, 'proof'), new Icacls({ 'c:\\users\\bob': 'PC-0042\\bob' }));
    await proof.prepare();
    server = new LocalChannelServer({
      path: path.join(dir, 'agent.sock'),
      source: { state: () => core, subscribe: () => () => {}, checkNow: async () => undefined },
      proof,
      facts: () => ({ agentVersion: '0.1.0', hostname: 'PC-0042', startedAt: new Date().toISOString(), staleAfterMs: 900_000 }),
      logger: silentLogger,
      caseInsensitiveProfiles: true,
    });
    await server.listen();
    client = new LocalChannelClient({ path: path.join(dir, 'agent.sock'), claim: async () => ({ user: 'PC-0042\\bob', home: 'C:\\Users\\bob' }), readSecret: readChallenge, logger: silentLogger });
    await client.start();
    expect(client.connected()).toBe(true);
    const s = client.state()!;
    expect(s.service.viewerProfile).toBe('bob');
    expect(s.installs.map((i) => [i.user, i.location])).toEqual([
      ['Bob', 'C:\\Users\\Bob\\AppData\\Local\\Programs\\3CXDesktopApp'],
      [undefined, OTHER_PROFILE],
    ]);
  });
});
