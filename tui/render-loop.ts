/**
 * The one throttled render tick: any number of change requests collapse into at most one render
 * per `minIntervalMs`, plus a render every `refreshMs` so ages and the chart move on their own.
 */
export interface RenderLoopInit {
  render: () => void;
  /** Default 100: at most ten renders a second. */
  minIntervalMs?: number;
  /** Default 1000. */
  refreshMs?: number;
  nowMs: () => number;
}

export class RenderLoop {
  private pending: NodeJS.Timeout | undefined;
  private refresh: NodeJS.Timeout | undefined;
  private lastRenderMs = -Infinity;
  private running = false;
  renders = 0;

  constructor(private readonly init: RenderLoopInit) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    this.refresh = setInterval(() => this.request(), this.init.refreshMs ?? 1000);
    this.request();
  }

  stop(): void {
    this.running = false;
    clearInterval(this.refresh);
    clearTimeout(this.pending);
    this.pending = undefined;
  }

  /** Something changed: render soon, but not sooner than the interval allows. */
  request(): void {
    if (!this.running || this.pending !== undefined) return;
    const waitMs = Math.max(0, this.lastRenderMs + (this.init.minIntervalMs ?? 100) - this.init.nowMs());
    this.pending = setTimeout(() => {
      this.pending = undefined;
      this.lastRenderMs = this.init.nowMs();
      this.renders++;
      this.init.render();
    }, waitMs);
  }
}
