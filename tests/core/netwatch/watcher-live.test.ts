/**
 * The watch on real sockets, loopback only: a test pack names domains that an injected
 * resolver maps to loopback addresses other than 127.0.0.1 (and ::1), TCP servers listen
 * there, and child processes connect. No traffic leaves the machine.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { realpathSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { collectIndicators } from '../../../src/core/netwatch/indicator-table.js';
import { IndicatorResolver, type DnsResolver, type ResolvedAddress } from '../../../src/core/netwatch/indicator-resolver.js';
import { ProcNetSource } from '../../../src/core/netwatch/proc-net-source.js';
import { NetWatcher, type WatchMatch } from '../../../src/core/netwatch/watcher.js';
import { netPack } from './packs.js';

const ZONE: Record<string, { a?: string[]; aaaa?: string[] }> = {
  'c2.vigil.test': { a: ['127.0.0.57'] },
  'c2v6.vigil.test': { aaaa: ['::1'] },
  'brief.vigil.test': { a: ['127.0.0.58'] },
  'closed-by-server.vigil.test': { a: ['127.0.0.59'] },
};

/** The test's DNS: answers from ZONE, never the network. */
const zoneResolver: DnsResolver = {
  async resolve4(host) {
    const a = ZONE[host]?.a;
    if (!a) throw Object.assign(new Error(`ENODATA ${host}`), { code: 'ENODATA' });
    return a.map((address): ResolvedAddress => ({ address, ttl: 300 }));
  },
  async resolve6(host) {
    const a = ZONE[host]?.aaaa;
    if (!a) throw Object.assign(new Error(`ENODATA ${host}`), { code: 'ENODATA' });
    return a.map((address): ResolvedAddress => ({ address, ttl: 300 }));
  },
};

const servers: Server[] = [];
const children: ChildProcess[] = [];
const sockets: Socket[] = [];
afterAll(() => {
  for (const c of children) if (c.exitCode === null) c.kill();
  for (const s of sockets) s.destroy();
  for (const s of servers) s.close();
});

async function listen(host: string, onConnection: (s: Socket) => void = (s) => sockets.push(s)): Promise<number> {
  const server = createServer((s) => {
    s.on('error', () => {});
    onConnection(s);
  });
  servers.push(server);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, resolve);
  });
  return (server.address() as { port: number }).port;
}

/** A child node process that connects and then holds the connection, or closes it at once. */
function connectChild(host: string, port: number, mode: 'hold' | 'close-now' | 'wait-for-server-close'): Promise<{ child: ChildProcess; connectedAt: number }> {
  const code = {
    hold: `const s=require('net').connect(${port},'${host}',()=>console.log('up'));s.on('error',e=>{console.error(e.message);process.exit(2)});process.stdin.resume();`,
    'close-now': `const s=require('net').connect(${port},'${host}',()=>{console.log('up');s.end();});s.on('close',()=>process.exit(0));s.on('error',()=>process.exit(2));setTimeout(()=>process.exit(3),150);`,
    'wait-for-server-close': `const s=require('net').connect(${port},'${host}',()=>console.log('up'));s.on('end',()=>s.end());s.on('close',()=>process.exit(0));s.on('error',()=>process.exit(2));`,
  }[mode];
  const child = spawn(process.execPath, ['-e', code], { stdio: ['pipe', 'pipe', 'inherit'] });
  children.push(child);
  return new Promise((resolve, reject) => {
    child.stdout!.once('data', () => resolve({ child, connectedAt: performance.now() }));
    child.once('exit', (c) => c !== 0 && reject(new Error(`child exited with ${c} before connecting`)));
  });
}

function nextMatch(w: NetWatcher, pred: (m: WatchMatch) => boolean, timeoutMs: number): Promise<WatchMatch | undefined> {
  const found = w.matches().find(pred);
  if (found) return Promise.resolve(found);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      w.off('match', on);
      resolve(undefined);
    }, timeoutMs);
    const on = (m: WatchMatch) => {
      if (!pred(m)) return;
      clearTimeout(timer);
      w.off('match', on);
      resolve(m);
    };
    w.on('match', on);
  });
}

async function watcher(intervalMs?: number) {
  const set = collectIndicators([netPack({ domains: Object.keys(ZONE) })]);
  const resolver = new IndicatorResolver(set, zoneResolver, { keepLoopback: true });
  await resolver.refreshDue();
  const w = new NetWatcher({ source: new ProcNetSource(), indicators: resolver, ...(intervalMs ? { intervalMs } : {}) });
  return w;
}

describe('watch on loopback (real sockets, child processes)', () => {
  it('reports a child holding a TCP connection to a pack domain: pid, name, domain, address (IPv4 and IPv6)', async () => {
    const port4 = await listen('127.0.0.57');
    const port6 = await listen('::1');
    const w = await watcher(250);
    w.start();
    try {
      const [c4, c6] = await Promise.all([connectChild('127.0.0.57', port4, 'hold'), connectChild('::1', port6, 'hold')]);
      const m4 = await nextMatch(w, (m) => m.finding.evidence.process?.pid === c4.child.pid, 5000);
      const m6 = await nextMatch(w, (m) => m.finding.evidence.process?.pid === c6.child.pid && m.indicator.value === 'c2v6.vigil.test', 5000);
      for (const [m, domain, address, port] of [
        [m4, 'c2.vigil.test', '127.0.0.57', port4],
        [m6, 'c2v6.vigil.test', '::1', port6],
      ] as const) {
        expect(m, domain).toBeDefined();
        expect(m!.finding).toMatchObject({
          category: 'network',
          severity: 'compromised',
          evidence: {
            indicator: domain,
            remote: { address, port, host: domain },
            process: { name: 'node', path: realpathSync(process.execPath) },
            detail: { direction: 'outbound', state: 'ESTABLISHED' },
          },
        });
      }
      // The test's own server socket for ::1 talks to ::1 too; it is inbound, and a separate pair.
      const server6 = w.matches().find((m) => m.finding.evidence.process?.pid === process.pid && m.indicator.value === 'c2v6.vigil.test');
      if (server6) expect(server6.finding.evidence.detail?.direction).toBe('inbound');
      // Held connections are not re-alerted.
      const before = w.matches().length;
      await new Promise((r) => setTimeout(r, 700));
      expect(w.matches().length).toBe(before);
      expect(w.matches().find((m) => m === m4)!.sightings).toBeGreaterThan(1);
    } finally {
      await w.stop();
    }
  });

  it('a connection closed by the client within 200 ms is caught from its TIME_WAIT entry, without its process', async () => {
    const port = await listen('127.0.0.58', (s) => s.on('end', () => s.end()));
    const w = await watcher(); // the default 2 s interval
    const firstPoll = new Promise((r) => w.once('poll', r));
    w.start();
    try {
      await firstPoll;
      const { child } = await connectChild('127.0.0.58', port, 'close-now');
      await new Promise((r) => child.once('exit', r));
      const m = await nextMatch(w, (x) => x.indicator.value === 'brief.vigil.test', 3500);
      expect(m).toBeDefined();
      expect(m!.finding.evidence.process).toBeUndefined();
      expect(m!.finding.evidence.detail).toMatchObject({ state: 'TIME_WAIT' });
      expect(m!.finding.evidence.remote).toMatchObject({ address: '127.0.0.58', port, host: 'brief.vigil.test' });
    } finally {
      await w.stop();
    }
  });

  it('a brief connection closed by the server first leaves nothing on the client side: missed', async () => {
    const port = await listen('127.0.0.59', (s) => s.end());
    const w = await watcher();
    const firstPoll = new Promise((r) => w.once('poll', r));
    w.start();
    try {
      await firstPoll;
      const { child } = await connectChild('127.0.0.59', port, 'wait-for-server-close');
      await new Promise((r) => child.once('exit', r));
      // Two more polls: the server side's TIME_WAIT has the C2 address as its *local* end.
      const m = await nextMatch(w, (x) => x.indicator.value === 'closed-by-server.vigil.test', 4500);
      expect(m).toBeUndefined();
      expect(w.stats().polls).toBeGreaterThanOrEqual(3);
    } finally {
      await w.stop();
    }
  });
});
