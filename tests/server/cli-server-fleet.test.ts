/**
 * `vigil server pack|scan|heartbeat ...` over a real database file: keys, publish (and its
 * refusals), list, withdraw, check-now requests and a lowered heartbeat interval.
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runServerCli } from './helpers/server-cli.js';
import { generatePackKey, signPack } from '../../src/core/pack/pack-signature.js';
import { parseDuration } from '../../src/server/fleet-requests.js';
import { testPack } from '../helpers/test-pack.js';

const run = (argv: string[], cwd: string) => runServerCli(argv, cwd, { USER: 'alice' });

describe('vigil server pack', () => {
  it('publishes only signed packs by an accepted key, lists who published what, and withdraws', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'vigil-cli-pack-'));
    const key = generatePackKey('acme-2026');
    const other = generatePackKey('mallory');
    await writeFile(path.join(dir, 'acme.pub.json'), JSON.stringify({ keyId: key.keyId, publicKey: key.publicKey }));
    await writeFile(path.join(dir, 'bad.pub.json'), JSON.stringify({ keyId: 'x', publicKey: 'nope' }));
    await writeFile(path.join(dir, 'v2.json'), JSON.stringify(signPack(testPack({ version: 2 }), key.keyId, key.privateKeyPem)));
    await writeFile(path.join(dir, 'forged.json'), JSON.stringify(signPack(testPack({ version: 3 }), other.keyId, other.privateKeyPem)));
    await writeFile(path.join(dir, 'plain.json'), JSON.stringify(testPack({ version: 4 })));
    expect(await run(['token', 'create', '--tenant', 'Acme Dental'], dir)).toMatchObject({ code: 0 });

    expect((await run(['pack', 'key', 'add', 'bad.pub.json'], dir)).stderr).toMatch(/not a public pack key: publicKey/);
    expect((await run(['pack', 'key', 'add', 'acme.pub.json'], dir)).code).toBe(0);
    expect((await run(['pack', 'key', 'list'], dir)).stdout).toContain(`acme-2026  ${key.publicKey}`);
    expect((await run(['pack', 'publish', 'v2.json'], dir)).stderr).toMatch(/--tenant NAME or --all/);
    const forged = await run(['pack', 'publish', 'forged.json', '--all'], dir);
    expect(forged).toMatchObject({ code: 64, stderr: expect.stringMatching(/refused to publish forged\.json: signatures: key "mallory" is not trusted/) });
    expect((await run(['pack', 'publish', 'plain.json', '--all'], dir)).stderr).toMatch(/not signed/);
    const ok = await run(['pack', 'publish', 'v2.json', '--tenant', 'Acme Dental'], dir);
    expect(ok.stdout).toMatch(/^Published test-softphone-2023 v2 \(pub_[A-Za-z0-9_-]{12}\) to Acme Dental, signed by acme-2026, sha256 [0-9a-f]{64}/);
    const list = JSON.parse((await run(['pack', 'list', '--json'], dir)).stdout);
    expect(list.packs).toEqual([expect.objectContaining({ packId: 'test-softphone-2023', version: 2, tenant: 'Acme Dental', publishedBy: 'alice (cli)', withdrawnAt: null })]);
    expect((await run(['pack', 'withdraw', 'no-such-pack'], dir)).code).toBe(64);
    expect((await run(['pack', 'withdraw', 'test-softphone-2023'], dir)).stdout).toMatch(/^Withdrew 1 publication/);
    expect((await run(['pack', 'list'], dir)).stdout).toMatch(/withdrawn .* by alice \(cli\)/);
    expect((await run(['pack', 'key', 'remove', 'acme-2026'], dir)).code).toBe(0);
    expect((await run(['pack', 'key', 'remove', 'acme-2026'], dir)).code).toBe(64);
  });

  it('requests scans and lowers the heartbeat interval for a while', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'vigil-cli-scan-'));
    await run(['token', 'create', '--tenant', 'Acme Dental'], dir);
    expect((await run(['scan', 'request', '--tenant', 'Nobody'], dir)).stderr).toMatch(/no tenant named "Nobody"/);
    expect((await run(['scan', 'request', '--all', '--tenant', 'Acme Dental'], dir)).code).toBe(64);
    expect((await run(['scan', 'request', '--tenant', 'Acme Dental'], dir)).stdout).toMatch(/^Requested a scan now \(scan_[A-Za-z0-9_-]{16}\) of 0 device/);
    expect((await run(['scan', 'list'], dir)).stdout).toMatch(/tenant Acme Dental {2}answered 0\/0 .* by alice \(cli\)/);
    expect((await run(['heartbeat', 'lower', '--tenant', 'Acme Dental', '--interval', '15', '--for', '2h'], dir)).stdout).toMatch(/every 15 s until/);
    expect((await run(['heartbeat', 'lower', '--tenant', 'Acme Dental', '--interval', '15', '--for', 'soon'], dir)).code).toBe(64);
    expect((await run(['heartbeat', 'lower', '--tenant', 'Acme Dental', '--interval', '15', '--for', '30d'], dir)).stderr).toMatch(/at most 168 hours/);
    expect([parseDuration('2h'), parseDuration('90m'), parseDuration('45'), parseDuration('1d'), parseDuration('2 weeks')]).toEqual([7200, 5400, 45, 86400, undefined]);
  });
});
