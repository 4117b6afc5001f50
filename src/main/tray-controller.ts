/**
 * The tray icon: image, tooltip and context menu follow the agent's state. Each is set
 * only when it changes, since states arrive on every poll and some tray hosts flicker
 * on every update. On Linux the menu must be set again after any change to show it.
 */
import * as path from 'node:path';
import type { NativeImage, Tray } from 'electron';
import type { AgentState } from '../shared/agent-state.js';
import type { Status } from '../shared/scan.js';
import type { Logger } from '../core/logging/logger.js';
import type { ElectronApi } from './electron-api.js';
import { statusMenuModel, toMenuTemplate, type MenuAction, type MenuPolicy } from './status-menu.js';
import { trayIconFile, trayStatus, trayTooltip, type TimeFormatter } from './tray-icon-state.js';

export interface TrayDeps {
  electron: Pick<ElectronApi, 'Tray' | 'Menu' | 'nativeImage'>;
  assetsDir: string;
  platform: NodeJS.Platform;
  policy: MenuPolicy;
  onAction: (action: MenuAction) => void;
  /** Left click on the icon (Windows; macOS and Linux open the menu instead). */
  onClick: () => void;
  formatTime?: TimeFormatter;
  logger: Logger;
}

export class TrayController {
  private tray: Tray | null = null;
  private readonly images = new Map<Status, NativeImage>();
  private shown: { status?: Status; tooltip?: string; menu?: string } = {};

  constructor(private readonly deps: TrayDeps) {}

  private image(status: Status): NativeImage {
    let img = this.images.get(status);
    if (!img) {
      const file = path.join(this.deps.assetsDir, trayIconFile(status, this.deps.platform));
      img = this.deps.electron.nativeImage.createFromPath(file);
      if (img.isEmpty()) this.deps.logger.warn('tray icon missing or unreadable', { file });
      if (this.deps.platform === 'darwin') img.setTemplateImage(true);
      this.images.set(status, img);
    }
    return img;
  }

  /** Creates the icon. Returns false if the platform refused (the app carries on without). */
  create(state: AgentState | null): boolean {
    try {
      const status = trayStatus(state);
      this.tray = new this.deps.electron.Tray(this.image(status));
      this.shown.status = status;
      this.tray.on('click', () => this.deps.onClick());
      this.update(state);
      return true;
    } catch (e) {
      this.deps.logger.error('could not create the tray icon', { error: e instanceof Error ? e.message : String(e) });
      this.tray = null;
      return false;
    }
  }

  update(state: AgentState | null): void {
    const tray = this.tray;
    if (!tray || tray.isDestroyed()) return;
    try {
      const status = trayStatus(state);
      if (status !== this.shown.status) {
        tray.setImage(this.image(status));
        this.shown.status = status;
      }
      const tooltip = trayTooltip(state, this.deps.formatTime);
      if (tooltip !== this.shown.tooltip) {
        tray.setToolTip(tooltip);
        this.shown.tooltip = tooltip;
      }
      const model = statusMenuModel(state, this.deps.policy);
      const key = JSON.stringify(model);
      if (key !== this.shown.menu) {
        tray.setContextMenu(this.deps.electron.Menu.buildFromTemplate(toMenuTemplate(model, this.deps.onAction)));
        this.shown.menu = key;
      }
    } catch (e) {
      this.deps.logger.error('could not update the tray icon', { error: e instanceof Error ? e.message : String(e) });
    }
  }

  destroy(): void {
    if (this.tray && !this.tray.isDestroyed()) this.tray.destroy();
    this.tray = null;
  }
}
