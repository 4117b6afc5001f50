/**
 * `npm run demo`: the whole system on this machine, for a first look.
 *
 * 1. Starts the reference backend (`vigil server start`) on 127.0.0.1 with a database in a
 *    fresh demo folder, and an admin token generated for this demo.
 * 2. Creates a tenant ("Demo Dental Practice") and an enrolment token for it.
 * 3. Enrols this PC with `vigil run --once` (a real scan, a heartbeat, a flush).
 * 4. Adds two simulated PCs through the real protocol client, clearly named "(simulated)":
 *    one running the trojanised 3CX build with its alerts, one clean.
 * 5. Prints the fleet page's address and the admin token, and serves until Ctrl-C.
 *
 *   node --import tsx scripts/demo.ts [--dir DIR] [--port N]
 */
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import type { CliIo } from '../src/cli/io.js';
import { main as serverMain } from '../src/cli/commands/server.js';
import { main as runMain } from '../src/cli/commands/run.js';
import { ProtocolClient } from '../src/core/report/protocol-client.js';
import { alertFromFinding } from '../src/core/report/alert-from-finding.js';
import { buildHeartbeatDraft } from '../src/core/report/heartbeat-draft.js';
import { makeFinding } from '../src/core/verdict/finding.js';
import { computeVerdict } from '../src/core/verdict/compute-verdict.js';
import { AGENT_VERSION } from '../src/core/version.js';
import { newAdminToken } from '../src/server/secret-tokens.js';
import type { Finding, Install } from '../src/shared/scan.js';

const { values } = parseArgs({ options: { dir: { type: 'string' }, port: { type: 'string' } }, strict: true });
const dir = values.dir ? path.resolve(values.dir) : await mkdtemp(path.join(tmpdir(), 'vigil-demo-'));
await mkdir(dir, { recursive: true });
const adminToken = newAdminToken();

let interrupt: () => void = () => {};
const interrupted = new Promise<void>((r) => (interrupt = r));
process.once('SIGINT', () => interrupt());
process.once('SIGTERM', () => interrupt());

function captureIo(env: NodeJS.ProcessEnv = {}): { io: CliIo; out: () => string } {
  let out = '';
  return {
    io: { stdout: (t) => (out += t), stderr: (t) => process.stderr.write(t), env: { ...process.env, ...env }, cwd: dir, interrupted },
    out: () => out,
  };
}

const db = path.join(dir, 'server.db');

// 1. The backend.
const server = captureIo({ VIGIL_ADMIN_TOKEN: adminToken });
const serverDone = serverMain(['start', '--db', db, '--host', '127.0.0.1', '--port', values.port ?? '0', '--log-level', 'warn'], server.io);
let url: string | undefined;
for (let i = 0; i < 200 && !url; i++) {
  url = /listening on (http:\/\/\S+)/.exec(server.out())?.[1];
  if (!url) await new Promise((r) => setTimeout(r, 25));
}
if (!url) {
  process.stderr.write(`the demo server did not start:\n${server.out()}\n`);
  process.exit(1);
}

// 2. A tenant and its enrolment token.
const tokenIo = captureIo();
await serverMain(['token', 'create', '--tenant', 'Demo Dental Practice', '--db', db, '--json'], tokenIo.io);
const enrollToken = (JSON.parse(tokenIo.out()) as { enrollToken: string }).enrollToken;

// 3. This PC, enrolled by the real agent.
const config = path.join(dir, 'agent.json');
await writeFile(config, JSON.stringify({ serverUrl: url, enrollToken, stateDir: 'agent-state', logLevel: 'warn' }, null, 2) + '\n');
const agentIo = captureIo();
const exitCode = await runMain(['--config', config, '--once'], agentIo.io);

// 4. Two simulated PCs, through the same protocol client the agent uses.
async function simulate(hostname: string, stableId: string, installs: Install[], findings: Finding[], alertKinds: Array<'finding' | 'connection'>): Promise<void> {
  const client = new ProtocolClient({ serverUrl: new URL(url!), fetch: (u, init) => fetch(u, init) });
  const host = { hostname, platform: 'windows' as const, osRelease: '10.0.19045', arch: 'x64' };
  const e = await client.enroll({ protocol: 1, enrollToken, stableId, stableIdSource: 'hardware', host, agentVersion: AGENT_VERSION });
  if (!e.ok) throw new Error(`simulated enrolment failed: ${e.message}`);
  const cred = { deviceId: e.value.deviceId, deviceSecret: e.value.deviceSecret };
  const now = new Date();
  const draft = buildHeartbeatDraft({ now, agentVersion: AGENT_VERSION, host, verdict: computeVerdict(findings), lastScanAt: now.toISOString(), installs, findings, packs: [{ id: '3cx-2023', version: 1, title: '3CX DesktopApp supply-chain compromise (March 2023)', origin: 'builtin' }], connectionWatch: 'on', problems: [] });
  const hb = await client.heartbeat(cred, { ...draft, deviceId: cred.deviceId, outbox: { pendingAlerts: 0, droppedAlerts: 0, rejectedAlerts: 0, oldestPendingAt: null } });
  if (!hb.ok) throw new Error(`simulated heartbeat failed: ${hb.message}`);
  const alerts = findings.filter((f) => f.severity === 'compromised').map((f, i) => alertFromFinding(alertKinds[i] ?? 'finding', f, now));
  if (alerts.length) await client.alerts(cred, { deviceId: cred.deviceId, alerts });
}

const user = 'reception';
const appDir = `C:/Users/${user}/AppData/Local/Programs/3CXDesktopApp`;
const badInstall: Install = { application: '3cx-desktopapp', applicationName: '3CX Desktop App', platform: 'windows', user, location: appDir, version: '18.12.416', versionSource: 'versioninfo', versionClass: 'compromised', files: [] };
const badFindings = [
  makeFinding({ category: 'install', severity: 'compromised', packId: '3cx-2023', ruleId: 'win-compromised', application: '3cx-desktopapp', title: '3CX Desktop App 18.12.416 is one of the trojanised builds (simulated).', evidence: { path: `${appDir}/3CXDesktopApp.exe`, user, version: '18.12.416' } }),
  makeFinding({ category: 'network', severity: 'compromised', packId: '3cx-2023', ruleId: 'c2-domain', title: '3CXDesktopApp.exe connected to akamaicontainer.com, a command-and-control address of the attack (simulated).', evidence: { indicator: 'akamaicontainer.com', remote: { address: '203.0.113.7', port: 443 } } }),
];
const okInstall: Install = { ...badInstall, user: 'dr.smith', location: 'C:/Users/dr.smith/AppData/Local/Programs/3CXDesktopApp', version: '18.12.425', versionClass: 'safe' };
await simulate('FRONT-DESK-PC (simulated)', 'demo-simulated-front-desk', [badInstall], badFindings, ['finding', 'connection']);
await simulate('DR-SMITH-LAPTOP (simulated)', 'demo-simulated-dr-smith', [okInstall], [], []);

// 5. Where to look.
process.stdout.write(`
Vigil demo is running.

  Fleet page:   ${url}/
  Admin token:  ${adminToken}
                (paste it into the sign-in form; admin API: curl -H "Authorization: Bearer <token>" ${url}/v1/devices)

  This PC was enrolled by "vigil run --once" (exit code ${exitCode}); its summary:
${agentIo.out().trim().split('\n').map((l) => `    ${l}`).join('\n')}
  Two simulated PCs were added through the same protocol: one with the trojanised
  3CX build and its alerts, one clean.

  Demo folder:  ${dir}
                (server.db, agent.json, agent-state/ with the device credential and outbox)
  Enrol again:  node --import tsx src/cli/main.ts run --config ${config} --once

Press Ctrl-C to stop the server.
`);
await serverDone;
