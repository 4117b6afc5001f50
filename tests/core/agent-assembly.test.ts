/**
 * assembleAgent: settings in, a running agent's parts out. The scans here are real scans
 * of this (Linux) machine, which the built-in pack marks not applicable, so what they
 * assert is what the assembly adds: configured packs, pack and setting problems as
 * findings, and the settings that cannot be assembled.
 */
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { assembleAgent, AssemblyError, loadConfiguredPacks } from '../../src/core/agent-assembly.js';
import type { ConnectionWatcher } from '../../src/core/agent.js';
import { defaultAgentConfig, type AgentConfig } from '../../src/core/config/schema.js';
import { silentLogger } from '../../src/core/logging/logger.js';
import type { LoadedPack } from '../../src/core/pack/load.js';
import { disarmedCopy, testPack } from '../helpers/test-pack.js';
import { makePe } from '../helpers/make-pe.js';
import { electronAppVersionSpec, makeVersionResource } from '../helpers/make-version-resource.js';
import { runScan } from '../../src/core/scan.js';
import { openTarget } from '../../src/core/inventory/scan-target.js';
import { FindingSchema } from '../../src/shared/scan.js';

async function tmp(): Promise<string> {
  return mkdtemp(path.join(tmpdir(), 'vigil-assembly-'));
}

async function config(overrides: Partial<AgentConfig> = {}): Promise<AgentConfig> {
  return { ...defaultAgentConfig(), stateDir: await tmp(), ...overrides };
}

describe('assembleAgent', () => {
  it('loads the built-in and configured packs; a pack that does not load is a grey finding naming it, the rest still work', async () => {
    const dir = await tmp();
    const good = path.join(dir, 'good.json');
    const bad = path.join(dir, 'bad.json');
    await writeFile(good, JSON.stringify(testPack()));
    await writeFile(bad, '{"format": 1, "id": "half"');
    let watched: readonly LoadedPack[] = [];
    const { agent, packs } = await assembleAgent(await config({ packs: [good, bad] }), {
      logger: silentLogger,
      watcher: (p) => {
        watched = p;
        return undefined;
      },
    });
    expect(packs.map((p) => p.pack.id).sort()).toEqual(['3cx-desktopapp-2023-03', 'test-softphone-2023', 'x-trader-2023']);
    expect(watched).toBe(packs);
    const out = await agent.runOnce();
    const finding = out.scan!.findings.find((f) => f.ruleId === 'pack-not-loaded')!;
    expect(finding.severity).toBe('unknown');
    expect(finding.title).toContain('bad.json');
    expect(out.scan!.packs.map((p) => p.id).sort()).toEqual(['3cx-desktopapp-2023-03', 'test-softphone-2023', 'x-trader-2023']);
    expect(out.scan!.verdict.status).toBe('unknown');
  });

  it('ignored settings become info findings: visible to the partner, the colour unchanged', async () => {
    const { agent } = await assembleAgent(await config(), { logger: silentLogger, settingProblems: ['settings file (/etc/vigil/config.json): scanIntervalSec: too small; ignored'] });
    const out = await agent.runOnce();
    const f = out.scan!.findings.find((x) => x.ruleId === 'setting-ignored')!;
    expect(f).toMatchObject({ severity: 'info', evidence: { error: expect.stringContaining('scanIntervalSec') } });
    expect(out.scan!.verdict.status).toBe('ok');
  });

  it('passes the watcher it builds to the agent, which starts and stops it', async () => {
    const calls: string[] = [];
    const watcher: ConnectionWatcher = {
      start: () => void calls.push('start'),
      stop: async () => void calls.push('stop'),
    };
    const { agent } = await assembleAgent(await config({ scanIntervalSec: 3600 }), { logger: silentLogger, watcher: () => watcher });
    await agent.start();
    await agent.stop();
    expect(calls).toEqual(['start', 'stop']);
  });

  it('refuses settings it cannot assemble, naming the setting: plain http to a remote server, a server without a transport', async () => {
    await expect(assembleAgent(await config({ serverUrl: 'http://vigil.partner.example' }), { logger: silentLogger, fetch: fetch })).rejects.toThrow(AssemblyError);
    await expect(assembleAgent(await config({ serverUrl: 'http://vigil.partner.example' }), { logger: silentLogger, fetch: fetch })).rejects.toThrow(/^serverUrl: plain http/);
    await expect(assembleAgent(await config({ serverUrl: 'https://vigil.partner.example' }), { logger: silentLogger })).rejects.toThrow(/^serverUrl: .*no transport/);
  });
});

describe('loadConfiguredPacks', () => {
  it('an unsigned copy of the built-in 3CX pack at version 99 with its rules emptied, named in the settings, does not switch 3CX detection off', async () => {
    const dir = await tmp();
    const builtins = (await loadConfiguredPacks(await config(), silentLogger)).packs;
    const builtin = builtins.find((p) => p.pack.id === '3cx-desktopapp-2023-03')!;
    const evil = path.join(dir, '3cx-update.json');
    await writeFile(evil, JSON.stringify(disarmedCopy(builtin.pack)));
    const { agent, packs } = await assembleAgent(await config({ packs: [evil] }), { logger: silentLogger });
    expect(packs.map((p) => p.ref)).toEqual(builtins.map((p) => p.ref));
    expect(packs.find((p) => p.pack.id === builtin.pack.id)!.pack).toEqual(builtin.pack);

    // The agent says why, in every scan: amber, naming the file, both versions and the rule.
    const out = await agent.runOnce();
    const refused = out.scan!.findings.filter((f) => f.ruleId === 'pack-refused-unsigned');
    expect(refused).toHaveLength(1);
    expect(FindingSchema.parse(refused[0])).toEqual(refused[0]);
    expect(refused[0]).toMatchObject({ severity: 'attention', category: 'scan', packId: builtin.pack.id, evidence: { path: evil, detail: { refusedVersion: 99, keptVersion: builtin.pack.version, keptOrigin: 'builtin', refusedOrigin: 'unsigned' } } });
    expect(refused[0]!.evidence.error).toMatch(/unsigned pack never replaces a built-in or signed pack of the same id/);
    expect(out.scan!.packs).toEqual(builtins.map((p) => p.ref));
    expect(out.scan!.verdict.status).toBe('attention');

    // And the packs the agent scans with still find a compromised 3CX install.
    const root = path.join(dir, 'c');
    const app = path.join(root, 'Users/alice/AppData/Local/Programs/3CXDesktopApp');
    await mkdir(path.join(root, 'Windows/System32'), { recursive: true });
    await mkdir(app, { recursive: true });
    await writeFile(path.join(root, 'Users/alice/NTUSER.DAT'), 'x');
    await writeFile(path.join(app, '3CXDesktopApp.exe'), makePe({ resources: (rva) => makeVersionResource(rva, { languages: [{ id: 0x0409, info: electronAppVersionSpec('18.12.416') }] }) }));
    const report = await runScan({ target: await openTarget({ root, platform: 'windows' }), packs });
    expect(report.verdict.status).toBe('compromised');
  });

  it('an unsigned pack of its own id loads beside the built-in one, with no refusal', async () => {
    const dir = await tmp();
    const own = path.join(dir, 'own.json');
    await writeFile(own, JSON.stringify(testPack()));
    const { packs, problems, refused } = await loadConfiguredPacks(await config({ packs: [own] }), silentLogger);
    expect(problems).toEqual([]);
    expect(refused).toEqual([]);
    expect(packs.map((p) => [p.pack.id, p.ref.origin])).toEqual([
      ['3cx-desktopapp-2023-03', 'builtin'],
      ['x-trader-2023', 'builtin'],
      ['test-softphone-2023', 'unsigned'],
    ]);
  });
});
