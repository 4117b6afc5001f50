/**
 * The tray's end of the local channel: connects to the machine agent, proves who it runs
 * as (peer-proof.ts), follows the state, and asks for check-now and the recent log. It
 * reconnects on its own (1 s, doubling to `maxRetryMs`), so a service restart is a grey
 * moment in the tray, not a dead tray; while disconnected `connected()` is false and
 * requests fail at once with ChannelUnavailableError.
 */
import * as net from 'node:net';
import type { Logger } from '../logging/logger.js';
import {
  LOCAL_CHANNEL_LIMITS,
  LOCAL_CHANNEL_VERSION,
  ServiceMessageSchema,
  type MachineState,
  type PeerClaim,
  type ServiceLogEntry,
  type ServiceMessage,
} from '../../shared/local-channel.js';
import { LineFramer, frame } from './line-framer.js';

export class ChannelUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ChannelUnavailableError';
  }
}

/** The service answered a request with an error (refused, busy, ...). */
export class ChannelRequestError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ChannelRequestError';
  }
}

export type ChannelStatus = { connected: true } | { connected: false; reason: string };

export interface ChannelClientOptions {
  path: string;
  claim: () => Promise<PeerClaim>;
  readSecret: (file: string) => Promise<string>;
  logger: Logger;
  onState?: (state: MachineState) => void;
  onStatus?: (status: ChannelStatus) => void;
  retryMs?: number;
  maxRetryMs?: number;
  requestTimeoutMs?: number;
}

type Pending = { resolve: (m: ServiceMessage) => void; reject: (e: Error) => void; timer: NodeJS.Timeout | undefined };

export class LocalChannelClient {
  private socket: net.Socket | undefined;
  private ready = false;
  private stopped = false;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private retryTimer: NodeJS.Timeout | undefined;
  private delay: number;
  private last: MachineState | null = null;
  private lastReason = '';
  private firstAttempt: Promise<void> | undefined;
  private settleFirst: (() => void) | undefined;

  constructor(private readonly o: ChannelClientOptions) {
    this.delay = o.retryMs ?? 1000;
  }

  /** Starts connecting; resolves after the first attempt has connected or failed. */
  start(): Promise<void> {
    this.firstAttempt ??= new Promise<void>((r) => (this.settleFirst = r));
    this.connect();
    return this.firstAttempt;
  }

  connected(): boolean {
    return this.ready;
  }

  state(): MachineState | null {
    return this.last;
  }

  async checkNow(): Promise<void> {
    const m = await this.request({ op: 'check-now' }, 15 * 60_000);
    if (m.type !== 'ok') throw new ChannelUnavailableError('unexpected answer to check-now');
  }

  async openLogs(): Promise<ServiceLogEntry[]> {
    const m = await this.request({ op: 'open-logs' });
    if (m.type !== 'logs') throw new ChannelUnavailableError('unexpected answer to open-logs');
    return m.entries;
  }

  /** Sends any request (tests use it to ask for what is not allowed). */
  request(body: Record<string, unknown>, timeoutMs = this.o.requestTimeoutMs ?? 10_000): Promise<ServiceMessage> {
    if (!this.ready || !this.socket) return Promise.reject(new ChannelUnavailableError(this.lastReason || 'not connected to the Vigil service'));
    return this.send(this.socket, body, timeoutMs);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.socket?.destroy();
    this.failAll('the tray is closing');
  }

  // --- connection ----------------------------------------------------------------------

  private connect(): void {
    if (this.stopped || this.socket) return;
    const socket = net.createConnection({ path: this.o.path });
    this.socket = socket;
    const framer = new LineFramer(LOCAL_CHANNEL_LIMITS.maxServiceLineBytes);
    socket.on('data', (chunk: Buffer) => {
      for (const ev of framer.push(chunk)) {
        if (ev.kind === 'overflow') {
          this.o.logger.error('the Vigil service sent an oversized message; reconnecting', { bytes: ev.bytes });
          socket.destroy();
          return;
        }
        this.onLine(ev.text, socket);
      }
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      this.lastReason = describeConnectError(err, this.o.path);
    });
    socket.on('close', () => this.onClose(socket));
    socket.once('connect', () => {
      void this.handshake(socket).catch((err: Error) => {
        this.lastReason = `the Vigil service did not accept this tray: ${err.message}`;
        this.o.logger.warn('local channel handshake failed', { problem: err.message });
        socket.destroy();
      });
    });
  }

  private async handshake(socket: net.Socket): Promise<void> {
    const claim = await this.o.claim();
    const challenge = await this.send(socket, { op: 'hello', version: LOCAL_CHANNEL_VERSION, claim });
    if (challenge.type !== 'challenge') throw new Error(challenge.type === 'error' ? challenge.message : 'no challenge');
    const secret = await this.o.readSecret(challenge.path);
    const ok = await this.send(socket, { op: 'prove', secret });
    if (ok.type !== 'ok') throw new Error('proof not accepted');
    const first = await this.send(socket, { op: 'subscribe' });
    if (first.type !== 'state') throw new Error('no state');
    this.ready = true;
    this.delay = this.o.retryMs ?? 1000;
    this.lastReason = '';
    this.o.logger.info('connected to the Vigil service', { path: this.o.path });
    this.o.onStatus?.({ connected: true });
    this.settleFirst?.();
  }

  private onClose(socket: net.Socket): void {
    if (this.socket !== socket) return;
    this.socket = undefined;
    const was = this.ready;
    this.ready = false;
    this.failAll(this.lastReason || 'the connection to the Vigil service closed');
    if (!this.lastReason) this.lastReason = 'the connection to the Vigil service closed';
    if (was) this.o.logger.warn('disconnected from the Vigil service', { reason: this.lastReason });
    if (was || !this.firstAttempt || this.settleFirst) this.o.onStatus?.({ connected: false, reason: this.lastReason });
    this.settleFirst?.();
    this.settleFirst = undefined;
    if (this.stopped) return;
    this.retryTimer = setTimeout(() => this.connect(), this.delay);
    this.delay = Math.min(this.delay * 2, this.o.maxRetryMs ?? 30_000);
  }

  private send(socket: net.Socket, body: Record<string, unknown>, timeoutMs = this.o.requestTimeoutMs ?? 10_000): Promise<ServiceMessage> {
    const id = this.nextId++;
    return new Promise<ServiceMessage>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new ChannelUnavailableError('the Vigil service did not answer in time'));
      }, timeoutMs);
      this.pending.set(id, { resolve, reject, timer });
      socket.write(frame({ id, ...body }));
    });
  }

  private onLine(text: string, socket: net.Socket): void {
    let m: ServiceMessage;
    try {
      m = ServiceMessageSchema.parse(JSON.parse(text));
    } catch (err) {
      this.o.logger.error('the Vigil service sent a message this tray cannot read; reconnecting', { problem: (err as Error).message.slice(0, 300) });
      socket.destroy();
      return;
    }
    if (m.type === 'state') {
      this.last = m.state;
      this.o.onState?.(m.state);
    }
    if (m.id === null) return;
    const p = this.pending.get(m.id);
    if (!p) return;
    this.pending.delete(m.id);
    clearTimeout(p.timer);
    if (m.type === 'error') p.reject(new ChannelRequestError(m.code, m.message));
    else p.resolve(m);
  }

  private failAll(reason: string): void {
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(new ChannelUnavailableError(reason));
      this.pending.delete(id);
    }
  }
}

function describeConnectError(err: NodeJS.ErrnoException, where: string): string {
  if (err.code === 'ENOENT' || err.code === 'ECONNREFUSED') return `the Vigil service is not running (nothing answers at ${where})`;
  if (err.code === 'EACCES') return `this account may not reach the Vigil service at ${where}`;
  return `the Vigil service cannot be reached at ${where}: ${err.message}`;
}
