/**
 * What of an election machine's state is on disk. The machine moves ahead in memory as soon as it
 * emits a `persist`; the host lets messages leave, and reports term, token and role, only from
 * what this says reached the disk. Two rules follow from "a restart must not take back anything
 * the node said":
 *
 * - Persist-before-send holds across batches: once a write failed, every later send waits until
 *   the newest state is written, not just the sends of the failed batch (a resend of an
 *   unpersisted claim would otherwise win a majority for an epoch the disk never saw).
 * - The API, metrics, events and gossip show the last durable view. While a write fails they show
 *   this node as a follower without a leader, at the last durable term and token: one view for
 *   every consumer, and monotonic, since the token shown never exceeds the disk and never drops
 *   below what was shown before. The machine may believe it leads, but its messages are held, so
 *   no peer grants it a lease it could use.
 */
import type { ElectionSummary } from '../protocols/types.js';
import { PersistError } from './errors.js';
import type { StateStore } from './store.js';

/**
 * While a write fails it is retried this often, besides whenever the machine has newer state: a
 * disk freed up is noticed within a second, without a write attempt every tick.
 */
export const PERSIST_RETRY_MS = 1000;

export type SaveOutcome =
  /** Nothing to write: everything the machine asked for is on disk. */
  | 'clean'
  | 'saved'
  /** A write failed after a durable period (the first failure of a streak). */
  | 'failed'
  /** The state not on disk failed to write once more. */
  | 'failed-again'
  /** The state not on disk reached it at last. */
  | 'recovered'
  /** Not on disk, and the next retry is not due yet. */
  | 'waiting';

export class DurableState<P> {
  /** The newest state the machine asked for that is not on disk; null while everything is. */
  private unsaved: { state: P } | null = null;
  private failure: PersistError | null = null;
  private retryAtMs = -Infinity;
  private lastDurable: ElectionSummary;

  /** `initial`: the machine's summary as restored from the store, which is on disk by definition. */
  constructor(
    private readonly store: StateStore<P>,
    initial: ElectionSummary,
    private readonly retryMs = PERSIST_RETRY_MS,
  ) {
    this.lastDurable = { ...initial };
  }

  /** Whether everything the machine asked to persist is on disk (messages may leave). */
  get durable(): boolean {
    return this.unsaved === null;
  }

  /** The last write failure while the state is not on disk; null once it is. */
  get error(): PersistError | null {
    return this.failure;
  }

  /**
   * Writes the newest of `states`, or retries the state not on disk once the retry is due. Each
   * persist is the machine's whole durable state and the store replaces its file, so writing the
   * last one leaves the disk exactly as writing each in turn would.
   */
  save(states: readonly P[], nowMs: number): SaveOutcome {
    const newest = states.at(-1);
    if (newest !== undefined) this.unsaved = { state: newest };
    else if (this.unsaved === null) return 'clean';
    else if (nowMs < this.retryAtMs) return 'waiting';
    const wasFailing = this.failure !== null;
    try {
      this.store.save(this.unsaved.state);
    } catch (err) {
      this.failure = err instanceof PersistError ? err : new PersistError(this.store.path, err, 'left as it was');
      this.retryAtMs = nowMs + this.retryMs;
      return wasFailing ? 'failed-again' : 'failed';
    }
    this.unsaved = null;
    this.failure = null;
    return wasFailing ? 'recovered' : 'saved';
  }

  /**
   * What the host may report for the machine's `summary`: the summary itself while everything is
   * on disk (its token is then the disk's), else a follower without a leader at the last durable
   * term and token.
   */
  report(summary: ElectionSummary): ElectionSummary {
    if (this.unsaved === null) {
      this.lastDurable = { ...summary };
      return summary;
    }
    return { role: 'follower', term: this.lastDurable.term, leader: null, fencingToken: this.lastDurable.fencingToken };
  }
}
