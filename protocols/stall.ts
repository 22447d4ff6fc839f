/**
 * Whether this node itself did not run for a while (SIGSTOP, a blocked event loop): the rule both
 * election machines use before trusting what they read. After such a stall, what a node reads
 * first may have waited in its socket the whole time: a leader's renewal or append read then
 * still restrains it (that is safe) but must not make it name that leader, whose lease may have
 * run out long ago. The next message, a fresh one, does.
 *
 * A node runs if it ticks: deadline() asks for a tick at least every `leaseMs / 10` (the liveness
 * tick), so a gap of more than `leaseMs / 8` between ticks means the node did not run. The
 * liveness tick falls on multiples of that period, the first after the last tick, so an extra
 * tick in between does not move it: deadline() then depends on the machine's timers alone, and
 * stays the same across any ticks before it.
 */

/** A gap between ticks longer than leaseMs / this means this node did not run. */
const STALL_TICK_GAP_DIVISOR = 8;

/** deadline() asks for a tick at least every leaseMs / this (under the stall gap, with room for a late timer). */
const LIVENESS_TICK_DIVISOR = 10;

/** How long after waking what this node reads may be old. */
const WAKE_WINDOW_MS = 20;

export class StallClock {
  private lastTickMs: number;
  /** Until when what we read may be old (we just woke from a stall). */
  private wokeUntilMs: number;
  /** How long this node ran since it started, stalls left out (ranMs). */
  private ranTotalMs = 0;

  constructor(
    /** The lease (or election timeout) the periods derive from. */
    private readonly leaseMs: number,
    nowMs: number,
    /** A machine that replaces another in a running process (a live switch) inherits its window: the process may have just woken. */
    staleUntilMs = -Infinity,
  ) {
    this.lastTickMs = nowMs;
    this.wokeUntilMs = staleUntilMs;
  }

  /** Until when what this node reads may be old (-Infinity: not since the last stall). */
  staleUntil(): number {
    return this.wokeUntilMs;
  }

  /** Every input, before the machine acts on it (`tick`: whether it is a tick). */
  onInput(nowMs: number, tick: boolean): void {
    const gapMs = nowMs - this.lastTickMs;
    const stalled = gapMs > this.leaseMs / STALL_TICK_GAP_DIVISOR;
    if (stalled) this.wokeUntilMs = nowMs + WAKE_WINDOW_MS;
    if (!tick) return;
    if (!stalled) this.ranTotalMs += Math.max(0, gapMs);
    this.lastTickMs = nowMs;
  }

  /**
   * How long this node has run, by its ticks, leaving out every stall (a gap between ticks that
   * says it did not run): a clock that stands still while the node does. What a peer sent just
   * before a stall of ours is read after it, so a memory of what we have seen measured by this
   * clock is as fresh after the stall as before (raft/kv.ts seenProposals).
   */
  ranMs(): number {
    return this.ranTotalMs;
  }

  /** Whether a message read at `nowMs` may have waited out a stall (trust it to restrain, not to name a leader). */
  mayBeStale(nowMs: number): boolean {
    return nowMs < this.wokeUntilMs;
  }

  /** The first multiple of the liveness period after the last tick. */
  livenessTickAtMs(): number {
    const periodMs = this.leaseMs / LIVENESS_TICK_DIVISOR;
    const atMs = (Math.floor(this.lastTickMs / periodMs) + 1) * periodMs;
    // A period that is no integer can round the product down onto the last tick itself.
    return atMs > this.lastTickMs ? atMs : atMs + periodMs;
  }
}
