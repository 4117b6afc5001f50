/**
 * The channel server's limits, in process with the real POSIX peer proof (the client
 * proves the account this test runs as): connections beyond the limit are turned away,
 * a client that keeps asking for refused requests is closed, and a check asked for
 * moments after another is answered `busy` without a second scan.
 */
import { mkdtemp } from 'node:fs/promises';
import * as net from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LocalChannelServer } from '../../../src/core/local-channel/channel-server.js';
import { ChannelRequestError, LocalChannelClient } from '../../../src/core/local-channel/channel-client.js';
import { ownClaim, PosixPeerProof, readChallenge } from '../../../src/core/local-channel/peer-proof.js';
import { silentLogger } from '../../../src/core/logging/logger.js';
import type { AgentState } from '../../../src/core/agent.js';

const core: AgentState = {
  phase: 'running', scanning: false, verdict: null, findings: [], installs: [], packs: [], lastScanAt: null, lastScanError: null,
  connectionWatch: 'off', report: null, lastReportAt: null, backlog: null, problems: [],
};

let server: LocalChannelServer | undefined;
const clients: LocalChannelClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) await c.stop();
  await server?.close();
});

async function start(opts: { maxConnections?: number; maxRefusals?: number; minCheckIntervalMs?: number } = {}) {
  const dir = await mkdtemp(path.join(tmpdir(), 'vigil-chan-'));
  const proof = new PosixPeerProof(path.join(dir, 'proof'));
  await proof.prepare();
  let scans = 0;
  server = new LocalChannelServer({
    path: path.join(dir, 'agent.sock'),
    source: { state: () => core, subscribe: () => () => {}, checkNow: async () => void scans++ },
    proof,
    facts: () => ({ agentVersion: '0.1.0', hostname: 'h', startedAt: new Date().toISOString(), staleAfterMs: 900_000 }),
    logger: silentLogger,
    caseInsensitiveProfiles: false,
    ...opts,
  });
  await server.listen();
  const connect = async () => {
    const c = new LocalChannelClient({ path: path.join(dir, 'agent.sock'), claim: ownClaim, readSecret: readChallenge, logger: silentLogger, retryMs: 60_000 });
    clients.push(c);
    await c.start();
    return c;
  };
  return { dir, connect, scans: () => scans };
}

// The proof needs this account's home to be a profile folder (/home/x, /Users/x, /root).
const homeUsable = /^\/(home|Users)\/[^/]+$|^\/root$/.test(userInfo().homedir);

describe.skipIf(process.platform === 'win32')('LocalChannelServer limits', () => {
  it('turns away connections beyond the limit', async () => {
    const { dir } = await start({ maxConnections: 2 });
    const open = async () => {
      const s = net.createConnection({ path: path.join(dir, 'agent.sock') });
      s.on('error', () => undefined);
      const closed = new Promise<boolean>((r) => s.once('close', () => r(true)));
      await new Promise<void>((r) => s.once('connect', () => r()));
      return { s, closed };
    };
    const a = await open();
    const b = await open();
    const c = await open();
    expect(await c.closed).toBe(true);
    expect(server!.connections()).toBe(2);
    a.s.destroy();
    b.s.destroy();
  });

  it.skipIf(!homeUsable)('closes a client that keeps asking for refused requests; a check moments after another is busy', async () => {
    const h = await start({ maxRefusals: 3, minCheckIntervalMs: 60_000 });
    const c = await h.connect();
    expect(c.connected()).toBe(true);
    await c.checkNow();
    await expect(c.checkNow()).rejects.toMatchObject({ name: 'ChannelRequestError', code: 'busy' });
    expect(h.scans()).toBe(1);
    for (let i = 0; i < 3; i++) await expect(c.request({ op: 'set-server' })).rejects.toBeInstanceOf(ChannelRequestError);
    await expect(c.request({ op: 'set-server' })).rejects.toMatchObject({ name: 'ChannelUnavailableError' });
    expect(c.connected()).toBe(false);
  });
});
