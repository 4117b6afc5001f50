/**
 * The abort signal of one request to the backend: it aborts when the agent stops (the
 * caller's long-lived signal) or when the request has taken too long, and once the request
 * is over, `dispose()` leaves nothing of it behind.
 *
 * Why not `AbortSignal.any([agentSignal, AbortSignal.timeout(ms)])`: on Node 20 (the agent's
 * runtime) every any() call adds a WeakRef to the agent signal's set of dependants that
 * stays there as long as that signal lives, which for the running agent is the whole
 * process: about 130 bytes per heartbeat, for good (measured, see the test). And
 * AbortSignal.timeout() keeps its timer, a closure and a FinalizationRegistry cell alive for
 * the whole timeout (30 s) after the answer came: long enough to be promoted to V8's old
 * space at every heartbeat, where it piles up as garbage until the next full collection
 * (issue 11: the running agent's RSS growth). A plain controller with a timer that is
 * cleared and a listener that is removed when the request ends has neither problem.
 */

export interface RequestDeadline {
  /** Aborts with the parent's reason, or with a TimeoutError DOMException after `timeoutMs`. */
  readonly signal: AbortSignal;
  /** The request is over: clears the timer and detaches from the parent. Idempotent. */
  dispose(): void;
}

export function requestDeadline(timeoutMs: number, parent?: AbortSignal): RequestDeadline {
  const controller = new AbortController();
  if (parent?.aborted) {
    controller.abort(parent.reason);
    return { signal: controller.signal, dispose: () => undefined };
  }
  const onParentAbort = () => {
    clearTimeout(timer);
    controller.abort(parent!.reason);
  };
  const timer = setTimeout(() => {
    parent?.removeEventListener('abort', onParentAbort);
    controller.abort(new DOMException(`the request took longer than ${timeoutMs} ms`, 'TimeoutError'));
  }, timeoutMs);
  // As AbortSignal.timeout(): a pending deadline does not keep the process alive.
  timer.unref?.();
  parent?.addEventListener('abort', onParentAbort, { once: true });
  return {
    signal: controller.signal,
    dispose: () => {
      clearTimeout(timer);
      parent?.removeEventListener('abort', onParentAbort);
    },
  };
}
