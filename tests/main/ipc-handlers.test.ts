import { describe, expect, it, vi } from 'vitest';
import { registerIpcHandlers, senderProblem } from '../../src/main/ipc-handlers.js';
import { IPC, IpcRequestSchemas } from '../../src/shared/ipc.js';
import { adviceLinkUrl } from '../../src/main/advice-links.js';
import { makeFrame, type FakeFrame } from './fake-electron.js';
import { findings, scannedState, states } from './fixtures/agent-states.js';
import { memoryLogger } from './memory-logger.js';

describe('senderProblem', () => {
  const status = makeFrame('vigil://app/index.html');
  it.each<[string, FakeFrame | null, FakeFrame | null, string | null]>([
    ['the status window main frame', status, status, null],
    ['an equal frame object (same process and routing id)', { ...status }, status, null],
    ['no sender frame', null, status, 'no sender frame (navigated or destroyed)'],
    ['no window open', status, null, 'no status window is open'],
    ['a subframe', makeFrame('vigil://app/x.html', status, status.processId), status, 'sender is a subframe'],
    ['another window', makeFrame('vigil://app/index.html'), status, 'sender is not the status window'],
    ['the right frame showing another origin', { ...status, url: 'https://example.com/' }, status, 'sender is not on the app origin'],
    ['the right frame showing about:blank', { ...status, url: 'about:blank' }, status, 'sender is not on the app origin'],
    ['a look-alike scheme', { ...status, url: 'vigil://app.evil.example/index.html' }, status, 'sender is not on the app origin'],
  ])('%s', (_name, sender, expected, problem) => {
    expect(senderProblem(sender as never, expected as never)).toBe(problem);
  });
});

describe('request schemas', () => {
  it('accept exactly the documented arguments', () => {
    expect(IpcRequestSchemas[IPC.getState].safeParse([]).success).toBe(true);
    expect(IpcRequestSchemas[IPC.getState].safeParse([1]).success).toBe(false);
    expect(IpcRequestSchemas[IPC.openAdviceLink].safeParse(['0123456789abcdef', 2]).success).toBe(true);
    expect(IpcRequestSchemas[IPC.openAdviceLink].safeParse(['https://evil.example', 0]).success).toBe(false);
    expect(IpcRequestSchemas[IPC.openAdviceLink].safeParse(['0123456789abcdef', -1]).success).toBe(false);
    expect(IpcRequestSchemas[IPC.openAdviceLink].safeParse(['0123456789abcdef', 1.5]).success).toBe(false);
    expect(IpcRequestSchemas[IPC.openAdviceLink].safeParse(['0123456789abcdef', 0, 'x']).success).toBe(false);
  });
});

describe('registerIpcHandlers', () => {
  const setup = () => {
    const handlers = new Map<string, (e: { senderFrame: FakeFrame | null }, ...a: unknown[]) => Promise<unknown>>();
    const ipcMain = { handle: vi.fn((c: string, h: never) => handlers.set(c, h)), removeHandler: vi.fn((c: string) => handlers.delete(c)) };
    const frame = makeFrame('vigil://app/index.html');
    const svc = {
      statusFrame: () => frame as never,
      getState: () => states.ok(),
      checkNow: vi.fn(async () => ({ ok: true as const })),
      openLogs: vi.fn(async () => ({ ok: true as const })),
      openAdviceLink: vi.fn(async () => ({ ok: true as const })),
      logger: memoryLogger(),
    };
    const remove = registerIpcHandlers(ipcMain as never, svc);
    const call = (c: string, f: FakeFrame | null, ...a: unknown[]) => handlers.get(c)!({ senderFrame: f }, ...a);
    return { handlers, svc, frame, remove, call };
  };

  it('registers the four invoke channels and removes them again', () => {
    const { handlers, remove } = setup();
    expect([...handlers.keys()].sort()).toEqual([IPC.checkNow, IPC.getState, IPC.openAdviceLink, IPC.openLogs].sort());
    remove();
    expect(handlers.size).toBe(0);
  });

  it('a handler that throws answers with a value', async () => {
    const { svc, call, frame } = setup();
    svc.checkNow.mockRejectedValueOnce(new Error('boom'));
    expect(await call(IPC.checkNow, frame)).toEqual({ ok: false, error: 'internal error' });
    expect(svc.logger.entries.some((e) => e.level === 'error' && e.msg === 'ipc handler failed')).toBe(true);
  });

  it('a senderFrame getter that throws (frame disposed) is a refusal', async () => {
    const { svc, handlers } = setup();
    const event = Object.defineProperty({}, 'senderFrame', {
      get() {
        throw new Error('Render frame was disposed before WebFrameMain could be accessed');
      },
    });
    expect(await handlers.get(IPC.checkNow)!(event as never)).toEqual({ ok: false, error: 'refused' });
    expect(svc.checkNow).not.toHaveBeenCalled();
  });

  it('passes validated arguments through', async () => {
    const { svc, call, frame } = setup();
    await call(IPC.openAdviceLink, frame, 'abcdefabcdefabcd', 3);
    expect(svc.openAdviceLink).toHaveBeenCalledWith('abcdefabcdefabcd', 3);
  });
});

describe('adviceLinkUrl', () => {
  const state = scannedState([findings.compromisedInstall()]);
  const f = state.findings[0]!;
  it('returns the pack link named by finding and index', () => {
    expect(adviceLinkUrl(state, f.id, 0)).toBe(f.advice!.links[0]!.url);
  });
  it('refuses unknown findings, indexes, non-https and credentials', () => {
    expect(adviceLinkUrl(state, 'ffffffffffffffff', 0)).toBeNull();
    expect(adviceLinkUrl(state, f.id, 99)).toBeNull();
    expect(adviceLinkUrl(null, f.id, 0)).toBeNull();
    const bad = (url: string) => {
      const s = structuredClone(state);
      s.findings[0]!.advice!.links[0]!.url = url;
      return adviceLinkUrl(s, f.id, 0);
    };
    expect(bad('http://www.3cx.com/')).toBeNull();
    expect(bad('javascript:alert(1)')).toBeNull();
    expect(bad('file:///etc/passwd')).toBeNull();
    expect(bad('https://user:pw@example.com/')).toBeNull();
    expect(bad('not a url')).toBeNull();
    expect(bad('https://www.3cx.com/blog/')).toBe('https://www.3cx.com/blog/');
  });
});
