import { EventEmitter } from 'node:events';
import { describe, expect, it, vi } from 'vitest';
import { createBridge } from '../../src/preload/bridge.js';
import { IPC } from '../../src/shared/ipc.js';

function fakeIpcRenderer() {
  const em = new EventEmitter();
  const invoke = vi.fn(async (..._args: unknown[]) => ({ ok: true }));
  return {
    em,
    invoke,
    ipc: {
      invoke,
      on: (ch: string, l: (...a: unknown[]) => void) => {
        em.on(ch, l);
        return undefined as never;
      },
      removeListener: (ch: string, l: (...a: unknown[]) => void) => {
        em.removeListener(ch, l);
        return undefined as never;
      },
    },
  };
}

describe('preload bridge', () => {
  it('exposes exactly the five named calls, frozen', () => {
    const b = createBridge(fakeIpcRenderer().ipc as never);
    expect(Object.keys(b).sort()).toEqual(['checkNow', 'getState', 'onState', 'openAdviceLink', 'openLogs']);
    expect(Object.isFrozen(b)).toBe(true);
    for (const v of Object.values(b)) expect(typeof v).toBe('function');
    expect(b).not.toHaveProperty('invoke');
    expect(b).not.toHaveProperty('send');
  });

  it('each call invokes its fixed channel', async () => {
    const f = fakeIpcRenderer();
    const b = createBridge(f.ipc as never);
    await b.getState();
    await b.checkNow();
    await b.openLogs();
    await b.openAdviceLink('abc' as string, '2' as unknown as number);
    expect(f.invoke.mock.calls).toEqual([[IPC.getState], [IPC.checkNow], [IPC.openLogs], [IPC.openAdviceLink, 'abc', 2]]);
  });

  it('onState hands over the state only, never the IPC event (whose sender is ipcRenderer)', () => {
    const f = fakeIpcRenderer();
    const b = createBridge(f.ipc as never);
    const seen: unknown[][] = [];
    const off = b.onState((...args: unknown[]) => seen.push(args));
    const event = { sender: f.ipc, ports: [] };
    f.em.emit(IPC.state, event, { status: 'ok' });
    expect(seen).toEqual([[{ status: 'ok' }]]);
    off();
    off(); // idempotent
    f.em.emit(IPC.state, event, { status: 'compromised' });
    expect(seen).toHaveLength(1);
    expect(f.em.listenerCount(IPC.state)).toBe(0);
  });

  it('ignores a non-function callback', () => {
    const f = fakeIpcRenderer();
    const off = createBridge(f.ipc as never).onState('nope' as never);
    expect(f.em.listenerCount(IPC.state)).toBe(0);
    expect(() => off()).not.toThrow();
  });
});
