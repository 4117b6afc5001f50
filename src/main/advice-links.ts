/**
 * Which address "open this advice link" may open. The renderer names a finding and a
 * link index; the address comes from the agent's own state (the pack's advice), and only
 * https URLs without credentials are opened (Electron checklist item 15).
 */
import type { AgentState } from '../shared/agent-state.js';

export function adviceLinkUrl(state: AgentState | null, findingId: string, index: number): string | null {
  const finding = state?.findings.find((f) => f.id === findingId);
  const link = finding?.advice?.links[index];
  if (!link) return null;
  let url: URL;
  try {
    url = new URL(link.url);
  } catch {
    return null;
  }
  if (url.protocol !== 'https:' || url.username || url.password || !url.hostname) return null;
  return url.toString();
}
