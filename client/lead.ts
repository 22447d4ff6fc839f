/**
 * `lead()`: client-go's leader-election callbacks over a Conclave daemon. The decisions are
 * LeadershipTracker's (leadership.ts); this file owns the I/O around it: the event stream (the
 * facts, as they happen), one long-poll of `GET /v1/leader` while this node claims to lead (the
 * lease, renewed before it runs out), and one timer at the lease's end. No polling loop: a node
 * that does not lead only listens.
 */
import type { ApiClient } from '../daemon/api/client.js';
import { LeadershipLostError } from './errors.js';
import { follow, isDaemonGone, isTransient, sleep } from './follow.js';
import { LeadershipTracker, type LeaderInfo, type Leadership, type LeadershipEffect, type StopReason } from './leadership.js';

/** What `lead()` calls; every callback is optional. */
export interface LeadCallbacks {
  /**
   * This node leads, under `token` (the fencing token: pass it with every write). `signal` aborts
   * the moment that ends — lost, a new term, the lease run out unrenewed, the daemon gone, or
   * `lead()` stopped — with a LeadershipLostError as its reason. A returned promise is not awaited.
   */
  onStartedLeading?(signal: AbortSignal, token: number, leadership: Leadership): void | Promise<void>;
  /** Called once after each reign's signal aborted, with why. */
  onStoppedLeading?(reason: StopReason): void;
  /** The leader as this node sees it changed (another node, none, or this node under a new token). */
  onNewLeader?(leader: LeaderInfo): void;
}

export interface LeadOptions {
  /** Stops following: a reign in progress ends (`closed`) and `lead()` resolves. */
  signal?: AbortSignal;
  /** Monotonic clock in ms; default performance.now. For tests. */
  now?: () => number;
}

/** After a failed long-poll that may be transient (a timeout), wait this long before asking again. */
const POLL_RETRY_MS = 100;

/**
 * Runs until `opts.signal` aborts (resolves) or an error no retry can cure, such as a refused
 * token (rejects, after ending any reign). An unreachable daemon is retried for ever.
 */
export async function lead(api: ApiClient, callbacks: LeadCallbacks, opts: LeadOptions = {}): Promise<void> {
  const now = opts.now ?? (() => performance.now());
  const tracker = new LeadershipTracker();
  const stop = new AbortController();
  const onOuterAbort = () => stop.abort();
  opts.signal?.addEventListener('abort', onOuterAbort, { once: true });
  if (opts.signal?.aborted) stop.abort();
  let reign: AbortController | null = null;
  let timer: NodeJS.Timeout | null = null;
  let polling = false;
  let failure: unknown = null;

  const dispatch = (effect: LeadershipEffect) => {
    switch (effect.kind) {
      case 'started': {
        reign = new AbortController();
        const result = callbacks.onStartedLeading?.(reign.signal, effect.leadership.fencingToken, effect.leadership);
        if (result instanceof Promise) result.catch(() => undefined);
        break;
      }
      case 'stopped':
        reign?.abort(new LeadershipLostError(effect.reason, effect.leadership.fencingToken));
        reign = null;
        callbacks.onStoppedLeading?.(effect.reason);
        break;
      case 'new-leader':
        callbacks.onNewLeader?.(effect.leader);
        break;
    }
  };

  /** Acts on what the tracker decided, re-arms the lease timer, and starts the long-poll when it is wanted. */
  const settle = () => {
    for (const effect of tracker.drain()) {
      try {
        dispatch(effect);
      } catch (err) {
        failure ??= err;
        stop.abort();
      }
    }
    if (timer) clearTimeout(timer);
    timer = null;
    const deadline = tracker.nextDeadlineMs();
    if (deadline !== null) {
      timer = setTimeout(() => {
        tracker.tick(now());
        settle();
      }, Math.max(0, Math.ceil(deadline - now())));
    }
    if (!polling && tracker.wantsLease() && !stop.signal.aborted) void pollLease();
  };

  const pollLease = async () => {
    polling = true;
    try {
      while (tracker.wantsLease() && !stop.signal.aborted) {
        const sentAtMs = now();
        try {
          const reply = await api.leader({ ...tracker.pollOptions(sentAtMs), signal: stop.signal });
          if (tracker.answer(reply, sentAtMs, now()) && tracker.leading === null && tracker.wantsLease()) {
            // The daemon claims this node leads but its answer carried no lease that still holds
            // (it is about to step down, or its lease lapsed): ask again shortly, not in a spin.
            settle();
            await sleep(POLL_RETRY_MS, stop.signal);
            continue;
          }
        } catch (err) {
          if (stop.signal.aborted) break;
          if (isDaemonGone(err)) tracker.gone(now());
          else if (!isTransient(err)) {
            failure ??= err;
            stop.abort();
            break;
          } else {
            settle();
            await sleep(POLL_RETRY_MS, stop.signal);
            continue;
          }
        }
        settle();
      }
    } finally {
      polling = false;
    }
  };

  try {
    await follow(
      api,
      {
        onEvent(event, connectedAtMs) {
          if (event.type === 'snapshot') tracker.snapshot(event.status, connectedAtMs, now());
          else tracker.event(event, now());
          settle();
        },
        onDown(_error, gone) {
          if (gone) tracker.gone(now());
          settle();
        },
      },
      { signal: stop.signal, now },
    );
  } catch (err) {
    failure ??= err;
  } finally {
    stop.abort();
    opts.signal?.removeEventListener('abort', onOuterAbort);
    tracker.close(now());
    settle();
    if (timer) clearTimeout(timer);
  }
  if (failure !== null) throw failure;
}
