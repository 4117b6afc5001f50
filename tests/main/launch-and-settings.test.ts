import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { consumeFirstRun, shouldShowWindowAtStart, startedAtLogin } from '../../src/main/launch-intent.js';
import { parseTraySettings } from '../../src/main/settings.js';
import { createStateGuard } from '../../src/main/state-guard.js';
import { memoryLogger } from './memory-logger.js';
import { states } from './fixtures/agent-states.js';

describe('launch intent', () => {
  it('opens the window on first run, or when launched by hand', () => {
    expect(shouldShowWindowAtStart({ firstRun: true, atLogin: true })).toBe(true);
    expect(shouldShowWindowAtStart({ firstRun: false, atLogin: false })).toBe(true);
    expect(shouldShowWindowAtStart({ firstRun: false, atLogin: true })).toBe(false);
  });
  it('login is the --autostart argument, or macOS wasOpenedAtLogin', () => {
    expect(startedAtLogin(['vigil', '--autostart'])).toBe(true);
    expect(startedAtLogin(['vigil'])).toBe(false);
    expect(startedAtLogin(['vigil'], true)).toBe(true);
  });
  it('first run is consumed once', () => {
    const dir = path.join(mkdtempSync(path.join(tmpdir(), 'vigil-fr-')), 'userData');
    expect(consumeFirstRun(dir)).toBe(true);
    expect(consumeFirstRun(dir)).toBe(false);
  });
  it('an unwritable profile counts as first run every time (the window is never lost)', () => {
    const fsx = { existsSync: () => false, mkdirSync: () => {
      throw new Error('EACCES');
    }, writeFileSync: () => {} };
    expect(consumeFirstRun('/nope', fsx)).toBe(true);
    expect(consumeFirstRun('/nope', fsx)).toBe(true);
  });
});

describe('tray settings', () => {
  it('defaults for an unmanaged install', () => {
    expect(parseTraySettings(undefined)).toEqual({ allowQuit: true, autostart: 'user', notifications: true });
  });
  it('managed policy', () => {
    expect(parseTraySettings({ allowQuit: false, autostart: 'machine' })).toEqual({ allowQuit: false, autostart: 'machine', notifications: true });
  });
  it('a malformed policy value falls back to the managed choice, field by field', () => {
    expect(parseTraySettings({ allowQuit: 'no', autostart: 'sometimes', notifications: 3, extra: 1 })).toEqual({ allowQuit: false, autostart: 'user', notifications: true });
  });
});

describe('state guard', () => {
  it('passes valid states and turns invalid ones into null, logging each problem once', () => {
    const log = memoryLogger();
    const guard = createStateGuard(log);
    expect(guard(states.compromised())?.status).toBe('compromised');
    expect(guard({ status: 'purple' })).toBeNull();
    expect(guard({ status: 'purple' })).toBeNull();
    expect(log.entries.filter((e) => e.level === 'error')).toHaveLength(1);
    expect(JSON.stringify(log.entries)).not.toContain('purple'); // values are not logged
    expect(guard(states.ok())?.status).toBe('ok');
  });
});
