/**
 * The test balancer (round-robin-balancer.ts): connections alternate between live backends,
 * a dead backend is skipped for the next one (redispatch), no live backend means the client
 * is closed, and a backend's death resets the client connections it carried.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startRoundRobinBalancer, type Backend, type RoundRobinBalancer } from './round-robin-balancer.js';

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
});

/** A backend that answers every connection with its name, then keeps it open. */
async function namedBackend(name: string): Promise<{ backend: Backend; server: Server; conns: Set<Socket> }> {
  const conns = new Set<Socket>();
  const server = createServer((s) => {
    conns.add(s);
    s.on('error', () => {});
    s.write(name);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const stop = () => new Promise<void>((r) => { for (const s of conns) s.destroy(); server.close(() => r()); });
  closers.push(async () => { if (server.listening) await stop(); });
  return { backend: { host: '127.0.0.1', port: (server.address() as { port: number }).port }, server, conns };
}

/** A port nothing listens on (a killed server). */
async function deadBackend(): Promise<Backend> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return { host: '127.0.0.1', port };
}

/** Connects through the balancer; resolves with the first bytes, or '' when closed without any. */
function greeting(lb: RoundRobinBalancer): Promise<{ text: string; socket: Socket }> {
  return new Promise((resolve) => {
    const socket = connect(lb.port, '127.0.0.1');
    socket.on('error', () => {});
    socket.once('data', (d) => resolve({ text: d.toString(), socket }));
    socket.once('close', () => resolve({ text: '', socket }));
  });
}

async function balancer(backends: Backend[]): Promise<RoundRobinBalancer> {
  const lb = await startRoundRobinBalancer(backends);
  closers.push(() => lb.close());
  return lb;
}

describe('round-robin test balancer', () => {
  it('alternates new connections between live backends and counts them', async () => {
    const a = await namedBackend('A');
    const b = await namedBackend('B');
    const lb = await balancer([a.backend, b.backend]);
    const seen: string[] = [];
    for (let i = 0; i < 4; i++) {
      const g = await greeting(lb);
      seen.push(g.text);
      g.socket.destroy();
    }
    expect(seen).toEqual(['A', 'B', 'A', 'B']);
    expect(lb.counts()).toEqual([{ connections: 2, failedConnects: 0, bytesFromBackend: 2 }, { connections: 2, failedConnects: 0, bytesFromBackend: 2 }]);
  });

  it('redispatches a connection whose backend refuses it to the next backend', async () => {
    const dead = await deadBackend();
    const b = await namedBackend('B');
    const lb = await balancer([dead, b.backend]);
    const seen: string[] = [];
    for (let i = 0; i < 4; i++) {
      const g = await greeting(lb);
      seen.push(g.text);
      g.socket.destroy();
    }
    expect(seen).toEqual(['B', 'B', 'B', 'B']);
    // Every other connection was first sent to the dead backend.
    expect(lb.counts()).toEqual([{ connections: 0, failedConnects: 2, bytesFromBackend: 0 }, { connections: 4, failedConnects: 0, bytesFromBackend: 4 }]);
    expect(lb.refused()).toBe(0);
  });

  it('closes the client when no backend takes it', async () => {
    const lb = await balancer([await deadBackend(), await deadBackend()]);
    expect((await greeting(lb)).text).toBe('');
    expect(lb.refused()).toBe(1);
    expect(lb.counts().map((c) => c.failedConnects)).toEqual([1, 1]);
  });

  it('closes the client connections a backend carried when that backend dies', async () => {
    const a = await namedBackend('A');
    const lb = await balancer([a.backend]);
    const g = await greeting(lb);
    expect(g.text).toBe('A');
    const closed = new Promise<void>((r) => g.socket.once('close', () => r()));
    for (const s of a.conns) s.destroy();
    await closed;
    expect(g.socket.destroyed).toBe(true);
  });
});
