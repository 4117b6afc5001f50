/**
 * The notification fault test (issue 14), with real processes on loopback: the reference
 * server (`vigil server start`), two real agents raising 50 connection alerts each through
 * the protocol, and a Standard Webhooks receiver (verified by the `standardwebhooks`
 * package) that is down, then answers 500, then hangs, then comes back, while the server
 * is killed with SIGKILL once mid-delivery. Every alert arrives, exactly once after
 * de-duplication by delivery id, in order per device.
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { connectionAlert } from '../server/helpers/sample-reports.js';
import { WebhookReceiver } from '../server/helpers/webhook-receiver.js';
import type { NotifyEvent } from '../../src/server/notify/events.js';
import { childProcesses, type ChildProc as Proc } from './child-process.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const VIGIL = path.join(ROOT, 'tests/server/helpers/vigil-command.ts');
const AGENT = path.join(ROOT, 'tests/e2e/reporting-agent-child.ts');
const ADMIN_TOKEN = 'e2e-admin-token-0123456789abcdef';
const TUNING = JSON.stringify({ burstWindowMs: 200, timeoutMs: 800, baseDelayMs: 100, maxDelayMs: 600, maxAttempts: 1000, pollMs: 50 });

const start = childProcesses();

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function cli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<string> {
  const p = start(VIGIL, ['server', ...args], env);
  const code = await p.exited;
  if (code !== 0) throw new Error(`vigil server ${args[0]} exited ${code}: ${p.err()}`);
  return p.out.join('\n');
}

async function startServer(dbFile: string, port: number): Promise<Proc> {
  const proc = start(VIGIL, ['server', 'start', '--db', dbFile, '--port', String(port), '--log-level', 'warn'], { VIGIL_ADMIN_TOKEN: ADMIN_TOKEN, VIGIL_NOTIFY_TUNING: TUNING });
  await proc.waitFor(/listening on http:\/\/127\.0\.0\.1:\d+/);
  return proc;
}

describe('notification delivery under faults (real processes)', () => {
  it('100 alerts from two agents reach a receiver that was down, failing and hanging, across a SIGKILL of the server: each once, in order per device', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'vigil-notify-fault-'));
    const dbFile = path.join(dir, 'server.db');
    const token = JSON.parse(await cli(['token', 'create', '--tenant', 'Acme Dental', '--db', dbFile, '--json'])).enrollToken as string;

    const rx = new WebhookReceiver();
    await rx.start();
    const added = JSON.parse(await cli(['notify', 'add', '--db', dbFile, '--name', 'soc', '--type', 'webhook', '--events', 'alert', '--json'], { VIGIL_NOTIFY_URL: rx.url }));
    rx.secret = added.secret;
    const listed = await cli(['notify', 'list', '--db', dbFile]);
    expect(listed).not.toContain('not-for-logs');
    expect(listed).not.toContain(rx.secret!.slice(6));
    await rx.stop(); // phase 1: the receiver is down

    let server = await startServer(dbFile, 0);
    const port = Number(/127\.0\.0\.1:(\d+)/.exec(server.out.join('\n'))![1]);
    const serverUrl = `http://127.0.0.1:${port}`;
    const agents = ['A', 'B'].map((n) => {
      const stateDir = path.join(dir, `agent-${n}`);
      return { stateDir, proc: start(AGENT, [JSON.stringify({ serverUrl, token, stateDir, alerts: 50, everyMs: 40, stableId: `4C4C4544-0042-3510-8052-B4C04F56593${n}` })]) };
    });
    for (const a of agents) await a.proc.waitFor(/^enrolled$/);
    for (const a of agents) await writeFile(path.join(a.stateDir, 'go'), '');

    await sleep(1200);
    rx.mode = 'error500'; // phase 2
    await rx.start();
    await sleep(1200);
    const hitsIn500 = rx.hits;
    rx.mode = 'hang'; // phase 3
    await sleep(1200);
    const hitsBeforeKill = rx.hits;
    server.child.kill('SIGKILL'); // mid-delivery: sends are hanging
    await server.exited;
    const firstServerLog = server.err();
    server = await startServer(dbFile, port);
    await sleep(1000);
    const hitsWhileHanging = rx.hits - hitsIn500;
    rx.mode = 'ok'; // phase 4

    const expectedPerDevice = Array.from({ length: 50 }, (_, i) => connectionAlert(i).alertId);
    const perDevice = () => {
      const m = new Map<string, string[]>();
      for (const r of rx.uniqueById()) {
        const ev = r.json as NotifyEvent;
        if (ev.data.type !== 'alert') continue;
        const list = m.get(ev.data.device.id) ?? [];
        list.push(...ev.data.alerts.map((a) => a.alertId));
        m.set(ev.data.device.id, list);
      }
      return m;
    };
    const end = Date.now() + 60_000;
    for (let i = 0; i < 1200 && Date.now() < end; i++) {
      const m = perDevice();
      if (m.size === 2 && [...m.values()].every((l) => l.length >= 50)) break;
      await sleep(50);
    }
    await sleep(500); // a straggling duplicate would show now
    for (const a of agents) a.proc.child.kill('SIGTERM');
    server.child.kill('SIGTERM');
    await Promise.all([server.exited, ...agents.map((a) => a.proc.exited)]);
    await rx.stop();

    // The servers logged the retries, naming the channel, never its URL token or secret.
    const logs = firstServerLog + server.err();
    expect(logs).toMatch(/notification will be retried.*"channel":"soc"/);
    expect(logs).not.toContain('not-for-logs');
    expect(logs).not.toContain(rx.secret!.slice(6));
    const m = perDevice();
    expect(m.size).toBe(2);
    for (const list of m.values()) expect(list).toEqual(expectedPerDevice); // all 50, each once, in raise order
    expect(rx.rejected).toEqual([]);
    // The faults really happened: 500s answered, sends hung, and at least once on the wire.
    expect(hitsIn500).toBeGreaterThan(0);
    expect(hitsWhileHanging).toBeGreaterThan(0);
    expect(hitsBeforeKill).toBeGreaterThan(hitsIn500);
    expect(rx.received.length).toBeGreaterThanOrEqual(rx.uniqueById().length);
  }, 120_000);
});
