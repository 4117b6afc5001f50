/**
 * Where the tray app meets the real headless agent and its configuration.
 *
 * LEAD: bind these two to src/core/agent.ts and src/core/config once they land, e.g.
 *
 *   import { startAgent } from '../core/agent.js';
 *   export const createAgent: AgentFactory = ({ transport, logger }) =>
 *     startAgent({ transport, logger, ... });
 *   export function loadTraySettings(): TraySettings {
 *     const cfg = loadConfig(...);   // machine policy (HKLM\SOFTWARE\Policies\Vigil, plist, /etc/vigil)
 *     return parseTraySettings({ allowQuit: cfg.tray.allowQuit, autostart: cfg.tray.autostart });
 *   }
 *
 * Until then the app runs with no agent: grey icon, the window says the checker is not
 * running. Nothing else in src/main needs to change when the agent is bound.
 */
import type { AgentFactory } from './agent-handle.js';
import { parseTraySettings, type TraySettings } from './settings.js';

export class AgentNotBoundError extends Error {
  constructor() {
    super('the headless agent (src/core/agent.ts) is not bound in src/main/agent-binding.ts yet');
    this.name = 'AgentNotBoundError';
  }
}

export const createAgent: AgentFactory = () => {
  throw new AgentNotBoundError();
};

export function loadTraySettings(): TraySettings {
  return parseTraySettings({});
}
