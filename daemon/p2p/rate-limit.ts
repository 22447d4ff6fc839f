/**
 * A token bucket on an injected clock: `burst` tokens at most, refilled at `ratePerS`. Taking a
 * token admits one message; an empty bucket drops it. No timers: time moves only through the
 * `nowMs` each call passes, so tests step it and a silent peer costs nothing.
 */
export interface TokenBucketOptions {
  /** Sustained rate admitted, in tokens per second. */
  ratePerS: number;
  /** Tokens available at once (and the most a quiet period saves up). */
  burst: number;
}

export class TokenBucket {
  private readonly options: TokenBucketOptions;
  private tokens: number;
  private updatedMs: number;

  /** Starts full: a peer that just connected may send its first burst at once. */
  constructor(options: TokenBucketOptions, nowMs: number) {
    this.options = options;
    this.tokens = options.burst;
    this.updatedMs = nowMs;
  }

  /** Takes one token when there is one; false (and nothing taken) when the bucket is empty. */
  take(nowMs: number): boolean {
    this.refill(nowMs);
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /** Whole tokens available at `nowMs`. */
  available(nowMs: number): number {
    this.refill(nowMs);
    return Math.floor(this.tokens);
  }

  private refill(nowMs: number): void {
    // A clock that steps back (it should not: callers pass a monotonic one) refills nothing.
    const elapsedMs = Math.max(0, nowMs - this.updatedMs);
    this.updatedMs = Math.max(this.updatedMs, nowMs);
    this.tokens = Math.min(this.options.burst, this.tokens + (elapsedMs * this.options.ratePerS) / 1000);
  }
}
