import { runCli } from '../../src/cli/main.js';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/commands/watch.js';
import { UsageError } from '../../src/cli/io.js';
import { testPack } from '../helpers/test-pack.js';

function io(cwd: string, interrupted: Promise<void> = new Promise<void>(() => {})) {
  const out = { stdout: '', stderr: '' };
  return { out, io: { stdout: (t: string) => (out.stdout += t), stderr: (t: string) => (out.stderr += t), env: {}, cwd, interrupted } };
}

/** A pack whose only network indicator is a literal loopback address: no DNS query is ever made. */
async function workdir(ip: string): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'vigil-watchcli-'));
  await writeFile(path.join(dir, 'pack.json'), JSON.stringify(testPack({ network: { domains: [], urls: [], ips: [{ ip, sources: ['advisory'] }], advice: 'isolate' } })));
  await writeFile(path.join(dir, 'nodomains.json'), JSON.stringify(testPack({ network: undefined })));
  await writeFile(path.join(dir, 'hosts'), '127.0.0.1 localhost\n');
  return dir;
}

const servers: Server[] = [];
const sockets: Socket[] = [];
const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) if (c.exitCode === null) c.kill();
  for (const s of sockets) s.destroy();
  for (const s of servers) s.close();
});

async function holdConnection(host: string): Promise<ChildProcess> {
  const server = createServer((s) => sockets.push(s.on('error', () => {})));
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, host, r));
  const port = (server.address() as { port: number }).port;
  const child = spawn(process.execPath, ['-e', `require('net').connect(${port},'${host}',()=>console.log('up'));process.stdin.resume();`], { stdio: ['pipe', 'pipe', 'inherit'] });
  children.push(child);
  await new Promise((r) => child.stdout!.once('data', r));
  return child;
}

describe('vigil watch', () => {
  it('prints a JSON line for a process connected to a pack address, then a summary, and exits 0', async () => {
    const dir = await workdir('127.0.0.60');
    const child = await holdConnection('127.0.0.60');
    const r = io(dir);
    const code = await main(['--json', '--no-builtin', '--pack', 'pack.json', '--interval', '0.25', '--duration', '1.2', '--hosts', 'hosts'], r.io);
    expect(code).toBe(0);
    const lines = r.out.stdout.trim().split('\n').map((l) => JSON.parse(l));
    const match = lines.find((l) => l.event === 'match' && l.finding.evidence.process?.pid === child.pid);
    expect(match).toMatchObject({ kind: 'connection', finding: { category: 'network', severity: 'compromised', evidence: { indicator: '127.0.0.60', remote: { address: '127.0.0.60' }, process: { name: 'node' } } } });
    const summary = lines.at(-1);
    expect(summary).toMatchObject({ event: 'summary', source: 'procfs', errors: 0 });
    expect(summary.polls).toBeGreaterThanOrEqual(3);
    expect(summary.matches.map((m: { id: string }) => m.id)).toContain(match.finding.id);
  });

  it('prints human lines and stops when interrupted', async () => {
    const dir = await workdir('127.0.0.61');
    const child = await holdConnection('127.0.0.61');
    let interrupt: () => void = () => {};
    const r = io(dir, new Promise<void>((resolve) => (interrupt = resolve)));
    setTimeout(() => interrupt(), 800);
    const t0 = Date.now();
    expect(await main(['--no-builtin', '--pack', 'pack.json', '--interval', '0.2', '--hosts', 'hosts'], r.io)).toBe(0);
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(r.out.stdout).toMatch(/^Watching connections \(procfs, every 0\.2 s\) for 0 domains and 1 addresses from Test softphone incident\.\n/);
    expect(r.out.stdout).toContain(`RED    node (pid ${child.pid}) is connected to 127.0.0.61, a server named by the "Test softphone incident" incident pack.`);
    expect(r.out.stdout).toMatch(/what to do: Disconnect this PC from the network and call IT\./);
    expect(r.out.stdout).toMatch(/Watched for \d+ s: \d+ polls \(last [\d.]+ ms\), [1-9]\d* match\(es\), [1-9]\d* of them compromise evidence, 0 failed poll\(s\)\.\n$/);
  });

  it('rejects bad usage and bad packs; says when there is nothing to watch', async () => {
    const dir = await workdir('127.0.0.62');
    for (const bad of [['--interval', '0'], ['--interval', 'abc'], ['--duration', '-1'], ['--dns-interval', '0.5'], ['--frobnicate'], ['stray'], ['--no-builtin']]) {
      await expect(main(bad, io(dir).io), bad.join(' ')).rejects.toBeInstanceOf(UsageError);
    }
    // Through the CLI entry, as a user runs it: exit 64 and the file named.
    const r = io(dir);
    expect(await runCli(['watch', '--no-builtin', '--pack', 'missing.json'], r.io)).toBe(64);
    expect(r.out.stderr).toMatch(/^vigil watch: cannot use pack .*missing\.json: cannot read: ENOENT/);
    const none = io(dir);
    expect(await main(['--no-builtin', '--pack', 'nodomains.json', '--duration', '1'], none.io)).toBe(0);
    expect(none.out.stderr).toMatch(/nothing to watch/);
    const help = io(dir);
    expect(await main(['--help'], help.io)).toBe(0);
    expect(help.out.stdout).toMatch(/^usage: vigil watch/);
  });
});
