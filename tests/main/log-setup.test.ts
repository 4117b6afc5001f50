/**
 * Log rotation and redaction, with electron-log's real file transport: `electron-log/node`
 * has the same transports as `electron-log/main` without needing Electron.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import log from 'electron-log/node';
import { configureElectronLog, logFolder, loggerFromElectronLog, LOG_ARCHIVES } from '../../src/main/log-setup.js';
import { archivePath, rotateLogArchives } from '../../src/main/log-rotation.js';

describe('rotateLogArchives', () => {
  it('shifts main.log → main.1.log → … and drops the oldest', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'vigil-rot-'));
    const file = path.join(dir, 'main.log');
    for (let gen = 1; gen <= 8; gen++) {
      writeFileSync(file, `generation ${gen}\n`);
      rotateLogArchives(file, 5);
    }
    expect(readdirSync(dir).sort()).toEqual(['main.1.log', 'main.2.log', 'main.3.log', 'main.4.log', 'main.5.log']);
    expect(readFileSync(archivePath(file, 1), 'utf8')).toBe('generation 8\n');
    expect(readFileSync(archivePath(file, 5), 'utf8')).toBe('generation 4\n');
  });

  it('rejects a nonsense archive count', () => {
    expect(() => rotateLogArchives('/tmp/x.log', 0)).toThrow(RangeError);
  });
});

describe('electron-log configuration', () => {
  it('keeps five archives of at most maxSize, in the configured folder', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'vigil-elog-'));
    const logger = log.create({ logId: 'rotation-test' });
    configureElectronLog(logger, { dir, maxSize: 2048, consoleLevel: false });
    const line = 'x'.repeat(200);
    for (let i = 0; i < 400; i++) logger.info(`${i} ${line}`);
    const files = readdirSync(dir).sort();
    expect(files).toEqual(['main.1.log', 'main.2.log', 'main.3.log', 'main.4.log', 'main.5.log', 'main.log']);
    expect(LOG_ARCHIVES).toBe(5);
    for (const f of files) expect(readFileSync(path.join(dir, f)).length).toBeLessThan(2048 + 400);
    expect(readFileSync(path.join(dir, 'main.log'), 'utf8')).toContain('399 ');
    expect(logFolder(logger)).toBe(dir);
  });

  it('never writes secrets: credential-like fields are redacted', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'vigil-elog-'));
    const logger = log.create({ logId: 'redaction-test' });
    configureElectronLog(logger, { dir, consoleLevel: false });
    const core = loggerFromElectronLog(logger).child({ component: 'reporter' });
    core.info('enrolled', { enrollToken: 'tok_SECRET123', headers: { Authorization: 'Bearer abc.def' }, deviceId: 'dev_1' });
    core.debug('not written at info level', { x: 1 });
    const text = readFileSync(path.join(dir, 'main.log'), 'utf8');
    expect(text).toContain('enrolled');
    expect(text).toContain('"deviceId":"dev_1"');
    expect(text).toContain('"component":"reporter"');
    expect(text).not.toContain('tok_SECRET123');
    expect(text).not.toContain('Bearer abc.def');
    expect(text).not.toContain('not written at info level');
  });

  it('a log call with a circular value does not throw', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'vigil-elog-'));
    const logger = log.create({ logId: 'circular-test' });
    configureElectronLog(logger, { dir, consoleLevel: false });
    const a: Record<string, unknown> = {};
    a.self = a;
    let nested: Record<string, unknown> = a;
    for (let i = 0; i < 12; i++) nested = nested.self as Record<string, unknown>;
    expect(() => loggerFromElectronLog(logger).warn('circular', { a })).not.toThrow();
    expect(existsSync(dir)).toBe(true);
  });
});
