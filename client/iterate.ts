/**
 * A follower that pushes values (and runs until its signal aborts or it fails) as an async
 * iterator: its values in order, its failure thrown after the values that came before it, and
 * the follower stopped when the caller's loop ends early or `outer` aborts.
 */
export async function* iterate<T>(run: (push: (value: T) => void, signal: AbortSignal) => Promise<void>, outer?: AbortSignal): AsyncGenerator<T, void, undefined> {
  const stop = new AbortController();
  const onAbort = () => stop.abort();
  outer?.addEventListener('abort', onAbort, { once: true });
  if (outer?.aborted) stop.abort();
  const queue: T[] = [];
  let wake: (() => void) | null = null;
  const notify = () => wake?.();
  let ended = false;
  let failure: unknown = null;
  const following = run((value) => {
    queue.push(value);
    notify();
  }, stop.signal)
    .then(
      () => undefined,
      (err: unknown) => {
        failure = err;
      },
    )
    .finally(() => {
      ended = true;
      notify();
    });
  try {
    for (;;) {
      if (queue.length > 0) {
        yield queue.shift()!;
        continue;
      }
      if (ended) break;
      await new Promise<void>((resolve) => (wake = resolve));
      wake = null;
    }
    if (failure !== null) throw failure;
  } finally {
    stop.abort();
    outer?.removeEventListener('abort', onAbort);
    await following;
  }
}
