/**
 * Event-loop lag from the lateness of the one timer the runtime already has (set for the host
 * core's next deadline), instead of a sampling timer of its own: perf_hooks' monitor at 10 ms
 * costs an idle daemon 100 wake-ups a second. Lifeguard's local-health stretch needs stalls of
 * tens of ms and more; the deadline timer fires at least once per heartbeat interval while the
 * node runs, so a stall delays it and is seen. Lateness up to JITTER_MS is scheduling noise on a
 * busy host, not a slow loop, and is not reported: a healthy node's multiplier stays exactly 1.
 */
export const JITTER_MS = 25;

export class LagMeter {
  private windowStartMs: number | null = null;
  private windowMaxMs = 0;
  private reportedMs = 0;

  /**
   * @param windowMs lag is reported as the max over a window, so one stall stays visible to
   *   every tick until the window after it ends
   */
  constructor(private readonly windowMs: number) {}

  /** Records a timer that was due at `dueMs` firing at `nowMs` (monotonic); returns the lag to report now. */
  fired(dueMs: number, nowMs: number): number {
    this.windowMaxMs = Math.max(this.windowMaxMs, nowMs - dueMs - JITTER_MS);
    this.windowStartMs ??= nowMs;
    if (nowMs - this.windowStartMs >= this.windowMs) {
      this.reportedMs = Math.max(0, this.windowMaxMs);
      this.windowMaxMs = 0;
      this.windowStartMs = nowMs;
    }
    return this.reportedMs;
  }

  /** The lag reported by the last timer. */
  get lagMs(): number {
    return this.reportedMs;
  }
}
