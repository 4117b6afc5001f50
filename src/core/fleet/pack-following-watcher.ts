/**
 * A connection watch that follows the running packs: when the PackSet changes (a pack
 * arrived from the backend, or was withdrawn), the watch is rebuilt with the new
 * indicators at once, instead of at the next restart. Matches keep going to the same
 * callback the agent gave.
 */
import type { ConnectionWatcher } from '../agent.js';
import type { Logger } from '../logging/logger.js';
import type { LoadedPack } from '../pack/load.js';
import type { PackSet } from './pack-set.js';

export function packFollowingWatcher(
  packSet: PackSet,
  first: { watcher: ConnectionWatcher; packs: readonly LoadedPack[] },
  build: (packs: readonly LoadedPack[]) => ConnectionWatcher | undefined,
  log: Logger,
): ConnectionWatcher {
  let current: ConnectionWatcher | undefined = first.watcher;
  let unsubscribe: (() => void) | undefined;
  let switching: Promise<void> = Promise.resolve();
  return {
    start(onMatch) {
      // Packs kept from an earlier run join the set after the first watcher was built.
      if (packSet.current() !== first.packs) current = build(packSet.current());
      current?.start(onMatch);
      unsubscribe = packSet.onChange((packs) => {
        switching = switching.then(async () => {
          const old = current;
          current = undefined;
          await old?.stop().catch((err: unknown) => log.warn('the connection watch did not stop cleanly while switching packs', { error: err }));
          if (!unsubscribe) return; // stopped meanwhile
          current = build(packs);
          try {
            current?.start(onMatch);
            log.info('connection watch refreshed for new packs', { packs: packs.map((p) => `${p.pack.id}@${p.pack.version}`) });
          } catch (err) {
            log.error('the connection watch could not restart with the new packs', { error: err });
          }
        });
      });
    },
    async stop() {
      unsubscribe?.();
      unsubscribe = undefined;
      await switching;
      await current?.stop();
    },
  };
}
