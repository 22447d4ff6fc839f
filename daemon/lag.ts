/**
 * Event-loop lag from the lateness of a periodic timer the runtime already has (its tick),
 * instead of a sampling timer of its own: perf_hooks' monitor at 10 ms costs an idle daemon
 * 100 wake-ups a second. Lifeguard's local-health stretch needs stalls of tens of ms and more,
 * which a 25 ms tick sees. Lateness up to one tick interval is scheduling jitter on a busy host,
 * not a slow loop, and is not reported: a healthy node's multiplier stays exactly 1.
 */
export class LagMeter {
  private lastTickAtMs: number | null = null;
  private windowStartMs: number | null = null;
  private windowMaxMs = 0;
  private reportedMs = 0;

  /**
   * @param intervalMs the period the tick is scheduled at
   * @param windowMs lag is reported as the max over a window, so one stall stays visible to
   *   every tick until the window after it ends
   */
  constructor(
    private readonly intervalMs: number,
    private readonly windowMs: number,
  ) {}

  /** Records a tick at `nowMs` (monotonic) and returns the lag to report now. */
  tick(nowMs: number): number {
    if (this.lastTickAtMs !== null) {
      const latenessMs = nowMs - this.lastTickAtMs - this.intervalMs;
      this.windowMaxMs = Math.max(this.windowMaxMs, latenessMs - this.intervalMs);
    }
    this.lastTickAtMs = nowMs;
    this.windowStartMs ??= nowMs;
    if (nowMs - this.windowStartMs >= this.windowMs) {
      this.reportedMs = Math.max(0, this.windowMaxMs);
      this.windowMaxMs = 0;
      this.windowStartMs = nowMs;
    }
    return this.reportedMs;
  }
}
