/**
 * The watch history: the events of recent revisions, in revision order, so a watcher that
 * reconnects can ask for everything since the last revision it saw and miss nothing. Bounded by
 * revisions and by events; whole revisions are dropped from the old end, so what is kept is
 * always complete from `oldestRevision()` on.
 */
import type { KvEvent, KvEventsResult, KvWatchFilter } from './types.js';

export class KvHistory {
  private events: KvEvent[] = [];
  /** Index of the first retained event in `events` (dropping from the front is a move of this). */
  private start = 0;

  /** @param compactedThrough revisions up to this one are not held (a restored store's snapshot revision). */
  constructor(
    private readonly maxRevisions: number,
    private readonly maxEvents: number,
    private compactedThrough: number,
  ) {}

  /** The oldest revision whose events are all held (one above the newest revision if none is). */
  oldestRevision(): number {
    return this.compactedThrough + 1;
  }

  /** Records one revision's events; `revision` is the store's revision after them. */
  record(events: readonly KvEvent[], revision: number): void {
    for (const e of events) this.events.push(e);
    this.trim(revision);
  }

  private trim(revision: number): void {
    const keepFrom = revision - this.maxRevisions + 1;
    while (this.start < this.events.length) {
      const first = this.events[this.start]!;
      const size = this.events.length - this.start;
      if (first.revision >= keepFrom && size <= this.maxEvents) break;
      this.dropRevision(first.revision);
    }
    if (this.start > 1024 && this.start * 2 > this.events.length) {
      this.events = this.events.slice(this.start);
      this.start = 0;
    }
  }

  private dropRevision(revision: number): void {
    while (this.start < this.events.length && this.events[this.start]!.revision === revision) this.start++;
    this.compactedThrough = Math.max(this.compactedThrough, revision);
  }

  /** Events with revision >= fromRevision matching `filter`, in order; 'compacted' if some are no longer held. */
  since(fromRevision: number, filter: KvWatchFilter, currentRevision: number): KvEventsResult {
    if (!Number.isSafeInteger(fromRevision) || fromRevision < 1) {
      return { ok: false, code: 'invalid-revision', message: `fromRevision must be an integer >= 1, got ${fromRevision}` };
    }
    if (fromRevision <= this.compactedThrough) {
      const oldestRevision = this.oldestRevision();
      return { ok: false, code: 'compacted', oldestRevision, message: `revision ${fromRevision} is compacted: the oldest revision held is ${oldestRevision}` };
    }
    const matches = 'key' in filter ? (key: string) => key === filter.key : (key: string) => key.startsWith(filter.prefix);
    const events: KvEvent[] = [];
    for (let i = this.firstAtOrAbove(fromRevision); i < this.events.length; i++) {
      const e = this.events[i]!;
      if (matches(e.kv.key)) events.push(e);
    }
    return { ok: true, events, revision: currentRevision };
  }

  /** Binary search: the index of the first held event with revision >= `revision`. */
  private firstAtOrAbove(revision: number): number {
    let lo = this.start;
    let hi = this.events.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.events[mid]!.revision < revision) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
