/**
 * The agent's fleet modules: the update plan (pure), the kept packs in the state folder
 * (damaged files, a withdrawn key), and a real agent (assembleAgent) against the real
 * server on loopback: a new pack rebuilds the connection watch with its indicators and
 * triggers a scan at once; a check-now request is scanned for and answered; bytes that do
 * not match the listing are refused and reported.
 */
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { assembleAgent } from '../../../src/core/agent-assembly.js';
import type { ConnectionWatcher } from '../../../src/core/agent.js';
import { defaultAgentConfig } from '../../../src/core/config/schema.js';
import { FleetPackStore, FLEET_PACK_DIR, verifyDelivered } from '../../../src/core/fleet/fleet-pack-store.js';
import { planPackUpdate } from '../../../src/core/fleet/pack-updater.js';
import { silentLogger } from '../../../src/core/logging/logger.js';
import { builtinPacks, type LoadedPack } from '../../../src/core/pack/load.js';
import { generatePackKey, signPack } from '../../../src/core/pack/pack-signature.js';
import { scanReport } from '../../server/helpers/sample-reports.js';
import { startTestServer, type TestServer } from '../../server/helpers/test-server.js';
import { testPack } from '../../helpers/test-pack.js';

const key = generatePackKey('acme-2026');
const trusted = [{ keyId: key.keyId, publicKey: key.publicKey }];
const envelopeText = (version: number, over: Record<string, unknown> = {}) => JSON.stringify(signPack(testPack({ version, ...over }), key.keyId, key.privateKeyPem));

describe('planPackUpdate', () => {
  const ref = (id: string, version: number, s = 'a'.repeat(64)) => ({ id, version, sha256: s });
  it('fetches what is new, drops what is no longer listed, and refuses rollbacks, changed bytes and known-bad bytes', () => {
    const installed = new Map([
      ['kept', { version: 2, sha256: 'a'.repeat(64) }],
      ['changed', { version: 1, sha256: 'a'.repeat(64) }],
      ['gone', { version: 5, sha256: 'a'.repeat(64) }],
      ['older', { version: 3, sha256: 'a'.repeat(64) }],
    ]);
    const highest = (id: string) => ({ withdrawn: 4, kept: 2 })[id as 'withdrawn' | 'kept'];
    const plan = planPackUpdate(
      [ref('kept', 2), ref('changed', 1, 'b'.repeat(64)), ref('older', 2), ref('withdrawn', 4), ref('new', 1), ref('bad', 1, 'c'.repeat(64)), ref('new', 2)],
      installed,
      highest,
      new Map([['c'.repeat(64), 'refused: signatures: not trusted']]),
    );
    expect(plan.fetch).toEqual([ref('new', 1)]);
    expect(plan.drop).toEqual(['gone']);
    expect(plan.problems.map((p) => `${p.id}@${p.version}: ${p.problem}`)).toEqual([
      expect.stringMatching(/^changed@1: the server lists other bytes for v1/),
      'older@2: refused: v2 is not newer than v3, which this device already had (no rollback)',
      'withdrawn@4: refused: v4 is not newer than v4, which this device already had (no rollback)',
      'bad@1: refused: signatures: not trusted',
      'new@2: listed twice by the server; only the first listing is used',
    ]);
    expect(planPackUpdate([], installed, () => undefined, new Map()).drop).toEqual(['kept', 'changed', 'gone', 'older']);
  });
});

describe('FleetPackStore', () => {
  it('keeps verified packs across restarts, and drops one whose key was withdrawn or whose file changed, saying why', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'vigil-fleetstore-'));
    const store = new FleetPackStore(dir);
    expect(await store.load(trusted)).toEqual({ packs: [], problems: [] });
    const text = envelopeText(2);
    await store.keep(Buffer.from(text), verifyDelivered(text, 'test-softphone-2023', 2, trusted), '2026-12-05T10:00:00.000Z');
    const other = envelopeText(1, { id: 'other-pack' });
    await store.keep(Buffer.from(other), verifyDelivered(other, 'other-pack', 1, trusted), '2026-12-05T10:00:00.000Z');

    const again = await new FleetPackStore(dir).load(trusted);
    expect(again.problems).toEqual([]);
    expect(again.packs.map((p) => [p.loaded.pack.id, p.loaded.pack.version, p.loaded.ref.receivedAt])).toEqual([
      ['test-softphone-2023', 2, '2026-12-05T10:00:00.000Z'],
      ['other-pack', 1, '2026-12-05T10:00:00.000Z'],
    ]);
    const withdrawn = new FleetPackStore(dir);
    const r = await withdrawn.load([{ keyId: 'acme-2027', publicKey: generatePackKey('acme-2027').publicKey }]);
    expect(r.packs).toEqual([]);
    expect(r.problems[0]).toMatch(/delivered pack test-softphone-2023 v2 is no longer used: .*key "acme-2026" is not trusted/);
    // Its highest version stays remembered: no rollback after a withdrawal either.
    expect(withdrawn.highestVersion('test-softphone-2023')).toBe(2);

    await writeFile(path.join(dir, FLEET_PACK_DIR, 'other-pack@1.json'), other.replace('"version":1', '"version":1 '));
    expect((await new FleetPackStore(dir).load(trusted)).problems).toEqual([expect.stringMatching(/other-pack v1 is no longer used: its file changed since it was received/)]);
    await writeFile(path.join(dir, FLEET_PACK_DIR, 'index.json'), '{"version": 1, "packs": ');
    expect(await new FleetPackStore(dir).load(trusted)).toEqual({ packs: [], problems: [expect.stringMatching(/index is damaged; packs are fetched again/)] });
  });

  it('verifyDelivered refuses a plain pack and a file holding another pack than listed', () => {
    expect(() => verifyDelivered(JSON.stringify(testPack()), 'test-softphone-2023', 1, trusted)).toThrow(/not signed/);
    expect(() => verifyDelivered(envelopeText(3), 'test-softphone-2023', 2, trusted)).toThrow(/holds test-softphone-2023 v3, not test-softphone-2023 v2/);
  });
});

describe('a real agent and the real server', () => {
  let srv: TestServer | undefined;
  const stops: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const s of stops.splice(0)) await s();
    await srv?.close();
    srv = undefined;
  });

  async function admin(method: string, p: string, body?: string | object) {
    const res = await fetch(srv!.url + p, { method, headers: { authorization: `Bearer ${srv!.adminToken}`, 'content-type': 'application/json' }, ...(body ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}) });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  }

  /** The built-in packs as `id@version`, sorted, as the watcher and scanner record them. */
  async function builtinIds(): Promise<string[]> {
    return (await builtinPacks()).map((p) => `${p.pack.id}@${p.pack.version}`).sort();
  }

  async function until(what: string, f: () => boolean | Promise<boolean>, ms = 8000) {
    const end = Date.now() + ms;
    while (!(await f())) {
      if (Date.now() > end) throw new Error(`timed out: ${what}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  it('a new pack rebuilds the connection watch and rescans at once; a check-now request is answered; mismatching bytes are refused', async () => {
    srv = await startTestServer({ heartbeatIntervalSec: 3600 });
    const stateDir = await mkdtemp(path.join(tmpdir(), 'vigil-fleet-agent-'));
    const watched: string[][] = [];
    const scannedWith: string[][] = [];
    const config = { ...defaultAgentConfig(), serverUrl: srv.url, enrollToken: await srv.createToken('Acme Dental'), stateDir, packKeys: trusted, heartbeatIntervalSec: 3600 };
    const { agent } = await assembleAgent(config, {
      logger: silentLogger,
      fetch: (u, i) => fetch(u, i),
      stableIdProbe: async () => ({ hardware: '4C4C4544-0042-3510-8052-B4C04F565931' }),
      scanner: async (_c, _l, packs) => async () => {
        scannedWith.push(packs().map((p) => `${p.pack.id}@${p.pack.version}`).sort());
        return { ...scanReport({ startedAt: new Date() }), packs: packs().map((p) => p.ref) };
      },
      watcher: (packs: readonly LoadedPack[]): ConnectionWatcher => {
        const ids = packs.map((p) => `${p.pack.id}@${p.pack.version}`).sort();
        return { start: () => void watched.push(ids), stop: async () => undefined };
      },
    });
    stops.push(() => agent.stop());
    await agent.start();
    await until('first heartbeat', () => agent.state().lastReportAt !== null && scannedWith.length >= 1);
    expect(watched).toEqual([await builtinIds()]);

    await admin('POST', '/v1/pack-keys', trusted[0]!);
    expect((await admin('POST', '/v1/packs?all=true', envelopeText(2))).status).toBe(201);
    const scansBefore = scannedWith.length;
    await agent.checkNow(); // a heartbeat now, whose response lists the pack
    await until('the pack arrives, the watch is rebuilt and a scan runs with it', () => watched.length === 2 && scannedWith.length > scansBefore + 1);
    expect(watched[1]).toEqual([...(await builtinIds()), 'test-softphone-2023@2'].sort());
    expect(scannedWith.at(-1)).toEqual([...(await builtinIds()), 'test-softphone-2023@2'].sort());
    await until('heartbeat shows the pack', () => agent.state().packs.some((p) => p.id === 'test-softphone-2023' && p.receivedAt !== undefined));
    const kept = JSON.parse(await readFile(path.join(stateDir, FLEET_PACK_DIR, 'index.json'), 'utf8'));
    expect(kept.packs['test-softphone-2023']).toMatchObject({ version: 2, file: 'test-softphone-2023@2.json' });

    const req = await admin('POST', '/v1/scan-requests', { tenant: 'Acme Dental' });
    const n = scannedWith.length;
    await agent.checkNow();
    await until('scanned for the request and answered it', async () => {
      const list = (await admin('GET', '/v1/scan-requests')).body.scanRequests as Array<{ requestId: string; answered: number }>;
      if (scannedWith.length <= n + 1) {
        await agent.checkNow();
        return false;
      }
      if (list.find((r) => r.requestId === req.body.requestId)?.answered === 1) return true;
      await agent.checkNow();
      return false;
    });

    // The database says v3 is other bytes than it serves: the agent refuses and keeps v2.
    await admin('POST', '/v1/packs?all=true', envelopeText(3));
    await srv.database.run('UPDATE fleet_packs SET sha256 = ? WHERE version = 3', ['0'.repeat(64)]);
    await agent.checkNow();
    await until('the mismatch reported', async () => {
      if (agent.state().problems.some((p) => /v3 from the backend: refused: the bytes received do not have the SHA-256 the server listed/.test(p))) return true;
      await agent.checkNow();
      return false;
    });
    expect(agent.state().packs.find((p) => p.id === 'test-softphone-2023')?.version).toBe(2);

    // Restarted: the kept pack is verified again and in the watch and the scan from the start.
    await agent.stop();
    watched.length = 0;
    scannedWith.length = 0;
    const again = await assembleAgent(config, {
      logger: silentLogger,
      fetch: (u, i) => fetch(u, i),
      scanner: async (_c, _l, packs) => async () => {
        scannedWith.push(packs().map((p) => `${p.pack.id}@${p.pack.version}`).sort());
        return { ...scanReport({ startedAt: new Date() }), packs: packs().map((p) => p.ref) };
      },
      watcher: (packs: readonly LoadedPack[]): ConnectionWatcher => ({ start: () => void watched.push(packs.map((p) => `${p.pack.id}@${p.pack.version}`).sort()), stop: async () => undefined }),
    });
    stops.push(() => again.agent.stop());
    await again.agent.start();
    await until('the first scan after the restart', () => scannedWith.length >= 1);
    expect(watched).toEqual([[...(await builtinIds()), 'test-softphone-2023@2'].sort()]);
    expect(scannedWith[0]).toEqual([...(await builtinIds()), 'test-softphone-2023@2'].sort());
  });
});
