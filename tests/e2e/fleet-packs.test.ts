/**
 * Fleet response end to end, with real processes on loopback: the reference server
 * (`vigil server start`), the partner's CLI (`vigil server pack ...`), and three real
 * `vigil run` agents (tests/e2e/fleet-agent-child.ts) scanning Windows-layout fixture
 * trees. The partner publishes a pack v2 that adds an indicator planted in one tree: within
 * two heartbeat intervals all three run it, the planted one turns compromised, its alert
 * arrives and coverage is 3/3. Then what a taken-over backend could try (packs written
 * straight into its database, unsigned or with a broken signature; an old version again) is
 * refused by every agent, which keeps its last good pack and says why; a withdrawn pack is
 * dropped; an agent that was offline gets the newest pack when it returns. Check now: a
 * request for the tenant is answered by all three within two heartbeat intervals.
 */
import { newTestDatabaseLocation } from '../server/helpers/test-database.js';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { openSqlDatabase } from '../../src/server/database/open-storage.js';
import { describe, expect, it } from 'vitest';
import { generatePackKey, signPack } from '../../src/core/pack/pack-signature.js';
import type { AlertList, DeviceDetail, DeviceList } from '../../src/shared/protocol.js';
import type { PackCoverage } from '../../src/shared/fleet-protocol.js';
import { testPack } from '../helpers/test-pack.js';
import { childProcesses, type ChildProc as Proc } from './child-process.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const VIGIL = path.join(ROOT, 'tests/server/helpers/vigil-command.ts');
const AGENT = path.join(ROOT, 'tests/e2e/fleet-agent-child.ts');
const ADMIN_TOKEN = 'e2e-admin-token-fleet-0123456789ab';
const INTERVAL_SEC = 10;
// The issue's bound (two heartbeat intervals) is asserted for the v2 wave; the later steps
// (refusals, rollback, withdrawal, catch-up) each wait a CLI call or two plus a fetch and a
// report, so they get a third interval and slack for a loaded 2-core CI machine.
const LATER_STEP_MS = 3 * INTERVAL_SEC * 1000 + 10_000;
const PACK_ID = 'test-softphone-2023';
const MARKER = 'Users/alice/AppData/Local/Temp/e2e-beacon.dat';

const start = childProcesses();

async function cli(args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  const p = start(VIGIL, ['server', ...args]);
  const code = await p.exited;
  return { code, out: p.out.join('\n'), err: p.err() };
}

async function until<T>(what: string, f: () => Promise<T | undefined | false>, ms: number, diag?: () => Promise<string>): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}${diag ? `\n${await diag()}` : ''}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** v2 onwards adds an artefact the tests plant in one tree. */
function packVersion(version: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const base = testPack({ version });
  if (version < 2) return { ...base, ...extra };
  const beacon = {
    id: 'e2e-beacon',
    platform: 'windows',
    location: { scope: 'user', path: 'AppData/Local/Temp/e2e-beacon.dat' },
    kind: 'file',
    class: 'compromised',
    description: 'The beacon file the follow-up advisory names',
    advice: 'isolate',
    sources: ['advisory'],
  };
  return { ...base, artifacts: [...(base.artifacts as unknown[]), beacon], ...extra };
}

describe('fleet response end to end (real server, CLI and three vigil run processes)', () => {
  it('publish, detect, refuse what is not signed or older, withdraw, and catch up after being offline', { timeout: 330_000 }, async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'vigil-e2e-fleet-'));
    const dbFile = await newTestDatabaseLocation(dir);
    const partner = generatePackKey('acme-2026');
    const stranger = generatePackKey('mallory');
    await writeFile(path.join(dir, 'acme.pub.json'), JSON.stringify({ keyId: partner.keyId, publicKey: partner.publicKey }));
    const signed = async (name: string, doc: Record<string, unknown>, key = partner) => {
      const file = path.join(dir, name);
      await writeFile(file, JSON.stringify(signPack(doc, key.keyId, key.privateKeyPem), null, 2));
      return file;
    };

    const token = JSON.parse((await cli(['token', 'create', '--tenant', 'Acme Dental', '--db', dbFile, '--json'])).out).enrollToken as string;
    expect((await cli(['pack', 'key', 'add', path.join(dir, 'acme.pub.json'), '--db', dbFile])).code).toBe(0);
    expect((await cli(['pack', 'publish', await signed('v1.json', packVersion(1)), '--all', '--db', dbFile])).code).toBe(0);

    const server = start(VIGIL, ['server', 'start', '--db', dbFile, '--port', '0', '--heartbeat-interval', String(INTERVAL_SEC)], { VIGIL_ADMIN_TOKEN: ADMIN_TOKEN });
    const url = (await until('the server', async () => server.out.map((l) => /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(l)?.[1]).find(Boolean), 20_000, async () => server.err()))!;
    const admin = async <T,>(p: string): Promise<T> => {
      const res = await fetch(url + p, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
      expect(res.status, p).toBe(200);
      return (await res.json()) as T;
    };

    // Three PCs: fixture trees in the Windows layout; only "pc-c" has the beacon file.
    const names = ['pc-a', 'pc-b', 'pc-c'] as const;
    const agents = new Map<string, { config: string; root: string; hardwareId: string; proc?: Proc }>();
    for (const [i, name] of names.entries()) {
      const root = path.join(dir, name, 'root');
      await mkdir(path.join(root, 'Windows', 'System32'), { recursive: true });
      await mkdir(path.join(root, 'Users', 'alice', 'AppData', 'Local', 'Temp'), { recursive: true });
      await writeFile(path.join(root, 'Users', 'alice', 'NTUSER.DAT'), 'x');
      if (name === 'pc-c') await writeFile(path.join(root, MARKER), 'beacon');
      const config = path.join(dir, name, 'agent.json');
      await writeFile(
        config,
        JSON.stringify({ serverUrl: url, enrollToken: token, stateDir: 'state', heartbeatIntervalSec: INTERVAL_SEC, scanIntervalSec: 3600, logLevel: 'info', packKeys: [{ keyId: partner.keyId, publicKey: partner.publicKey }] }),
      );
      agents.set(name, { config, root, hardwareId: `4C4C4544-0042-3510-8052-B4C04F56593${i}` });
    }
    const startAgent = (name: string) => {
      const a = agents.get(name)!;
      a.proc = start(AGENT, [JSON.stringify({ config: a.config, root: a.root, hardwareId: a.hardwareId })]);
    };
    for (const n of names) startAgent(n);

    const devices = async () => (await admin<DeviceList>('/v1/devices')).devices;
    const detail = async (id: string) => admin<DeviceDetail>(`/v1/devices/${id}`);
    const versionOn = (d: { packs: Array<{ id: string; version: number }> }) => d.packs.find((p) => p.id === PACK_ID)?.version;
    const diag = async () => JSON.stringify((await devices()).map((d) => ({ host: d.hostname, status: d.status, packs: d.packs.map((p) => `${p.id}@${p.version}`), online: d.online }))) + '\n' + [...agents.values()].map((a) => a.proc?.err().slice(-3000)).join('\n----\n');
    const idOf = new Map<string, string>();

    // All three enrol and run v1 (fetched from the backend and verified).
    await until('three devices on v1', async () => {
      const ds = await devices();
      return ds.length === 3 && ds.every((d) => versionOn(d) === 1) && ds;
    }, 60_000, diag);
    // Which device is which: each agent's credential in its state folder names its device id.
    for (const name of names) {
      const credential = JSON.parse(await readFile(path.join(dir, name, 'state', 'device-credential.json'), 'utf8'));
      idOf.set(name, credential.deviceId);
    }
    expect((await devices()).every((d) => d.status === 'ok')).toBe(true);

    // --- the partner publishes v2, which adds the beacon indicator ---------------------
    const published = Date.now();
    const pub = await cli(['pack', 'publish', await signed('v2.json', packVersion(2)), '--all', '--db', dbFile]);
    expect(pub.out).toMatch(/^Published test-softphone-2023 v2 /);
    await until('all three on v2, pc-c compromised', async () => {
      const ds = await devices();
      return ds.every((d) => versionOn(d) === 2) && ds.find((d) => d.deviceId === idOf.get('pc-c'))!.status === 'compromised';
    }, 2 * INTERVAL_SEC * 1000, diag);
    const wave = Date.now() - published;
    const alerts = await until('the beacon alert', async () => {
      const list = (await admin<AlertList>(`/v1/alerts?deviceId=${idOf.get('pc-c')}`)).alerts;
      return list.some((a) => a.finding.packId === PACK_ID && a.finding.severity === 'compromised') && list;
    }, 10_000);
    expect(alerts.find((a) => a.finding.packId === PACK_ID)!.finding.title).toMatch(/beacon file/);
    for (const n of ['pc-a', 'pc-b']) expect((await detail(idOf.get(n)!)).status).toBe('ok');
    const coverage = await until('coverage 3/3', async () => {
      const c = (await admin<{ coverage: PackCoverage[] }>('/v1/pack-coverage')).coverage.find((x) => x.packId === PACK_ID);
      return c && c.covered === 3 && c;
    }, 10_000);
    expect(coverage).toMatchObject({ latestVersion: 2, devices: 3, covered: 3, pending: 0, offline: 0, compromised: 1 });
    expect(coverage.timeToCoverSec.p100).not.toBeNull();
    expect(coverage.timeToCoverSec.p100!).toBeLessThanOrEqual(wave / 1000 + 1);

    // --- check now: every device scans at its next heartbeat and says so in the one after -
    const requested = await cli(['scan', 'request', '--tenant', 'Acme Dental', '--db', dbFile, '--json']);
    const requestId = JSON.parse(requested.out).requestId as string;
    await until('3 of 3 answered the check-now request', async () => {
      const list = (await admin<{ scanRequests: Array<{ requestId: string; answered: number; targeted: number }> }>('/v1/scan-requests')).scanRequests;
      const r = list.find((x) => x.requestId === requestId);
      return r !== undefined && r.targeted === 3 && r.answered === 3;
    }, 2 * INTERVAL_SEC * 1000 + 5000, diag);
    for (const x of agents.values()) expect(x.proc!.err()).toMatch(new RegExp(`"msg":"the backend asked for a scan now"[^\\n]*"requestId":"${requestId}"`));

    // --- a pack signed by a key the server does not accept is refused by the server -----
    const forged = await cli(['pack', 'publish', await signed('forged.json', packVersion(3), stranger), '--all', '--db', dbFile]);
    expect(forged.code).toBe(64);
    expect(forged.err).toMatch(/refused to publish .*forged\.json: signatures: key "mallory" is not trusted/);

    // pc-a goes offline for the rest of the story, until it comes back at the end.
    agents.get('pc-a')!.proc!.child.kill('SIGTERM');
    expect(await agents.get('pc-a')!.proc!.exited).toBe(0);

    // --- a taken-over backend writes packs straight into its database -------------------
    // v3 with a signature that does not match (the pack was changed after signing), and a
    // plain pack with no signature at all. Every agent refuses both and keeps v2.
    const v3 = signPack(packVersion(3), partner.keyId, partner.privateKeyPem);
    const tampered = Buffer.from(JSON.stringify({ ...v3, pack: { ...v3.pack, artifacts: [] } }));
    const unsigned = Buffer.from(JSON.stringify(testPack({ id: 'e2e-unsigned', version: 1 })));
    const db = await openSqlDatabase(dbFile);
    const insert = `INSERT INTO fleet_packs (id, pack_id, version, title, tenant_id, signer_key_id, sha256, size, envelope, published_by, published_at)
       VALUES (?, ?, ?, 'x', NULL, 'acme-2026', ?, ?, ?, 'attacker', ?)`;
    await db.run(insert, ['pub_tampered000', PACK_ID, 3, sha(tampered), tampered.length, tampered, Date.now()]);
    await db.run(insert, ['pub_unsigned000', 'e2e-unsigned', 1, sha(unsigned), unsigned.length, unsigned, Date.now()]);
    await db.close();
    const online = ['pc-b', 'pc-c'];
    await until('both refusals reported by every online agent', async () => {
      for (const n of online) {
        const d = await detail(idOf.get(n)!);
        const text = d.problems.join('\n');
        if (!/pack test-softphone-2023 v3 from the backend: refused: signatures: signature by "acme-2026" does not match the pack; keeping the last good pack/.test(text)) return false;
        if (!/pack e2e-unsigned v1 from the backend: refused: signatures: this pack is not signed/.test(text)) return false;
        if (versionOn(d) !== 2 || d.packs.some((p) => p.id === 'e2e-unsigned')) return false;
      }
      return true;
    }, LATER_STEP_MS, diag);
    expect((await detail(idOf.get('pc-c')!)).status).toBe('compromised');
    const cov3 = (await admin<{ coverage: PackCoverage[] }>('/v1/pack-coverage')).coverage.find((x) => x.packId === PACK_ID)!;
    expect(cov3).toMatchObject({ latestVersion: 3, covered: 0, problems: 2 });

    // --- an older version is never applied ------------------------------------------------
    expect((await cli(['pack', 'withdraw', PACK_ID, '--db', dbFile])).code).toBe(0);
    expect((await cli(['pack', 'withdraw', 'e2e-unsigned', '--db', dbFile])).code).toBe(0);
    expect((await cli(['pack', 'publish', path.join(dir, 'v1.json'), '--all', '--db', dbFile])).code).toBe(0);
    await until('the rollback refused and reported', async () => {
      for (const n of online) {
        const d = await detail(idOf.get(n)!);
        if (!d.problems.some((p) => /pack test-softphone-2023 v1 from the backend: refused: v1 is not newer than v2.*no rollback/.test(p))) return false;
        // v2 is kept, or dropped when a heartbeat fell between the withdrawal and the
        // publication (two CLI runs): either way v1 is never applied.
        const v = versionOn(d);
        if (v === 1) throw new Error(`${n} applied the older v1`);
        if (v !== 2 && v !== undefined) return false;
      }
      return true;
    }, LATER_STEP_MS, diag);

    // --- a withdrawn pack is dropped --------------------------------------------------------
    expect((await cli(['pack', 'withdraw', PACK_ID, '--db', dbFile])).code).toBe(0);
    await until('the pack dropped everywhere, pc-c back to ok', async () => {
      for (const n of online) {
        const d = await detail(idOf.get(n)!);
        if (versionOn(d) !== undefined || d.problems.some((p) => /from the backend/.test(p))) return false;
      }
      return (await detail(idOf.get('pc-c')!)).status === 'ok';
    }, LATER_STEP_MS, diag);
    expect(agents.get('pc-c')!.proc!.err()).toMatch(/"msg":"the backend withdrew a pack; it is no longer used"/);

    // --- the agent that was offline gets the newest pack when it returns -----------------
    expect((await cli(['pack', 'publish', await signed('v4.json', packVersion(4)), '--all', '--db', dbFile])).code).toBe(0);
    startAgent('pc-a');
    await until('all three on v4, pc-c compromised again', async () => {
      const ds = await devices();
      return ds.every((d) => versionOn(d) === 4) && ds.find((d) => d.deviceId === idOf.get('pc-c'))!.status === 'compromised';
    }, LATER_STEP_MS, diag);
    const a = await detail(idOf.get('pc-a')!);
    expect(a).toMatchObject({ status: 'ok', online: true });
    expect(a.packs.find((p) => p.id === PACK_ID)!.origin).toBe('signed:acme-2026');
    expect(a.problems).toEqual([]);

    for (const x of agents.values()) x.proc!.child.kill('SIGTERM');
    await Promise.all([...agents.values()].map((x) => x.proc!.exited));
    server.child.kill('SIGTERM');
    expect(await server.exited).toBe(0);
  });
});
