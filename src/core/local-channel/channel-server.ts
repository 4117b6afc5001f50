/**
 * The machine agent's end of the local channel: a Unix domain socket (Linux, macOS) or a
 * named pipe (Windows) that the tray app in each session connects to.
 *
 * Per connection: `hello` with a claim, the peer-proof challenge (peer-proof.ts), then the
 * allowed requests (get-state, subscribe, check-now, open-logs). Every line is checked
 * against the shared schema (src/shared/local-channel.ts):
 * - a line that is too long, not JSON, or not a request closes this connection only;
 * - a well-formed request for anything not allowed, or anything before the proof, is
 *   answered `refused` / `not-authenticated` and logged with who asked.
 *
 * The server does not know the agent: it follows a `ChannelSource` (state, subscribe,
 * checkNow), so HeadlessAgent stays a composer and this module one job.
 */
import * as net from 'node:net';
import * as fsp from 'node:fs/promises';
import type { AgentState } from '../agent.js';
import type { Logger } from '../logging/logger.js';
import {
  CLIENT_OPS,
  ClientEnvelopeSchema,
  ClientRequestSchema,
  LOCAL_CHANNEL_LIMITS,
  type ChannelErrorCode,
  type ClientRequest,
  type ServiceMessage,
} from '../../shared/local-channel.js';
import { LineFramer, frame } from './line-framer.js';
import type { Challenge, PeerProof, ProvenPeer } from './peer-proof.js';
import { machineStateFor, type ServiceFacts } from './machine-state.js';
import { redactForViewer, type Viewer } from './redact-for-viewer.js';
import type { RecentLog } from './recent-log.js';

export interface ChannelSource {
  state(): AgentState;
  subscribe(listener: (state: AgentState) => void): () => void;
  checkNow(): Promise<unknown>;
}

export interface ChannelServerOptions {
  /** Socket path, or \\.\pipe\name on Windows. */
  path: string;
  source: ChannelSource;
  proof: PeerProof;
  facts: () => ServiceFacts;
  logger: Logger;
  recentLog?: RecentLog;
  /** Profile names compare without case (Windows, macOS). */
  caseInsensitiveProfiles: boolean;
  /** A user-requested check waits this long after the last one (default 30 s). */
  minCheckIntervalMs?: number;
  /** A client must have proved who it is within this time (default 10 s). */
  authTimeoutMs?: number;
  maxLineBytes?: number;
  /** Connections open at once (a session has one tray; default 64). */
  maxConnections?: number;
  /** Refused requests one connection may make before it is closed (default 20). */
  maxRefusals?: number;
  now?: () => number;
}

interface Conn {
  id: number;
  socket: net.Socket;
  framer: LineFramer;
  peer: ProvenPeer | null;
  claimed: string | null;
  challenge: Challenge | null;
  subscribed: boolean;
  pendingState: boolean;
  authTimer: NodeJS.Timeout | undefined;
  refusals: number;
}

export class LocalChannelServer {
  private server: net.Server | undefined;
  private readonly conns = new Set<Conn>();
  private nextId = 1;
  private unsubscribe: (() => void) | undefined;
  private lastUserCheck = -Infinity;
  private readonly log: Logger;
  private readonly now: () => number;

  constructor(private readonly o: ChannelServerOptions) {
    this.log = o.logger.child({ component: 'local-channel' });
    this.now = o.now ?? Date.now;
  }

  async listen(): Promise<void> {
    if (process.platform !== 'win32') await fsp.rm(this.o.path, { force: true });
    const server = net.createServer((s) => this.accept(s));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      // Anyone may connect; nobody is answered before proving who they are.
      server.listen({ path: this.o.path, readableAll: true, writableAll: true }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    if (process.platform !== 'win32') await fsp.chmod(this.o.path, 0o666);
    server.on('error', (err) => this.log.error('local channel server error', { error: err }));
    this.unsubscribe = this.o.source.subscribe(() => this.broadcast());
    this.log.info('local channel listening', { path: this.o.path });
  }

  connections(): number {
    return this.conns.size;
  }

  async close(): Promise<void> {
    this.unsubscribe?.();
    for (const c of this.conns) this.drop(c);
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  // --- connections ---------------------------------------------------------------------

  private accept(socket: net.Socket): void {
    if (this.conns.size >= (this.o.maxConnections ?? 64)) {
      this.log.warn('local channel connection turned away: too many open', { open: this.conns.size });
      socket.destroy();
      return;
    }
    const c: Conn = {
      id: this.nextId++,
      socket,
      framer: new LineFramer(this.o.maxLineBytes ?? LOCAL_CHANNEL_LIMITS.maxClientLineBytes),
      peer: null,
      claimed: null,
      challenge: null,
      subscribed: false,
      pendingState: false,
      authTimer: undefined,
      refusals: 0,
    };
    this.conns.add(c);
    c.authTimer = setTimeout(() => {
      if (!c.peer) this.close1(c, 'did not prove who it is in time');
    }, this.o.authTimeoutMs ?? 10_000);
    socket.on('data', (chunk: Buffer) => {
      for (const ev of c.framer.push(chunk)) {
        if (ev.kind === 'overflow') return this.close1(c, `sent a message over ${this.o.maxLineBytes ?? LOCAL_CHANNEL_LIMITS.maxClientLineBytes} bytes`);
        void this.onLine(c, ev.text);
      }
    });
    socket.on('drain', () => {
      if (c.pendingState) this.sendState(c, null);
    });
    socket.on('error', () => undefined);
    socket.on('close', () => this.drop(c));
  }

  private drop(c: Conn): void {
    if (!this.conns.delete(c)) return;
    if (c.authTimer) clearTimeout(c.authTimer);
    void c.challenge?.discard();
    c.socket.destroy();
  }

  /** Closes one connection for what it sent; the others carry on. */
  private close1(c: Conn, why: string): void {
    this.log.warn('local channel connection closed', { conn: c.id, peer: this.who(c), reason: why });
    this.drop(c);
  }

  private who(c: Conn): string {
    return c.peer ? `${c.peer.user} (uid ${c.peer.uid ?? '-'})` : c.claimed ? `unproven claim ${c.claimed}` : 'unidentified';
  }

  private send(c: Conn, m: ServiceMessage): void {
    if (!c.socket.destroyed) c.socket.write(frame(m));
  }

  private fail(c: Conn, id: number | null, code: ChannelErrorCode, message: string): void {
    this.send(c, { type: 'error', id, code, message });
  }

  // --- requests ------------------------------------------------------------------------

  private async onLine(c: Conn, text: string): Promise<void> {
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch {
      return this.close1(c, 'sent a line that is not JSON');
    }
    const env = ClientEnvelopeSchema.safeParse(raw);
    if (!env.success) return this.close1(c, 'sent a message without a request id and op');
    const { id, op } = env.data;
    if (!(CLIENT_OPS as readonly string[]).includes(op)) {
      this.log.warn('local channel request refused', { conn: c.id, peer: this.who(c), op: op.slice(0, 64) });
      if (++c.refusals > (this.o.maxRefusals ?? 20)) return this.close1(c, 'kept asking for what it may not');
      return this.fail(c, id, 'refused', `"${op.slice(0, 64)}" is not something the tray may ask the Vigil service`);
    }
    const req = ClientRequestSchema.safeParse(raw);
    if (!req.success) return this.close1(c, `sent a malformed "${op}" request`);
    try {
      await this.handle(c, req.data);
    } catch (err) {
      this.log.error('local channel request failed', { conn: c.id, op, error: err });
      this.fail(c, id, 'failed', 'the Vigil service could not do that; details are in its log');
    }
  }

  private async handle(c: Conn, r: ClientRequest): Promise<void> {
    if (r.op === 'hello') {
      if (c.peer || c.challenge) return this.fail(c, r.id, 'refused', 'already identified');
      c.claimed = `${r.claim.user} (uid ${r.claim.uid ?? '-'})`;
      try {
        c.challenge = await this.o.proof.challenge(r.claim);
      } catch (err) {
        this.log.warn('local channel claim rejected', { conn: c.id, claim: c.claimed, problem: (err as Error).message });
        return this.fail(c, r.id, 'not-authenticated', (err as Error).message);
      }
      return this.send(c, { type: 'challenge', id: r.id, path: c.challenge.path });
    }
    if (r.op === 'prove') {
      const ch = c.challenge;
      c.challenge = null;
      const peer = ch ? await ch.verify(r.secret) : null;
      if (!peer) {
        this.log.warn('local channel proof failed', { conn: c.id, claim: c.claimed });
        return this.close1(c, 'failed the identity proof');
      }
      c.peer = peer;
      if (c.authTimer) clearTimeout(c.authTimer);
      this.log.info('local channel client', { conn: c.id, peer: this.who(c), profile: peer.profile });
      return this.send(c, { type: 'ok', id: r.id });
    }
    if (!c.peer) {
      this.log.warn('local channel request before identity proof', { conn: c.id, op: r.op, claim: c.claimed });
      return this.fail(c, r.id, 'not-authenticated', 'prove who you are first');
    }
    switch (r.op) {
      case 'get-state':
        return this.sendState(c, r.id);
      case 'subscribe':
        c.subscribed = true;
        return this.sendState(c, r.id);
      case 'check-now': {
        const wait = this.lastUserCheck + (this.o.minCheckIntervalMs ?? 30_000) - this.now();
        if (wait > 0) return this.fail(c, r.id, 'busy', `a check ran moments ago; try again in ${Math.ceil(wait / 1000)} seconds`);
        this.lastUserCheck = this.now();
        this.log.info('check requested from the tray', { conn: c.id, peer: this.who(c) });
        await this.o.source.checkNow();
        this.lastUserCheck = this.now();
        return this.send(c, { type: 'ok', id: r.id });
      }
      case 'open-logs': {
        // Scrubbed with the names of every profile the agent knows about.
        const known = this.o.source.state();
        const { scrub } = redactForViewer({ findings: known.findings, installs: known.installs, problems: [], lastScanError: null }, this.viewer(c));
        const entries = (this.o.recentLog?.entries() ?? []).map((e) => ({ ...e, msg: scrub(e.msg) }));
        return this.send(c, { type: 'logs', id: r.id, entries });
      }
    }
  }

  private viewer(c: Conn): Viewer {
    return { profile: c.peer?.profile ?? null, caseInsensitive: this.o.caseInsensitiveProfiles };
  }

  private sendState(c: Conn, id: number | null): void {
    if (c.socket.writableNeedDrain && id === null) {
      // A slow reader gets the latest state when it catches up, not every one in between.
      c.pendingState = true;
      return;
    }
    c.pendingState = false;
    this.send(c, { type: 'state', id, state: machineStateFor(this.o.source.state(), this.o.facts(), this.viewer(c)) });
  }

  private broadcast(): void {
    for (const c of this.conns) if (c.peer && c.subscribed) this.sendState(c, null);
  }
}
