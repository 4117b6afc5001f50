import { copyFile, mkdir, mkdtemp, readFile, symlink, writeFile, appendFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { realpathSync, readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { ProcNetSource } from '../../../src/core/netwatch/proc-net-source.js';
import { FIXTURES } from './fixtures.js';

/** A /proc tree: the recorded net files, and processes whose fd links name the sockets. */
async function procTree(): Promise<string> {
  const root = await mkdtemp(path.join(tmpdir(), 'vigil-proc-'));
  await mkdir(path.join(root, 'net'));
  for (const f of ['tcp', 'tcp6', 'udp']) await copyFile(path.join(FIXTURES, `linux/proc-net-${f}.txt`), path.join(root, 'net', f));
  // udp6 is absent, as on a kernel without IPv6.
  const proc = async (pid: number, comm: string | null, exe: string | null, fds: Record<string, string>) => {
    const dir = path.join(root, String(pid));
    await mkdir(path.join(dir, 'fd'), { recursive: true });
    if (comm !== null) await writeFile(path.join(dir, 'comm'), `${comm}\n`);
    if (exe !== null) await symlink(exe, path.join(dir, 'exe'));
    for (const [fd, target] of Object.entries(fds)) await symlink(target, path.join(dir, 'fd', fd));
  };
  await proc(14073, 'node', '/usr/local/bin/node', {
    '0': '/dev/null',
    '19': 'socket:[24767]',
    '22': 'socket:[24770]',
    '24': 'socket:[24772]',
    '28': 'socket:[24776]',
    '30': 'socket:[24778]',
  });
  await proc(200, 'server', '/opt/app/server (deleted)', { '3': 'pipe:[555]', '4': 'socket:[24769]', '5': 'socket:[24768]', '6': 'socket:[24777]', '7': 'socket:[24771]' });
  await proc(300, 'udp-client', null, { '9': 'socket:[24774]' });
  await mkdir(path.join(root, 'self')); // not a pid
  await writeFile(path.join(root, 'uptime'), '1 1\n');
  return root;
}

describe('ProcNetSource on a fixture /proc tree', () => {
  it('lists every socket and attributes it through the fd links', async () => {
    const root = await procTree();
    const src = new ProcNetSource({ procRoot: root, littleEndian: true });
    const snap = await src.snapshot({ attribute: 'all' });
    expect(snap.problems).toEqual([{ code: 'io', message: `${path.join(root, 'net/udp6')} does not exist (protocol not available); skipped from now on` }]);
    expect(snap.connections).toHaveLength(12);
    const byInode = new Map(snap.connections.map((c) => [c.inode, c]));
    expect(byInode.get(24770)).toMatchObject({ pid: 14073, processName: 'node', processPath: '/usr/local/bin/node', remote: { address: '127.0.0.57', port: 40157 } });
    expect(byInode.get(24768)).toMatchObject({ pid: 200, processName: 'server', processPath: '/opt/app/server' });
    expect(byInode.get(24774)).toMatchObject({ pid: 300, processName: 'udp-client' });
    expect(byInode.get(24774)!.processPath).toBeUndefined();
    // TIME_WAIT (inode 0) and the listener nobody in this tree owns stay unattributed.
    expect(byInode.get(0)!.pid).toBeUndefined();
    expect(byInode.get(1456)!.pid).toBeUndefined();
    expect(src.ownerStats().scans).toBe(1);

    // Same sockets again: the unowned listener is looked for once more (the accept() race,
    // see the next test), then given up on: a third identical snapshot walks nothing.
    const again = await src.snapshot({ attribute: 'all' });
    expect(again.problems).toEqual([]);
    expect(src.ownerStats().scans).toBe(2);
    await src.snapshot({ attribute: 'all' });
    expect(src.ownerStats().scans).toBe(2);

    // A new socket appears: one walk, which finds it.
    await appendFile(path.join(root, 'net/tcp'), '   7: 0100007F:C000 3900007F:9CDD 01 00000000:00000000 00:00000000 00000000     0        0 31337 1 0000000000000000 20 0 0 10 -1\n');
    await symlink('socket:[31337]', path.join(root, '300/fd/10'));
    const third = await src.snapshot({ attribute: 'all' });
    expect(third.connections.find((c) => c.inode === 31337)).toMatchObject({ pid: 300, local: { port: 0xc000 } });
    expect(src.ownerStats().scans).toBe(3);
  });

  it('finds the owner of a socket listed before its fd was installed, on the next lookup', async () => {
    // accept() makes the socket (and its inode, shown in /proc/net/tcp) before it installs
    // the fd; a walk in between misses it. Here the fd link appears after the first walk.
    const root = await procTree();
    const src = new ProcNetSource({ procRoot: root, littleEndian: true });
    await appendFile(path.join(root, 'net/tcp'), '   7: 0100007F:C000 3900007F:9CDD 01 00000000:00000000 00:00000000 00000000     0        0 31338 1 0000000000000000 20 0 0 10 -1\n');
    const first = await src.snapshot({ attribute: 'all' });
    expect(first.connections.find((c) => c.inode === 31338)!.pid).toBeUndefined();
    await symlink('socket:[31338]', path.join(root, '200/fd/11'));
    const second = await src.snapshot({ attribute: 'all' });
    expect(second.connections.find((c) => c.inode === 31338)).toMatchObject({ pid: 200, processName: 'server' });
  });

  it('attributes only what it is asked to, and stops walking once it has found it', async () => {
    const root = await procTree();
    const src = new ProcNetSource({ procRoot: root, littleEndian: true });
    const snap = await src.snapshot({ attribute: 'none' });
    expect(snap.connections.every((c) => c.pid === undefined)).toBe(true);
    expect(src.ownerStats().scans).toBe(0);
    const held = snap.connections.filter((c) => c.inode === 24770);
    const a = await src.attribute(held);
    expect(a.connections[0]).toMatchObject({ pid: 14073, processName: 'node' });
    // Visited newest pid first (14073) and stopped: 300 and 200 were never read.
    expect(src.ownerStats().fdsRead).toBe(6);
  });

  it('reports a process that exited between walk and name lookup, and an unreadable net file', async () => {
    const root = await procTree();
    const src = new ProcNetSource({ procRoot: root, littleEndian: true });
    const snap = await src.snapshot({ attribute: 'none' });
    await src.attribute(snap.connections.filter((c) => c.inode === 24774)); // caches inode -> 300
    const { rm } = await import('node:fs/promises');
    await rm(path.join(root, '300/comm'));
    const srcFresh = new ProcNetSource({ procRoot: root, littleEndian: true });
    const s2 = await srcFresh.snapshot({ attribute: 'all' });
    expect(s2.connections.find((c) => c.inode === 24774)).toMatchObject({ pid: 300 });
    expect(s2.problems).toContainEqual({ code: 'vanished', message: 'a process exited before its name could be read', count: 1 });

    await writeFile(path.join(root, 'net/tcp'), (await readFile(path.join(root, 'net/tcp'), 'utf8')) + '  99: garbage line\n');
    const s3 = await srcFresh.snapshot();
    expect(s3.problems.find((p) => p.code === 'parse')).toMatchObject({ count: 1 });
    expect(s3.connections).toHaveLength(12);
  });

  it('reports a missing /proc instead of throwing', async () => {
    const src = new ProcNetSource({ procRoot: path.join(tmpdir(), 'vigil-no-such-proc') });
    const snap = await src.snapshot({ attribute: 'all' });
    expect(snap.connections).toEqual([]);
    expect(snap.problems.map((p) => p.code)).toEqual(['io', 'io', 'io', 'io']);
  });
});

describe('ProcNetSource on the live /proc', () => {
  const servers: Server[] = [];
  afterAll(() => servers.forEach((s) => s.close()));

  it('finds a socket this process holds, with its pid, name and path', async () => {
    const server = createServer();
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    const snap = await new ProcNetSource().snapshot({ attribute: 'all' });
    const mine = snap.connections.find((c) => c.state === 'LISTEN' && c.local.address === '127.0.0.1' && c.local.port === port);
    expect(mine).toMatchObject({
      pid: process.pid,
      processName: readFileSync('/proc/self/comm', 'utf8').trim(),
      processPath: realpathSync(process.execPath),
    });
  });
});
