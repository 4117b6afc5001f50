import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveStableId, STABLE_ID_FILE, usableMachineId } from '../../../src/core/report/stable-id.js';

describe('usableMachineId', () => {
  it('accepts real UUIDs and machine ids, normalised', () => {
    expect(usableMachineId('4C4C4544-0042-3510-8052-B4C04F565931')).toBe('4c4c4544-0042-3510-8052-b4c04f565931');
    expect(usableMachineId('{6F1A1A4E-2A7B-4C4B-9B1E-3C1F0E2D9A11}')).toBe('6f1a1a4e-2a7b-4c4b-9b1e-3c1f0e2d9a11');
    expect(usableMachineId('e4a3c5d2b1f04c1f9a7e6d5c4b3a2910\n')).toBe('e4a3c5d2b1f04c1f9a7e6d5c4b3a2910');
  });
  it('rejects firmware placeholders, repeated digits and non-ids', () => {
    for (const v of [undefined, '', '00000000-0000-0000-0000-000000000000', 'FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF', '03000200-0400-0500-0006-000700080009', 'To be filled by O.E.M.', 'Not Settable', '1234']) {
      expect(usableMachineId(v), String(v)).toBeUndefined();
    }
  });
});

describe('resolveStableId', () => {
  it('prefers the hardware UUID, then the OS id, and keeps the choice', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'vigil-sid-'));
    const first = await resolveStableId(dir, async () => ({ hardware: '4C4C4544-0042-3510-8052-B4C04F565931', os: 'e4a3c5d2b1f04c1f9a7e6d5c4b3a2910' }));
    expect(first).toEqual({ stableId: '4c4c4544-0042-3510-8052-b4c04f565931', source: 'hardware' });
    // A later probe that fails (PowerShell blocked) does not change the identity.
    const again = await resolveStableId(dir, async () => {
      throw new Error('powershell blocked');
    });
    expect(again).toEqual(first);
    const os = await resolveStableId(await mkdtemp(path.join(tmpdir(), 'vigil-sid-')), async () => ({ hardware: '', os: 'e4a3c5d2b1f04c1f9a7e6d5c4b3a2910' }));
    expect(os.source).toBe('os');
  });

  it('falls back to a generated id, persisted, when the probe fails or hangs', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'vigil-sid-'));
    const gen = await resolveStableId(dir, () => new Promise(() => {}), 50);
    expect(gen.source).toBe('generated');
    expect(gen.stableId).toMatch(/^[0-9a-f-]{36}$/);
    expect(JSON.parse(await readFile(path.join(dir, STABLE_ID_FILE), 'utf8'))).toEqual(gen);
    expect(await resolveStableId(dir, async () => ({ hardware: '4C4C4544-0042-3510-8052-B4C04F565931' }))).toEqual(gen);
  });

  it('ignores a damaged stored id and resolves again', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'vigil-sid-'));
    const { writeFile } = await import('node:fs/promises');
    await writeFile(path.join(dir, STABLE_ID_FILE), '{"stableId": 5');
    expect((await resolveStableId(dir, async () => ({ os: 'e4a3c5d2b1f04c1f9a7e6d5c4b3a2910' }))).source).toBe('os');
  });
});
