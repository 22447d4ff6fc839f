/**
 * The log store's public shapes: what a caller appends, what it gets back at open, and the
 * store itself. The store is in log-store.ts, opening (replay, torn-tail repair) in open.ts.
 */
import type { LogEntry, Snapshot } from '../../protocols/types.js';
import type { StoreFs } from './fs.js';

/**
 * What to make durable, applied in this order: snapshot, truncation, entries, hard state
 * (DurableBatch's order). `hardState` maps a machine name ('membership', 'election') to that
 * machine's whole hard state; keys not named keep their stored value.
 */
export interface StoreBatch {
  hardState?: Readonly<Record<string, unknown>>;
  snapshot?: Snapshot;
  truncateAfter?: number;
  entries?: readonly LogEntry[];
}

/** The unacknowledged end of the last segment, cut off at open and kept beside it. */
export interface TornTail {
  /** The segment it was cut from. */
  file: string;
  /** Where in the segment the torn bytes started (0: the whole segment, which never got its checkpoint). */
  offset: number;
  bytes: number;
  /** Where the torn bytes are now. */
  keptAs: string;
}

/** The state found on disk at open. Values are as JSON gives them back. */
export interface Recovered {
  hardState: Map<string, unknown>;
  snapshot: Snapshot | null;
  /** The entries after the snapshot, consecutive. */
  entries: LogEntry[];
  torn: TornTail | null;
}

export interface LogStoreStats {
  /** File and directory fsyncs since open. */
  readonly fsyncs: number;
  /** Appends made durable. */
  readonly batches: number;
  /** Group commits (one write and one fsync each); batches / commits is the grouping factor. */
  readonly commits: number;
  /** Record bytes written. */
  readonly bytes: number;
  /** Duration of the most recent fsyncs (at most FSYNC_SAMPLES), oldest first. */
  readonly fsyncMs: readonly number[];
  /** Segment files the log now spans. */
  readonly segments: number;
}

export interface LogStore {
  readonly dir: string;
  readonly recovered: Recovered;
  /**
   * Resolves once the batch is on disk; an empty batch once everything appended before it is
   * done, including the deletion of what an earlier snapshot superseded. Rejects with
   * LogContinuityError or InvalidBatchError (nothing written, the store carries on),
   * PersistError (the store is poisoned) or LogStoreClosedError.
   */
  append(batch: StoreBatch): Promise<void>;
  readonly stats: LogStoreStats;
  /**
   * Calls `listener` with the duration (ms) of every fsync from now on, as it completes (the
   * metrics' histogram); returns the unsubscribe function.
   */
  onFsync(listener: (ms: number) => void): () => void;
  /** Waits for queued appends, then closes the segment; safe to call twice. */
  close(): Promise<void>;
}

export interface LogStoreOptions {
  /** A segment is closed once it passes this size. Default DEFAULT_SEGMENT_BYTES. */
  segmentBytes?: number;
  fs?: StoreFs;
  /** Called once at open when a torn tail was cut off (after it is kept beside the segment). */
  onTorn?: (torn: TornTail) => void;
  /** Called once at open with the temporary snapshot files a crash mid-write left, after they are deleted. */
  onLeftovers?: (files: string[]) => void;
}

/**
 * Large enough that rotation (an extra fsync and a directory fsync) is rare, small enough that
 * replay reads one segment at a time without much memory and deleting superseded segments frees
 * space soon after a snapshot.
 */
export const DEFAULT_SEGMENT_BYTES = 16 * 1024 * 1024;
/** fsync durations kept for stats: enough for a p99, bounded. */
export const FSYNC_SAMPLES = 1024;
/** One group commit writes at most about this much (at least one batch), so one write never buffers an unbounded burst. */
export const MAX_COMMIT_BYTES = 8 * 1024 * 1024;
