/**
 * The packs a command uses: the built-in ones unless `--no-builtin`, plus each `--pack
 * FILE` (an administrator's explicit choice on the command line: accepted unsigned; a
 * signed envelope must verify against the trusted pack keys of the settings).
 * A pack that cannot be used is a usage error naming the file and the field. An unsigned
 * pack with the id of a built-in pack is not used (mergePacks' rule holds on the command
 * line too): it comes back in `refused`, for the command to report; `--no-builtin` runs
 * such a pack on its own.
 */
import * as path from 'node:path';
import { builtinPacks, mergePacks, PackError, type LoadedPack, type MergedPacks } from '../core/pack/load.js';
import type { TrustedPackKey } from '../core/pack/pack-signature.js';
import { UsageError, type CliIo } from './io.js';

export async function loadCommandPacks(files: readonly string[], noBuiltin: boolean, io: CliIo, trustedKeys: readonly TrustedPackKey[] = []): Promise<MergedPacks> {
  const packs: LoadedPack[] = [];
  try {
    if (!noBuiltin) packs.push(...(await builtinPacks()));
    if (files.length) {
      // The pack schema (and zod) load only for packs named on the command line.
      const { loadPackFile } = await import('../core/pack/parse-pack.js');
      for (const file of files) packs.push(await loadPackFile(path.resolve(io.cwd, file), { trustedKeys }));
    }
  } catch (err) {
    if (err instanceof PackError) throw new UsageError(`cannot use pack ${err.message}`);
    throw err;
  }
  if (packs.length === 0) throw new UsageError('no packs: --no-builtin needs at least one --pack FILE');
  return mergePacks(packs);
}
