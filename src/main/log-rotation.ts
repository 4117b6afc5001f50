/**
 * Log rotation with several archives. electron-log's default `archiveLogFn` renames
 * main.log to main.old.log, so a busy day overwrites yesterday's only archive; support
 * needs more history than that. This keeps `keep` numbered archives:
 * main.log → main.1.log → main.2.log … → main.<keep>.log (then deleted).
 * Names end in .log so electron-log's `readAllLogs` and a support person find them.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface RotationFs {
  existsSync(p: string): boolean;
  renameSync(from: string, to: string): void;
  rmSync(p: string, opts: { force: boolean }): void;
}

export function archivePath(filePath: string, index: number): string {
  const { dir, name, ext } = path.parse(filePath);
  return path.join(dir, `${name}.${index}${ext}`);
}

/** Shifts the archives and moves the live file to archive 1. Throws if the live file cannot move. */
export function rotateLogArchives(filePath: string, keep: number, fsx: RotationFs = fs): void {
  if (!Number.isInteger(keep) || keep < 1) throw new RangeError('keep must be a positive integer');
  fsx.rmSync(archivePath(filePath, keep), { force: true });
  for (let i = keep - 1; i >= 1; i--) {
    const from = archivePath(filePath, i);
    if (fsx.existsSync(from)) fsx.renameSync(from, archivePath(filePath, i + 1));
  }
  fsx.renameSync(filePath, archivePath(filePath, 1));
}
