/**
 * A webhook receiver on loopback for notification tests: verifies each request with the
 * `standardwebhooks` package (the specification's own implementation, not ours), keeps
 * what it accepted, and can be told to answer 500 or to hang; `stop()` and `start()` on
 * the same port simulate a receiver that is down.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';

export interface Received {
  id: string;
  timestamp: string;
  body: string;
  json: unknown;
}

export type ReceiverMode = 'ok' | 'error500' | 'hang';

export class WebhookReceiver {
  /** Verified requests, in arrival order (repeats included). */
  readonly received: Received[] = [];
  /** Requests whose signature did not verify. */
  readonly rejected: string[] = [];
  /** Every request seen, whatever the mode. */
  hits = 0;
  mode: ReceiverMode = 'ok';
  secret: string | null = null;
  private server: Server | null = null;
  private readonly hanging = new Set<ServerResponse>();
  port = 0;

  get url(): string {
    return `http://127.0.0.1:${this.port}/hook?token=not-for-logs`;
  }

  async start(port = this.port): Promise<void> {
    const server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    for (const r of this.hanging) r.destroy();
    this.hanging.clear();
    const s = this.server;
    this.server = null;
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }

  /** Unique ids received (at-least-once on the wire, exactly once after this). */
  uniqueById(): Received[] {
    const seen = new Set<string>();
    return this.received.filter((r) => (seen.has(r.id) ? false : (seen.add(r.id), true)));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.hits++;
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    if (this.mode === 'hang') {
      this.hanging.add(res);
      return;
    }
    if (this.mode === 'error500') {
      res.writeHead(500).end('receiver broken');
      return;
    }
    const headers = { 'webhook-id': String(req.headers['webhook-id']), 'webhook-timestamp': String(req.headers['webhook-timestamp']), 'webhook-signature': String(req.headers['webhook-signature']) };
    try {
      if (!this.secret) throw new Error('no secret yet');
      new Webhook(this.secret).verify(body, headers);
    } catch (err) {
      this.rejected.push(`${headers['webhook-id']}: ${(err as Error).message}`);
      res.writeHead(401).end();
      return;
    }
    this.received.push({ id: headers['webhook-id'], timestamp: headers['webhook-timestamp'], body, json: JSON.parse(body) });
    res.writeHead(204).end();
  }
}
