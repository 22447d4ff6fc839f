/** Waiting in tests for what happens on its own time (a socket, a timer, another process). */

/**
 * Resolves once `probe()` holds, checking every few ms; rejects naming `what` after `timeoutMs`.
 * The bound is not a claim about speed, only so that a broken behaviour fails saying what it
 * waited for instead of hanging.
 */
export async function until(what: string | (() => string), probe: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!probe()) {
    if (performance.now() > deadline) throw new Error(`still waiting, after ${timeoutMs} ms, for ${typeof what === 'string' ? what : what()}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
