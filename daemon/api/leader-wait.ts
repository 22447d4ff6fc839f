/**
 * Long-poll for GET /v1/leader?waitMs=N&after=T: answers once the fencing token differs from T,
 * or when N ms have passed. Events wake a waiter at once; a slow recheck also catches token
 * changes that arrive without an event.
 */
import type { ControlSource, LeaderResponse } from './types.js';

/** Upper bound on `waitMs`; larger requests are capped to it. */
export const MAX_LEADER_WAIT_MS = 300_000;
const RECHECK_INTERVAL_MS = 250;

export class LeaderWaits {
  private readonly releasers = new Set<() => void>();

  constructor(private readonly source: ControlSource) {}

  /** Resolves with the current answer when it is ready, the time is up, `signal` aborts or releaseAll(). */
  wait(after: number, waitMs: number, signal: AbortSignal): Promise<LeaderResponse> {
    const now = this.source.leader();
    if (now.fencingToken !== after || waitMs <= 0 || signal.aborted) return Promise.resolve(now);
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
        if (this.source.leader().fencingToken !== after) finish();
      };
      const deadline = setTimeout(finish, waitMs);
      const recheck = setInterval(check, RECHECK_INTERVAL_MS);
      const unsubscribe = this.source.subscribe(check);
      signal.addEventListener('abort', finish);
      this.releasers.add(finish);
    });
  }

  /** Answers every pending poll now (server shutdown). */
  releaseAll(): void {
    for (const release of [...this.releasers]) release();
  }
}
