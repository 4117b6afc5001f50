/**
 * The machine agent with real processes on Linux: `vigil run --machine` as root serves the
 * local channel; tray-side clients run as two other users (setpriv, as
 * tests/core/inventory/locations.test.ts drops privileges) in their own processes.
 *
 * The agent scans a Windows-layout tree (--root) in which alice's profile is 0700 and
 * root's: the clients cannot read it, the agent can, and a check one client asks for finds
 * what was installed there, shown to both without alice's name or paths.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { threeCxExe } from '../../main/fixtures/windows-tree.js';
import { OTHER_PROFILE } from '../../../src/core/local-channel/redact-for-viewer.js';
import type { MachineState } from '../../../src/shared/local-channel.js';
import type { DeviceDetail, DeviceList } from '../../../src/shared/protocol.js';
import { needsCheckoutOthersCanRead } from '../../helpers/checkout-access.js';
import { startTestServer, type TestServer } from '../../server/helpers/test-server.js';

const USERS = ['vigilch1', 'vigilch2'] as const;
const isRoot = process.getuid?.() === 0;
const hasTools = ['setpriv', 'useradd'].every((t) => spawnSync('sh', ['-c', `command -v ${t}`]).status === 0);
const skipReason = process.platform !== 'linux' ? 'Linux only' : !isRoot ? 'needs root (CI runs as root)' : !hasTools ? 'needs setpriv (util-linux) and useradd (passwd)' : '';
if (skipReason) {
  if (process.env.CI === 'true' && process.platform === 'linux') throw new Error(`machine-agent.e2e: ${skipReason}`);
  console.log(`SKIP machine-agent.e2e: ${skipReason}`);
}

const repo = path.resolve('.');
const cli = path.join(repo, 'src/cli/main.ts');
const APP = 'AppData/Local/Programs/3CXDesktopApp';

interface Event {
  event: 'state' | 'status' | 'reply';
  state?: MachineState;
  connected?: boolean;
  reason?: string;
  tag?: string;
  message?: { type: string; code?: string; message?: string };
  error?: { name: string; code?: string; message: string };
}

class ClientProc {
  readonly events: Event[] = [];
  private buf = '';
  private n = 0;
  constructor(readonly proc: ChildProcess) {
    proc.stdout!.on('data', (d: Buffer) => {
      this.buf += d.toString('utf8');
      let i;
      while ((i = this.buf.indexOf('\n')) >= 0) {
        this.events.push(JSON.parse(this.buf.slice(0, i)) as Event);
        this.buf = this.buf.slice(i + 1);
      }
    });
  }
  async waitFor(pred: (e: Event) => boolean, what: string, from = 0, ms = 60_000): Promise<Event> {
    const end = Date.now() + ms;
    for (;;) {
      const hit = this.events.slice(from).find(pred);
      if (hit) return hit;
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}; last events: ${JSON.stringify(this.events.slice(-3)).slice(0, 1500)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  async request(body: Record<string, unknown>, ms?: number): Promise<Event> {
    const tag = `r${++this.n}`;
    this.proc.stdin!.write(JSON.stringify({ tag, ...body }) + '\n');
    return this.waitFor((e) => e.event === 'reply' && e.tag === tag, `reply to ${JSON.stringify(body)}`, 0, ms);
  }
  lastState(): MachineState | undefined {
    return [...this.events].reverse().find((e) => e.event === 'state')?.state;
  }
}

let work: string;
let tree: string;
let channelDir: string;
let agent: ChildProcess | undefined;
let srv: TestServer | undefined;
let agentLog = '';
const clients: ClientProc[] = [];

function startAgent(): ChildProcess {
  const p = spawn(process.execPath, ['--import', 'tsx', cli, 'run', '--machine', '--channel-dir', channelDir, '--root', tree, '--config', path.join(work, 'config.json')], {
    cwd: repo,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  p.stderr!.on('data', (d: Buffer) => (agentLog += d.toString('utf8')));
  return p;
}

async function waitUntil(cond: () => boolean | Promise<boolean>, what: string, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}\nagent log:\n${agentLog.slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function startClient(user: string): ClientProc {
  const p = spawn('setpriv', [`--reuid=${user}`, `--regid=${user}`, '--init-groups', process.execPath, '--import', 'tsx', path.join(repo, 'tests/core/local-channel/channel-client-process.ts'), path.join(channelDir, 'agent.sock')], {
    cwd: repo,
    env: { ...process.env, HOME: `/home/${user}` },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const c = new ClientProc(p);
  clients.push(c);
  return c;
}

/** A raw connection from this (root) process, to send what no real client would. */
async function raw(lines: string[]): Promise<{ received: string; closed: boolean }> {
  const s = net.createConnection({ path: path.join(channelDir, 'agent.sock') });
  let received = '';
  let closed = false;
  s.on('data', (d) => (received += d.toString('utf8')));
  s.on('close', () => (closed = true));
  s.on('error', () => undefined);
  await new Promise<void>((r) => s.once('connect', () => r()));
  for (const l of lines) s.write(l);
  await new Promise((r) => setTimeout(r, 400));
  s.destroy();
  return { received, closed };
}

describe.skipIf(skipReason !== '')('the machine agent serves the tray clients over a Unix socket', skipReason ? {} : needsCheckoutOthersCanRead(), () => {
  beforeAll(async () => {
    for (const u of USERS) {
      if (spawnSync('id', [u]).status !== 0) {
        const r = spawnSync('useradd', ['--create-home', '--home-dir', `/home/${u}`, '--shell', '/usr/sbin/nologin', '--user-group', u], { encoding: 'utf8' });
        if (r.status !== 0) throw new Error(`useradd ${u}: ${r.stderr}`);
      }
    }
    work = await mkdtemp(path.join(tmpdir(), 'vigil-machine-'));
    await chmod(work, 0o755);
    tree = path.join(work, 'tree');
    channelDir = path.join(work, 'run');
    await mkdir(path.join(tree, 'Windows/System32'), { recursive: true });
    for (const u of ['alice', ...USERS]) {
      await mkdir(path.join(tree, 'Users', u, 'AppData/Local'), { recursive: true });
      await writeFile(path.join(tree, 'Users', u, 'NTUSER.DAT'), 'x');
    }
    // vigilch1's own install: an old, at-risk build.
    await mkdir(path.join(tree, 'Users/vigilch1', APP), { recursive: true });
    await writeFile(path.join(tree, 'Users/vigilch1', APP, '3CXDesktopApp.exe'), threeCxExe('18.12.402'));
    await chmod(path.join(tree, 'Users/alice'), 0o700);
    srv = await startTestServer();
    await writeFile(
      path.join(work, 'config.json'),
      JSON.stringify({ stateDir: path.join(work, 'state'), scanIntervalSec: 3600, serverUrl: srv.url, enrollToken: await srv.createToken('Acme IT Partners'), heartbeatIntervalSec: 3600 }),
    );
    agent = startAgent();
    await waitUntil(() => existsSync(path.join(channelDir, 'agent.sock')), 'the agent socket');
  }, 120_000);

  afterAll(async () => {
    for (const c of clients) c.proc.kill('SIGKILL');
    agent?.kill('SIGKILL');
    if (srv) await srv.closeNow();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('gives each user the machine state, own profile in full, other profiles redacted; a check reads a profile the user cannot', async () => {
    // The client's account really cannot read alice's profile.
    const denied = spawnSync('setpriv', ['--reuid=vigilch1', '--regid=vigilch1', '--init-groups', 'ls', path.join(tree, 'Users/alice')], { encoding: 'utf8' });
    expect(denied.status).not.toBe(0);
    expect(denied.stderr).toMatch(/Permission denied/);

    const c1 = startClient('vigilch1');
    await c1.waitFor((e) => e.event === 'status' && e.connected === true, 'client 1 connected');
    await c1.waitFor((e) => e.event === 'state' && e.state!.lastScanAt !== null && !e.state!.scanning, 'a first scan');
    let s = c1.lastState()!;
    expect(s.service.viewerProfile).toBe('vigilch1');
    expect(s.verdict?.status).toBe('attention');
    expect(s.installs).toEqual([expect.objectContaining({ user: 'vigilch1', version: '18.12.402', versionClass: 'at-risk', location: path.join(tree, 'Users/vigilch1', APP) })]);

    // alice gets the trojanized build; vigilch1 asks for a check; the root agent reads her 0700 profile.
    await mkdir(path.join(tree, 'Users/alice', APP), { recursive: true });
    await writeFile(path.join(tree, 'Users/alice', APP, '3CXDesktopApp.exe'), threeCxExe('18.12.416'));
    const before = s.lastScanAt;
    const reply = await c1.request({ op: 'check-now' }, 120_000);
    expect(reply.message).toEqual({ type: 'ok', id: expect.any(Number) });
    await c1.waitFor((e) => e.event === 'state' && e.state!.lastScanAt !== before && !e.state!.scanning, 'the requested scan');
    s = c1.lastState()!;
    expect(s.verdict?.status).toBe('compromised');
    const other = s.installs.find((i) => i.version === '18.12.416')!;
    expect(other).toMatchObject({ versionClass: 'compromised', location: OTHER_PROFILE });
    expect(other.user).toBeUndefined();
    expect(s.service.otherProfiles.installs).toBe(1);
    expect(JSON.stringify(s)).not.toContain('alice');
    expect(agentLog).toMatch(/check requested from the tray.*vigilch1/);

    // A second user gets the same machine state, with vigilch1's profile redacted for them.
    const c2 = startClient('vigilch2');
    await c2.waitFor((e) => e.event === 'state', 'client 2 state');
    const s2 = c2.lastState()!;
    expect(s2.service.viewerProfile).toBe('vigilch2');
    expect(s2.lastScanAt).toBe(s.lastScanAt);
    expect(s2.verdict).toEqual(s.verdict);
    expect(s2.installs.map((i) => i.location)).toEqual([OTHER_PROFILE, OTHER_PROFILE]);
    expect(JSON.stringify(s2)).not.toMatch(/alice|vigilch1/);

    // The recent service log, scrubbed for this user.
    const logs = await c2.request({ op: 'open-logs' });
    expect(logs.message?.type).toBe('logs');
    expect(JSON.stringify(logs.message)).toContain('check requested from the tray');
    expect(JSON.stringify(logs.message)).not.toContain('vigilch1');
  }, 120_000);

  it('refuses and logs what a user may not ask, on a connection that stays open', async () => {
    const c1 = clients[0]!;
    for (const op of ['set-server', 'load-pack', 'set-settings']) {
      const r = await c1.request({ op, url: 'https://evil.example' });
      expect(r.error).toMatchObject({ name: 'ChannelRequestError', code: 'refused' });
      expect(agentLog).toMatch(new RegExp(`local channel request refused.*vigilch1.*${op}`));
    }
    expect((await c1.request({ op: 'get-state' })).message?.type).toBe('state');
    // Before the proof nothing is answered; a claim to someone else's home is turned down.
    const early = await raw([JSON.stringify({ id: 1, op: 'get-state' }) + '\n']);
    expect(JSON.parse(early.received)).toMatchObject({ type: 'error', code: 'not-authenticated' });
    const uid2 = Number(spawnSync('id', ['-u', 'vigilch2'], { encoding: 'utf8' }).stdout.trim());
    const claim = await raw([JSON.stringify({ id: 1, op: 'hello', version: 1, claim: { uid: uid2, user: 'vigilch2', home: '/home/vigilch1' } }) + '\n']);
    expect(JSON.parse(claim.received)).toMatchObject({ type: 'error', code: 'not-authenticated', message: expect.stringContaining('does not belong') });
    expect(agentLog).toMatch(/local channel claim rejected/);
  }, 120_000);

  it('closes a malformed or oversized message’s connection and nothing else', async () => {
    const [c1, c2] = clients as [ClientProc, ClientProc];
    const garbage = await raw(['this is not json\n']);
    expect(garbage.closed).toBe(true);
    const noEnvelope = await raw([JSON.stringify({ hello: 1 }) + '\n']);
    expect(noEnvelope.closed).toBe(true);
    const badHello = await raw([JSON.stringify({ id: 1, op: 'hello', version: 1, claim: { user: 42 } }) + '\n']);
    expect(badHello.closed).toBe(true);
    const huge = await raw(['{"id":1,"op":"get-state","pad":"' + 'x'.repeat(64 * 1024)]);
    expect(huge.closed).toBe(true);
    expect(agentLog).toMatch(/local channel connection closed.*not JSON/);
    expect(agentLog).toMatch(/local channel connection closed.*over 8192 bytes/);
    for (const c of [c1, c2]) expect((await c.request({ op: 'get-state' })).message?.type).toBe('state');
  }, 120_000);

  it('survives the agent being killed and restarted: the clients go grey, then reconnect', async () => {
    const [c1, c2] = clients as [ClientProc, ClientProc];
    // Enrolled before the kill, so the restarted agent must reuse its credential.
    await waitUntil(() => c1.lastState()?.report?.enrolment === 'enrolled', 'enrolment before the kill');
    const mark = [c1.events.length, c2.events.length];
    agent!.kill('SIGKILL');
    await new Promise<void>((r) => agent!.once('exit', () => r()));
    for (const [i, c] of [c1, c2].entries()) {
      const down = await c.waitFor((e) => e.event === 'status' && e.connected === false, 'disconnected', mark[i]);
      expect(down.reason).toMatch(/closed|not running/);
    }
    const refusedWhileDown = await c1.request({ op: 'check-now' });
    expect(refusedWhileDown.error).toMatchObject({ name: 'ChannelUnavailableError' });
    const mark2 = [c1.events.length, c2.events.length];
    agent = startAgent();
    for (const [i, c] of [c1, c2].entries()) {
      await c.waitFor((e) => e.event === 'status' && e.connected === true, 'reconnected', mark2[i], 60_000);
      await c.waitFor((e) => e.event === 'state', 'state after reconnect', mark2[i]);
    }
    // One device for the machine, enrolled once by the service (not again after the restart,
    // never by the clients), and it reported the state the trays show.
    await waitUntil(() => clients[0]!.lastState()?.report?.enrolment === 'enrolled', 'enrolment');
    const devices = (await srv!.admin<DeviceList>('/v1/devices?tenant=Acme%20IT%20Partners')).body.devices;
    expect(devices).toHaveLength(1);
    const detail = (await srv!.admin<DeviceDetail>(`/v1/devices/${devices[0]!.deviceId}`)).body;
    expect(detail.enrolCount).toBe(1);
    expect(c1.lastState()!.report?.deviceId).toBe(devices[0]!.deviceId);
    expect(c2.lastState()!.report?.deviceId).toBe(devices[0]!.deviceId);
    // The state folder is the service's alone.
    expect(((await import('node:fs')).statSync(path.join(work, 'state')).mode & 0o777).toString(8)).toBe('700');
    expect(await readFile(path.join(channelDir, 'agent.sock')).catch((e: NodeJS.ErrnoException) => e.code)).toBe('ENXIO');
  }, 150_000);
});
