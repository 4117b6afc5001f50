/**
 * electron-log set-up for the main process, and an adapter to the core's Logger.
 *
 * - Files go to electron-log's standard per-user folder: %APPDATA%\Vigil\logs on
 *   Windows, ~/Library/Logs/Vigil on macOS, ~/.config/Vigil/logs on Linux.
 * - Rotation at 1 MiB keeps 5 numbered archives (log-rotation.ts), so about 6 MiB at most.
 * - `log.initialize()` is deliberately NOT called: it would inject electron-log's own
 *   preload into every session, and the status window needs no logging bridge.
 * - Everything that reaches a file goes through the core's `redact`, so fields named
 *   like credentials (token, password, authorization …) are never written.
 *
 * This module takes the electron-log instance as a parameter (main.ts passes
 * `electron-log/main`), so tests can drive it with `electron-log/node`, which has the same
 * file transport and does not need Electron.
 */
import * as path from 'node:path';
import type { LogFile, LogFunctions, NodeLogger } from 'electron-log';
import { redact, type LogFields, type Logger, type LogLevel } from '../core/logging/logger.js';
import { rotateLogArchives } from './log-rotation.js';

export const LOG_MAX_BYTES = 1024 * 1024;
export const LOG_ARCHIVES = 5;

export interface LogSetupOptions {
  maxSize?: number;
  keep?: number;
  /** Overrides the folder (tests); by default electron-log's per-OS folder is used. */
  dir?: string;
  /** Console output level; the file always gets info and above. */
  consoleLevel?: LogLevel | false;
}

type CroppableFile = LogFile & { crop?: (bytes: number) => void };

export function configureElectronLog(log: NodeLogger, opts: LogSetupOptions = {}): void {
  const keep = opts.keep ?? LOG_ARCHIVES;
  const file = log.transports.file;
  file.level = 'info';
  file.maxSize = opts.maxSize ?? LOG_MAX_BYTES;
  if (opts.dir) {
    const dir = opts.dir;
    file.resolvePathFn = (vars) => path.join(dir, vars.fileName ?? 'main.log');
  }
  file.archiveLogFn = (old: LogFile) => {
    try {
      rotateLogArchives(old.path, keep);
    } catch {
      // The live file could not move (another process holds it on Windows): keep the
      // newest quarter instead of growing without bound, as electron-log itself does.
      const f = old as CroppableFile;
      if (typeof f.crop === 'function') f.crop(Math.round((file.maxSize || LOG_MAX_BYTES) / 4));
      else f.clear();
    }
  };
  log.transports.console.level = opts.consoleLevel === undefined ? 'warn' : opts.consoleLevel;
}

/** The settings' logLevel for the log file (info unless the settings say otherwise). */
export function setFileLogLevel(log: NodeLogger, level: LogLevel): void {
  log.transports.file.level = level;
}

/** The folder holding the log files ("Open log folder"). */
export function logFolder(log: NodeLogger): string {
  return path.dirname(log.transports.file.getFile().path);
}

/** The core's Logger interface on top of electron-log, with secret redaction. */
export function loggerFromElectronLog(log: LogFunctions, base: LogFields = {}): Logger {
  const emit = (level: LogLevel, msg: string, fields?: LogFields) => {
    try {
      const all = { ...base, ...fields };
      if (Object.keys(all).length === 0) log[level](msg);
      else log[level](msg, JSON.stringify(redact(all)));
    } catch {
      // A log call must never take the app down (a full disk, a circular object).
    }
  };
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    child: (fields) => loggerFromElectronLog(log, { ...base, ...fields }),
  };
}
