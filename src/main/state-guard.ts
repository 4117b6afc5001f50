/**
 * The agent's state is checked against the shared schema before the shell acts on it.
 * A state that does not validate (a bug in the agent, a version mismatch) must not
 * crash the app or paint a misleading colour: it is logged once per distinct problem
 * and treated as "no state", which the tray shows as grey (unknown).
 */
import { AgentStateSchema, type AgentState } from '../shared/agent-state.js';
import type { Logger } from '../core/logging/logger.js';

export function createStateGuard(logger: Logger): (raw: unknown) => AgentState | null {
  let lastProblem = '';
  return (raw) => {
    const parsed = AgentStateSchema.safeParse(raw);
    if (parsed.success) {
      lastProblem = '';
      return parsed.data;
    }
    // Paths and codes only: a state's values may include user names and file paths.
    const problem = parsed.error.issues.slice(0, 5).map((i) => `${i.path.join('.') || '(root)'}: ${i.code}`).join('; ');
    if (problem !== lastProblem) logger.error('agent state failed validation; showing unknown', { problem });
    lastProblem = problem;
    return null;
  };
}
