/**
 * A daemon's event stream that outlives its connections: `watch()` and `lead()` both read it.
 * Every connection starts with a snapshot, so a reader that reconnects has the state afresh, not
 * a guess at what it missed. A failure to connect says whether the daemon is known to be gone
 * (nothing listens: connection refused, no socket file), which `lead()` must act on at once, or
 * only silent (a timeout), which the lease covers. Errors that a retry cannot cure (a refused
 * token, another server at the address) end the follow.
 */
import type { ApiClient } from '../daemon/api/client.js';
import type { NodeEventType } from '../protocols/host/events.js';
import type { StreamEvent } from '../daemon/api/types.js';

/** Reconnect delays: at once (a closed stream is often a restart), then doubling to the cap. */
export const RECONNECT_FIRST_DELAY_MS = 50;
export const RECONNECT_MAX_DELAY_MS = 2000;

/** The errno codes that mean no daemon runs at the address (not merely that it is slow). */
const GONE_CODES: ReadonlySet<string> = new Set(['ECONNREFUSED', 'ENOENT']);

export interface FollowHandlers {
  /** Each event as it arrives; `connectedAtMs` is when its connection was opened (`now()`). */
  onEvent(event: StreamEvent, connectedAtMs: number): void;
  /**
   * The stream broke or could not be opened; `gone` when the daemon is known not to run.
   * `retryInMs`: when the next attempt is made.
   */
  onDown(error: Error, gone: boolean, retryInMs: number): void;
}

export interface FollowOptions {
  signal: AbortSignal;
  types?: readonly NodeEventType[];
  /** Monotonic clock; default performance.now. */
  now?: () => number;
}

/** Delay before reconnect attempt `attempt` (0-based): 0, then 50 ms doubling to 2 s. */
export function reconnectDelayMs(attempt: number): number {
  return attempt === 0 ? 0 : Math.min(RECONNECT_MAX_DELAY_MS, RECONNECT_FIRST_DELAY_MS * 2 ** (attempt - 1));
}

/** True for an error that means no daemon is running at the address. */
export function isDaemonGone(err: unknown): boolean {
  if ((err as Error | null)?.name !== 'ApiUnreachableError') return false;
  const code = ((err as Error).cause as NodeJS.ErrnoException | undefined)?.code;
  return code !== undefined && GONE_CODES.has(code);
}

/** Only an unreachable daemon is worth retrying; anything else would fail the same way again. */
export function isTransient(err: unknown): boolean {
  return (err as Error | null)?.name === 'ApiUnreachableError';
}

/** Follows the stream until `signal` aborts (resolves) or an error that is not transient (rejects). */
export async function follow(api: ApiClient, handlers: FollowHandlers, opts: FollowOptions): Promise<void> {
  const now = opts.now ?? (() => performance.now());
  let attempt = 0;
  while (!opts.signal.aborted) {
    const connectedAtMs = now();
    let error: Error;
    try {
      await api.events(
        (event) => {
          if (event.type === 'snapshot') attempt = 0;
          handlers.onEvent(event, connectedAtMs);
        },
        { signal: opts.signal, ...(opts.types ? { types: opts.types } : {}) },
      );
      error = new Error(`the daemon at ${api.address} closed the event stream`);
    } catch (err) {
      if (!isTransient(err)) throw err;
      error = err as Error;
    }
    if (opts.signal.aborted) return;
    const retryInMs = reconnectDelayMs(attempt++);
    handlers.onDown(error, isDaemonGone(error), retryInMs);
    await sleep(retryInMs, opts.signal);
  }
}

/** Resolves after `ms`, or at once when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted || ms <= 0) {
      resolve();
      return;
    }
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}
