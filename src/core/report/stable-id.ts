/**
 * The device's stable id, which lets the backend recognise a PC that enrols again after the
 * agent was reinstalled or its state wiped: the hardware (SMBIOS) UUID when the firmware
 * has a real one, else the OS installation id (Windows MachineGuid, /etc/machine-id,
 * macOS IOPlatformUUID), else a random id generated once and kept in the state directory.
 *
 * Once resolved the choice is kept in `<stateDir>/stable-id.json`, so a probe that fails
 * later (PowerShell blocked by an EDR product, say) cannot give the same PC a new identity.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { z } from 'zod';
import { StableIdSourceSchema, type StableIdSource } from '../../shared/protocol.js';

export interface StableIdProbeResult {
  hardware?: string;
  os?: string;
}

export type StableIdProbe = () => Promise<StableIdProbeResult>;

export interface StableId {
  stableId: string;
  source: StableIdSource;
}

const StoredSchema = z.object({ stableId: z.string().min(8).max(200), source: StableIdSourceSchema });
export const STABLE_ID_FILE = 'stable-id.json';

/** Values firmware and images are known to ship instead of a real unique id. */
const PLACEHOLDERS = new Set([
  '03000200040005000006000700080009',
  '00020003000400050006000700080009',
  '12345678123456781234567812345678',
]);

/** A usable id: hex (dashes aside), at least 16 digits, not a placeholder or one repeated digit. */
export function usableMachineId(value: string | undefined): string | undefined {
  if (!value) return undefined;
  const v = value.trim().toLowerCase();
  const hex = v.replace(/[-{}]/g, '');
  if (!/^[0-9a-f]{16,64}$/.test(hex)) return undefined;
  if (/^(.)\1*$/.test(hex) || PLACEHOLDERS.has(hex)) return undefined;
  return v.replace(/[{}]/g, '');
}

/** Reads the ids with systeminformation (loaded only when needed; it spawns OS commands). */
export const systeminformationProbe: StableIdProbe = async () => {
  const si = await import('systeminformation');
  const u = await si.uuid();
  return { hardware: u.hardware, os: u.os };
};

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve(undefined), ms);
    t.unref?.();
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      () => {
        clearTimeout(t);
        resolve(undefined);
      },
    );
  });
}

export async function resolveStableId(stateDir: string, probe: StableIdProbe = systeminformationProbe, probeTimeoutMs = 20_000): Promise<StableId> {
  const file = path.join(stateDir, STABLE_ID_FILE);
  try {
    const stored = StoredSchema.safeParse(JSON.parse(await readFile(file, 'utf8')));
    if (stored.success) return stored.data;
  } catch {
    // absent or unreadable: resolve again
  }
  const probed = (await withTimeout(probe(), probeTimeoutMs)) ?? {};
  const hardware = usableMachineId(probed.hardware);
  const os = usableMachineId(probed.os);
  const id: StableId = hardware ? { stableId: hardware, source: 'hardware' } : os ? { stableId: os, source: 'os' } : { stableId: randomUUID(), source: 'generated' };
  try {
    await mkdir(stateDir, { recursive: true, mode: 0o700 });
    const tmp = `${file}.tmp-${process.pid}`;
    await writeFile(tmp, JSON.stringify(id) + '\n', { mode: 0o600 });
    await rename(tmp, file);
  } catch {
    // Not fatal: a hardware or OS id is found again next time; a generated one is not, and
    // the agent's status reports the unwritable state directory through the outbox anyway.
  }
  return id;
}
