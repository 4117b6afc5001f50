/**
 * The status window shows which packs the PC runs, their versions, and when a pack from the
 * IT provider's backend arrived: the core agent's pack refs (receivedAt set by the fleet
 * module) through the tray state map into the status window's view model.
 */
import { describe, expect, it } from 'vitest';
import type { AgentState as CoreState } from '../../src/core/agent.js';
import { toTrayState } from '../../src/main/agent-state-map.js';
import { buildStatusView } from '../../src/renderer/view-model.js';

const BUILTIN = { id: '3cx-desktopapp-2023-03', version: 1, title: '3CX DesktopApp supply-chain compromise (March 2023)', origin: 'builtin' };
const DELIVERED = { id: 'acme-incident-2026-12', version: 3, title: 'Acme VPN client compromise (December 2026)', origin: 'signed:acme-2026', receivedAt: '2026-12-05T09:12:00.000Z' };

function core(packs: CoreState['packs']): CoreState {
  return { phase: 'running', scanning: false, verdict: null, findings: [], installs: [], packs, lastScanAt: null, lastScanError: null, connectionWatch: 'off', report: null, lastReportAt: null, backlog: null, problems: [] };
}

describe('packs in the status window', () => {
  it('lists every pack with its version, and when one from the IT provider arrived', () => {
    const tray = toTrayState(core([BUILTIN, DELIVERED]), {
      now: new Date('2026-12-05T09:30:00.000Z'),
      startedAt: new Date('2026-12-05T08:00:00.000Z'),
      staleAfterMs: 15 * 60_000,
      agentVersion: '0.1.0',
      hostname: 'RECEPTION-PC',
      packs: [BUILTIN],
    });
    expect(tray.versions.packs).toEqual([
      { id: BUILTIN.id, version: 1, title: BUILTIN.title },
      { id: DELIVERED.id, version: 3, title: DELIVERED.title, receivedAt: DELIVERED.receivedAt },
    ]);
    const view = buildStatusView(tray, (iso) => `@${iso.slice(11, 16)}`);
    const rows = JSON.stringify(view);
    expect(rows).toContain(JSON.stringify({ label: 'Incident pack', value: '3CX DesktopApp supply-chain compromise (March 2023) (version 1)' }));
    expect(rows).toContain(JSON.stringify({ label: 'Incident pack from your IT provider', value: 'Acme VPN client compromise (December 2026) (version 3, arrived @09:12)' }));
  });
});
