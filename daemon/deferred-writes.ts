/**
 * Writes the election may have late (ElectionEffect persist `deferrable`: a leaving Raft
 * leader's handover record, whose own copy counts for nothing). Such a write is held back for
 * at most `maxHoldMs`, and every write asked for after it waits behind it, in order: the host
 * core acknowledges writes in the order it asked for them, and an output waits for the writes
 * before it, so holding one back delays what waits on it and never lets anything overtake it.
 * The first write that is not deferrable ends the hold at once (the core may be waiting on it:
 * a vote, an answer), and hands every held write to the disk in order, where the log store
 * groups them into one.
 *
 * Why: on SIGTERM the leaving leader's write of the record came at the very moment the
 * successor and the voters write it, on disks and cores it shares with them on one host. Held
 * until the next write that is not deferrable (its new term, once the successor's round reaches
 * it), a SIGTERM hand-off took 0.7 ms less on average (README Raft › Hand-off, "The leaving
 * leader's write"). Since the successor leaves it out of its first round (raft/leader.ts begin),
 * the hold normally ends at `maxHoldMs`, before the second round comes.
 */
import type { NodeBatch } from '../protocols/host/core.js';

/** The runtime's timers (runtime.ts Timers). */
export interface DeferredWritesTimers {
  set(fire: () => void, delayMs: number): unknown;
  clear(handle: unknown): void;
}

export class DeferredWrites {
  /** Writes held behind a deferrable one, in order, and the timer that ends the hold; null when none is held. */
  private held: { waiting: (() => void)[]; timer: unknown } | null = null;

  constructor(
    private readonly write: (batch: NodeBatch) => Promise<void>,
    private readonly maxHoldMs: number,
    private readonly timers: DeferredWritesTimers,
  ) {}

  /** Hands `batch` to the disk now, or behind the writes held; resolves once it is durable. */
  submit(batch: NodeBatch, deferrable: boolean): Promise<void> {
    if (this.held === null && !deferrable) return this.write(batch);
    const held = (this.held ??= { waiting: [], timer: this.timers.set(() => this.release(), this.maxHoldMs) });
    const written = new Promise<void>((resolve, reject) => held.waiting.push(() => this.write(batch).then(resolve, reject)));
    if (!deferrable) this.release();
    return written;
  }

  /** Hands every held write to the disk now, in order (a stopping node's, before it closes its log). */
  release(): void {
    const held = this.held;
    if (held === null) return;
    this.held = null;
    this.timers.clear(held.timer);
    for (const start of held.waiting) start();
  }
}
