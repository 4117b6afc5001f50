/**
 * Builds the fleet module a reporting agent composes (core/agent.ts `fleet` option): the
 * kept packs from the state folder, the fetcher over the agent's transport, the updater
 * that verifies against the trusted pack keys of the settings, and the directives.
 */
import type { AgentReportOptions, FleetContext } from '../agent.js';
import type { Logger } from '../logging/logger.js';
import type { TrustedPackKey } from '../pack/pack-signature.js';
import { AGENT_VERSION } from '../version.js';
import { FleetDirectives, type FleetModule } from './directives.js';
import { FleetPackStore } from './fleet-pack-store.js';
import { PackFetcher } from './pack-fetcher.js';
import type { PackSet } from './pack-set.js';
import { PackUpdater } from './pack-updater.js';

export function fleetModuleFactory(o: {
  stateDir: string;
  report: AgentReportOptions;
  packSet: PackSet;
  trustedKeys: readonly TrustedPackKey[];
  logger: Logger;
}): (ctx: FleetContext) => Promise<FleetModule> {
  return async (ctx) => {
    const log = o.logger.child({ component: 'fleet' });
    const updater = new PackUpdater({
      store: new FleetPackStore(o.stateDir),
      fetcher: new PackFetcher({
        serverUrl: o.report.serverUrl,
        fetch: o.report.fetch,
        clockOffsetMs: ctx.clockOffsetMs,
        signal: ctx.signal,
        userAgent: `vigil-agent/${AGENT_VERSION}`,
        ...(o.report.timeoutMs !== undefined ? { timeoutMs: o.report.timeoutMs } : {}),
      }),
      packSet: o.packSet,
      trustedKeys: o.trustedKeys,
      logger: log,
    });
    if (o.trustedKeys.length === 0) log.info('no trusted pack keys (packKeys): packs from the backend will be refused');
    const startupProblems = await updater.open();
    return new FleetDirectives({ updater, hooks: ctx.hooks, logger: log, startupProblems });
  };
}
