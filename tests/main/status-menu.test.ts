import { describe, expect, it, vi } from 'vitest';
import { aboutText, statusMenuModel, toMenuTemplate } from '../../src/main/status-menu.js';
import { states } from './fixtures/agent-states.js';

const ids = (m: ReturnType<typeof statusMenuModel>) => m.map((e) => (e.kind === 'separator' ? '-' : e.id));

describe('status menu', () => {
  it('managed install: no Quit', () => {
    expect(ids(statusMenuModel(states.ok(), { allowQuit: false }))).toEqual(['verdict', '-', 'check-now', 'open-status', 'open-logs', '-', 'about']);
  });

  it('unmanaged install: Quit last', () => {
    expect(ids(statusMenuModel(states.ok(), { allowQuit: true })).slice(-2)).toEqual(['-', 'quit']);
  });

  it('the verdict line is a disabled label', () => {
    const [first] = toMenuTemplate(statusMenuModel(states.compromised(), { allowQuit: false }), () => {});
    expect(first).toMatchObject({ label: 'Status: Compromised', enabled: false });
    expect(first).not.toHaveProperty('click');
  });

  it('Check now is disabled while scanning and before the agent runs', () => {
    const scanning = statusMenuModel({ ...states.ok(), scanning: true }, { allowQuit: false }).find((e) => e.kind === 'action' && e.id === 'check-now');
    expect(scanning).toMatchObject({ label: 'Checking…', enabled: false });
    const none = statusMenuModel(null, { allowQuit: false }).find((e) => e.kind === 'action' && e.id === 'check-now');
    expect(none).toMatchObject({ enabled: false });
  });

  it('Check now is disabled while the checker (the service) cannot be reached', async () => {
    const { unavailableTrayState } = await import('../../src/main/agent-state-map.js');
    const down = unavailableTrayState('Vigil is not checking this PC: the Vigil service is not running.', { agentVersion: '0.1.0', hostname: 'PC', packs: [] });
    expect(statusMenuModel(down, { allowQuit: false }).find((e) => e.kind === 'action' && e.id === 'check-now')).toMatchObject({ enabled: false });
    expect(statusMenuModel(states.ok(), { allowQuit: false }).find((e) => e.kind === 'action' && e.id === 'check-now')).toMatchObject({ enabled: true });
  });

  it('items call back with their action', () => {
    const onAction = vi.fn();
    const tpl = toMenuTemplate(statusMenuModel(states.ok(), { allowQuit: true }), onAction);
    for (const item of tpl) (item.click as (() => void) | undefined)?.();
    expect(onAction.mock.calls.map((c) => c[0])).toEqual(['check-now', 'open-status', 'open-logs', 'about', 'quit']);
  });
});

describe('about text', () => {
  it('lists versions, device and tenant', () => {
    const { message, detail } = aboutText(states.ok(), '0.1.0');
    expect(message).toBe('Vigil 0.1.0');
    expect(detail.split('\n')).toEqual([
      'Agent version: 0.1.0',
      'Incident packs:',
      '  • 3CX DesktopApp supply-chain compromise (March 2023) (3cx-desktopapp-2023-03, version 2)',
      'Device ID: dev_7f3a9c2e',
      'Tenant: Acme IT Partners',
      'Computer name: RECEPTION-PC',
    ]);
  });

  it('before the agent runs', () => {
    expect(aboutText(null, '0.2.0').detail).toContain('Device ID: not enrolled');
  });
});
