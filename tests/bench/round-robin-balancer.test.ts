/**
 * The ingest bench's balancer process (bench/round-robin-balancer.ts, over the tests'
 * balancer): real HTTP servers on loopback behind it, a kept-alive connection stays on its
 * backend, and bad backend addresses are refused with a message naming them. Redispatch is
 * tested with the balancer itself (tests/helpers/round-robin-balancer.test.ts).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Agent, request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { BackendAddressError, parseBackend } from '../../bench/round-robin-balancer.js';
import { startRoundRobinBalancer, type RoundRobinBalancer } from '../helpers/round-robin-balancer.js';

const servers: Server[] = [];
let balancer: RoundRobinBalancer | undefined;

afterEach(async () => {
  await balancer?.close();
  balancer = undefined;
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

async function namedServer(name: string): Promise<number> {
  const s = createServer((_req, res) => res.end(name));
  servers.push(s);
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  return (s.address() as AddressInfo).port;
}

describe('startRoundRobinBalancer', () => {
  it('deals each new connection to the next backend, and keeps a connection on its backend', async () => {
    const ports = [await namedServer('a'), await namedServer('b')];
    balancer = await startRoundRobinBalancer(ports.map((port) => ({ host: '127.0.0.1', port })));
    const answers: string[] = [];
    for (let i = 0; i < 4; i++) {
      // A fresh agent is a fresh connection; two requests on it reach the same backend.
      const agent = new Agent({ connections: 1 });
      const url = `http://127.0.0.1:${balancer.port}/`;
      const first = await (await request(url, { dispatcher: agent })).body.text();
      const second = await (await request(url, { dispatcher: agent })).body.text();
      expect(second).toBe(first);
      answers.push(first);
      await agent.close();
    }
    expect(answers).toEqual(['a', 'b', 'a', 'b']);
  });
});

describe('parseBackend', () => {
  it('reads host:port', () => {
    expect(parseBackend('127.0.0.1:8080')).toEqual({ host: '127.0.0.1', port: 8080 });
  });

  it('names what is wrong', () => {
    for (const bad of ['127.0.0.1', '127.0.0.1:0', 'host:70000', ':80', 'a b:80', 'http://127.0.0.1:80']) {
      expect(() => parseBackend(bad)).toThrow(BackendAddressError);
    }
    expect(() => parseBackend('nope')).toThrow(/"nope" is not host:port/);
  });
});
