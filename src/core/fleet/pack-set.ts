/**
 * The packs the agent runs right now: the base set (built-in and configured packs, fixed
 * for the life of the process) merged with the packs the backend delivered, which change
 * while the agent runs. The scanner reads `current()` at every scan; the connection watch
 * and the agent listen to `onChange` to pick up a new pack at once.
 */
import { mergePacks, type LoadedPack } from '../pack/load.js';

export class PackSet {
  private fleet: LoadedPack[] = [];
  private merged: LoadedPack[];
  private readonly listeners = new Set<(packs: readonly LoadedPack[]) => void>();

  constructor(private readonly base: readonly LoadedPack[]) {
    // Fleet packs are signed, so mergePacks never refuses them; base refusals are reported by
    // the assembly (packRefusalCheck), not here.
    this.merged = mergePacks(base).packs;
  }

  current(): readonly LoadedPack[] {
    return this.merged;
  }

  /** The delivered packs (each already verified); replaces the previous delivered set. */
  setFleetPacks(packs: readonly LoadedPack[]): void {
    this.fleet = [...packs];
    const next = mergePacks([...this.base, ...this.fleet]).packs;
    const key = (l: readonly LoadedPack[]) => l.map((p) => `${p.pack.id}@${p.pack.version}:${p.ref.origin}`).sort().join(',');
    // Same packs: keep the same array, so a listener comparing identities sees no change.
    if (key(next) === key(this.merged)) return;
    this.merged = next;
    for (const l of this.listeners) l(this.merged);
  }

  fleetPacks(): readonly LoadedPack[] {
    return this.fleet;
  }

  onChange(listener: (packs: readonly LoadedPack[]) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
