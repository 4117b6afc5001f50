/**
 * The tray's context menu as data: which entries, in which order, enabled or not.
 *
 * `statusMenuModel` is a pure function of the state and the machine policy (tested
 * directly); `toMenuTemplate` turns it into Electron's template. On Linux an
 * AppIndicator shows only the menu (clicks on the icon may never arrive), so every
 * action is reachable from here.
 */
import type { MenuItemConstructorOptions } from 'electron';
import type { AgentState } from '../shared/agent-state.js';
import { STATUS_LABEL } from './status-text.js';
import { trayStatus } from './tray-icon-state.js';

export type MenuAction = 'check-now' | 'open-status' | 'open-logs' | 'about' | 'quit';

export type MenuEntry =
  | { kind: 'label'; id: 'verdict'; label: string }
  | { kind: 'action'; id: MenuAction; label: string; enabled: boolean }
  | { kind: 'separator' };

export interface MenuPolicy {
  allowQuit: boolean;
}

export function statusMenuModel(state: AgentState | null, policy: MenuPolicy): MenuEntry[] {
  const scanning = state?.scanning === true;
  const entries: MenuEntry[] = [
    { kind: 'label', id: 'verdict', label: `Status: ${STATUS_LABEL[trayStatus(state)]}` },
    { kind: 'separator' },
    { kind: 'action', id: 'check-now', label: scanning ? 'Checking…' : 'Check now', enabled: state !== null && state.available !== false && !scanning },
    { kind: 'action', id: 'open-status', label: 'Open status', enabled: true },
    { kind: 'action', id: 'open-logs', label: 'Open log folder', enabled: true },
    { kind: 'separator' },
    { kind: 'action', id: 'about', label: 'About Vigil', enabled: true },
  ];
  if (policy.allowQuit) entries.push({ kind: 'separator' }, { kind: 'action', id: 'quit', label: 'Quit Vigil', enabled: true });
  return entries;
}

export function toMenuTemplate(model: readonly MenuEntry[], onAction: (action: MenuAction) => void): MenuItemConstructorOptions[] {
  return model.map((e): MenuItemConstructorOptions => {
    switch (e.kind) {
      case 'separator':
        return { type: 'separator' };
      case 'label':
        return { id: e.id, label: e.label, enabled: false };
      case 'action':
        return { id: e.id, label: e.label, enabled: e.enabled, click: () => onAction(e.id) };
    }
  });
}

/** The About text: agent and pack versions, device id and tenant (no secrets live in these). */
export function aboutText(state: AgentState | null, appVersion: string): { message: string; detail: string } {
  const agent = state?.versions.agent ?? appVersion;
  const packs = state?.versions.packs ?? [];
  const lines = [
    `Agent version: ${agent}`,
    packs.length ? `Incident packs:\n${packs.map((p) => `  • ${p.title} (${p.id}, version ${p.version})`).join('\n')}` : 'Incident packs: none loaded yet',
    `Device ID: ${state?.device.id ?? 'not enrolled'}`,
    `Tenant: ${state?.device.tenant ?? 'none'}`,
    `Computer name: ${state?.device.hostname ?? 'unknown'}`,
  ];
  return { message: `Vigil ${appVersion}`, detail: lines.join('\n') };
}
