import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { requestDeadline } from '../../../src/core/report/request-deadline.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('requestDeadline', () => {
  it('aborts with a TimeoutError after its time, and never once disposed', async () => {
    const late = requestDeadline(20);
    const done = requestDeadline(20);
    done.dispose();
    await sleep(60);
    expect(late.signal.aborted).toBe(true);
    expect((late.signal.reason as DOMException).name).toBe('TimeoutError');
    expect((late.signal.reason as DOMException).message).toContain('20 ms');
    expect(done.signal.aborted).toBe(false);
  });

  it("follows the agent's signal: aborted before or during the request, with its reason", () => {
    const stopped = new AbortController();
    stopped.abort(new Error('agent stopping'));
    const before = requestDeadline(30_000, stopped.signal);
    expect(before.signal.aborted).toBe(true);
    expect((before.signal.reason as Error).message).toBe('agent stopping');

    const agent = new AbortController();
    const during = requestDeadline(30_000, agent.signal);
    expect(during.signal.aborted).toBe(false);
    agent.abort(new Error('stop'));
    expect(during.signal.aborted).toBe(true);
    expect((during.signal.reason as Error).message).toBe('stop');
    during.dispose();
    before.dispose();
  });

  it("leaves no listener on the agent's signal once each request is over or timed out", async () => {
    const agent = new AbortController();
    for (let i = 0; i < 100; i++) requestDeadline(30_000, agent.signal).dispose();
    const timedOut = requestDeadline(10, agent.signal);
    expect(getEventListeners(agent.signal, 'abort')).toHaveLength(1);
    await sleep(40);
    expect(timedOut.signal.aborted).toBe(true);
    expect(getEventListeners(agent.signal, 'abort')).toHaveLength(0);
    // A finished request is not aborted by the agent stopping later.
    const finished = requestDeadline(30_000, agent.signal);
    finished.dispose();
    agent.abort();
    expect(finished.signal.aborted).toBe(false);
  });
});
