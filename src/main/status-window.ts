/**
 * The one status window: created on demand, shown and focused when asked, destroyed
 * when closed (the app lives on in the tray; a closed window costs no memory).
 */
import type { BrowserWindow, WebFrameMain } from 'electron';
import type { AgentState } from '../shared/agent-state.js';
import { IPC } from '../shared/ipc.js';
import type { Logger } from '../core/logging/logger.js';

export interface StatusWindowDeps {
  /** Creates the window (window-security.ts: createStatusBrowserWindow). */
  create: () => BrowserWindow;
  url: string;
  logger: Logger;
}

export class StatusWindow {
  private win: BrowserWindow | null = null;

  constructor(private readonly deps: StatusWindowDeps) {}

  private alive(): BrowserWindow | null {
    return this.win && !this.win.isDestroyed() ? this.win : null;
  }

  show(): void {
    const existing = this.alive();
    if (existing) {
      if (existing.isMinimized()) existing.restore();
      existing.show();
      existing.focus();
      return;
    }
    const win = this.deps.create();
    this.win = win;
    win.once('ready-to-show', () => {
      win.show();
      win.focus();
    });
    win.on('closed', () => {
      if (this.win === win) this.win = null;
    });
    win.webContents.on('render-process-gone', (_e, details) => {
      this.deps.logger.error('status window renderer gone', { reason: details.reason });
    });
    win.loadURL(this.deps.url).catch((e: unknown) => {
      this.deps.logger.error('status window failed to load', { error: e instanceof Error ? e.message : String(e) });
    });
  }

  isOpen(): boolean {
    return this.alive() !== null;
  }

  /** The frame allowed to call the bridge: this window's main frame, if it is open. */
  mainFrame(): WebFrameMain | null {
    const win = this.alive();
    if (!win) return null;
    try {
      return win.webContents.mainFrame;
    } catch {
      return null;
    }
  }

  send(state: AgentState): void {
    const win = this.alive();
    if (!win) return;
    try {
      win.webContents.send(IPC.state, state);
    } catch (e) {
      this.deps.logger.warn('could not send state to the status window', { error: e instanceof Error ? e.message : String(e) });
    }
  }

  close(): void {
    this.alive()?.close();
  }
}
