/**
 * assembleAgent: settings in, a running agent's parts out. The scans here are real scans
 * of this (Linux) machine, which the built-in pack marks not applicable, so what they
 * assert is what the assembly adds: configured packs, pack and setting problems as
 * findings, and the settings that cannot be assembled.
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { assembleAgent, AssemblyError, loadConfiguredPacks } from '../../src/core/agent-assembly.js';
import type { ConnectionWatcher } from '../../src/core/agent.js';
import { defaultAgentConfig, type AgentConfig } from '../../src/core/config/schema.js';
import { silentLogger } from '../../src/core/logging/logger.js';
import type { LoadedPack } from '../../src/core/pack/load.js';
import { testPack } from '../helpers/test-pack.js';

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
  it('keeps the highest version when a configured pack updates a built-in one', async () => {
    const dir = await tmp();
    const builtin = (await loadConfiguredPacks(await config(), silentLogger)).packs[0]!.pack;
    const newer = path.join(dir, 'newer.json');
    await writeFile(newer, JSON.stringify({ ...builtin, version: builtin.version + 1, title: 'Updated 3CX pack' }));
    const { packs, problems } = await loadConfiguredPacks(await config({ packs: [newer] }), silentLogger);
    expect(problems).toEqual([]);
    // One copy per pack id: the two built-in packs, the 3CX one replaced by its newer version.
    expect(packs.map((p) => p.pack.id).sort()).toEqual([builtin.id, 'x-trader-2023']);
    expect(packs.find((p) => p.pack.id === builtin.id)!.pack).toMatchObject({ id: builtin.id, version: builtin.version + 1, title: 'Updated 3CX pack' });
  });
});
