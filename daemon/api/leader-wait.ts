/**
 * Long-poll for GET /v1/leader?waitMs=N&after=R: answers once the revision differs from R (any
 * change of leader, role, term or token at this node), or when N ms have passed. Events wake a
 * waiter at once; a slow recheck also catches changes that arrive without an event. The number of
 * waiting polls is capped: each holds a connection, a subscription and two timers.
 */
import type { ControlSource, LeaderResponse } from './types.js';

/** Upper bound on `waitMs`; larger requests are capped to it. */
export const MAX_LEADER_WAIT_MS = 300_000;
const RECHECK_INTERVAL_MS = 250;

export class LeaderWaits {
  private readonly releasers = new Set<() => void>();

  constructor(
    private readonly source: ControlSource,
    /** Polls waiting at once; wait() refuses more. */
    private readonly maxWaiting: number,
  ) {}

  get size(): number {
    return this.releasers.size;
  }

  get capacity(): number {
    return this.maxWaiting;
  }

  /**
   * Resolves with the current answer when it is ready, the time is up, `signal` aborts or
   * releaseAll(). Null when the poll would have to wait but maxWaiting polls wait already; a poll
   * answered at once is never refused.
   */
  wait(after: number, waitMs: number, signal: AbortSignal): Promise<LeaderResponse> | null {
    const now = this.source.leader();
    if (now.revision !== after || waitMs <= 0 || signal.aborted) return Promise.resolve(now);
    if (this.releasers.size >= this.maxWaiting) return null;
    return new Promise((resolve) => {
      let done = false;
      const finish = () => {
        if (done) return;
        done = true;
        clearTimeout(deadline);
        clearInterval(recheck);
        unsubscribe();
        signal.removeEventListener('abort', finish);
        this.releasers.delete(finish);
        resolve(this.source.leader());
      };
      const check = () => {
        if (this.source.leader().revision !== after) finish();
      };
      // Events arrive while the daemon's machines are mid-step: look once that step is done.
      let checkQueued = false;
      const checkSoon = () => {
        if (checkQueued) return;
        checkQueued = true;
        setImmediate(() => {
          checkQueued = false;
          if (!done) check();
        });
      };
      const deadline = setTimeout(finish, waitMs);
      const recheck = setInterval(check, RECHECK_INTERVAL_MS);
      const unsubscribe = this.source.subscribe(checkSoon);
      signal.addEventListener('abort', finish);
      this.releasers.add(finish);
    });
  }

  /** Answers every pending poll now (server shutdown). */
  releaseAll(): void {
    for (const release of [...this.releasers]) release();
  }
}
