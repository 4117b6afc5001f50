import { mkdtemp, writeFile, utimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { LocalTargetFs } from '../../../src/core/os/target-fs.js';
import { HostsFileReader, hostsFilePath, parseHostsFile } from '../../../src/core/netwatch/hosts-file.js';
import { fixture } from './fixtures.js';

describe('hosts file', () => {
  it('parses the Windows file: CRLF, comments, tabs, aliases', () => {
    const { entries, problems } = parseHostsFile(fixture('hosts/windows-hosts.txt'));
    expect(problems).toEqual([]);
    expect(entries).toEqual([
      { address: '0.0.0.0', names: ['akamaicontainer.com', 'www.akamaicontainer.com'], line: 15 },
      { address: '0.0.0.0', names: ['msstorageazure.com'], line: 16 },
      { address: '10.20.30.40', names: ['pbxphonenetwork.com'], line: 17 },
      { address: '127.0.0.1', names: ['intranet.local'], line: 18 },
    ]);
  });

  it('parses the Linux file and reports malformed lines', () => {
    const { entries, problems } = parseHostsFile(fixture('hosts/linux-hosts.txt'), '/etc/hosts');
    expect(entries.map((e) => `${e.address} ${e.names.join(',')}`)).toEqual([
      '127.0.0.1 localhost',
      '127.0.1.1 vigil-test',
      '::1 localhost,ip6-localhost,ip6-loopback',
      'ff02::1 ip6-allnodes',
      'ff02::2 ip6-allrouters',
      ':: sbmsa.wiki',
    ]);
    expect(problems).toEqual([{ code: 'parse', message: '/etc/hosts: skipped 2 malformed line(s), first at line 9: not-an-ip bad.example', count: 2 }]);
  });

  it('reads through TargetFs, re-parses only when the file changes, tolerates a missing file', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'vigil-hosts-'));
    await writeFile(path.join(dir, 'hosts'), '0.0.0.0 a.example\n');
    const reader = new HostsFileReader(new LocalTargetFs(dir), 'hosts');
    expect((await reader.read()).entries.map((e) => e.names[0])).toEqual(['a.example']);
    await writeFile(path.join(dir, 'hosts'), '0.0.0.0 b.example\n');
    await utimes(path.join(dir, 'hosts'), new Date(), new Date(Date.now() + 5000));
    expect((await reader.read()).entries.map((e) => e.names[0])).toEqual(['b.example']);
    const missing = new HostsFileReader(new LocalTargetFs(dir), 'nope');
    expect(await missing.read()).toEqual({ entries: [], problems: [] });
    const notAFile = new HostsFileReader(new LocalTargetFs(path.dirname(dir)), path.basename(dir));
    expect((await notAFile.read()).problems[0]).toMatchObject({ code: 'io' });
    expect(hostsFilePath('windows')).toBe('Windows/System32/drivers/etc/hosts');
    expect(hostsFilePath('macos')).toBe('etc/hosts');
  });
});
