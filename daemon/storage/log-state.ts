/**
 * Where the stored log stands, and what may come next. Pure: the same rules check a batch before
 * it is written (a misfit is the caller's bug, LogContinuityError) and every record as it is
 * replayed (a misfit is a damaged file, DataFileError), so a log that was accepted replays.
 */
import type { SnapshotMarker } from './records.js';

export interface LogPosition {
  /** The newest installed snapshot; entries up to its index are gone from the log. */
  snapshot: SnapshotMarker | null;
  /** Index of the last entry, or of the snapshot when no entry follows it; 0 for an empty log. */
  lastIndex: number;
}

export const EMPTY_POSITION: LogPosition = Object.freeze({ snapshot: null, lastIndex: 0 });

export type LogStep = { kind: 'snapshot'; marker: SnapshotMarker } | { kind: 'truncate'; after: number } | { kind: 'entry'; index: number };

export type MisfitKind =
  /** A snapshot older than the installed one. */
  | 'snapshot-behind'
  /** A truncation into the installed snapshot. */
  | 'truncate-below-snapshot'
  /** A truncation above the last entry: the caller's idea of the log is longer than the log. */
  | 'truncate-beyond-log'
  /** An entry whose index is not last + 1. */
  | 'not-next';

export type StepResult = { ok: true; position: LogPosition } | { ok: false; kind: MisfitKind; reason: string };

export function snapshotIndexOf(position: LogPosition): number {
  return position.snapshot?.index ?? 0;
}

/** The position after `step`, or why the step does not fit the log. */
export function step(position: LogPosition, s: LogStep): StepResult {
  const snapshotIndex = snapshotIndexOf(position);
  switch (s.kind) {
    case 'snapshot':
      if (s.marker.index < snapshotIndex) {
        return { ok: false, kind: 'snapshot-behind', reason: `snapshot at index ${s.marker.index} is older than the installed one at ${snapshotIndex}` };
      }
      // A snapshot beyond the log (a follower catching up) becomes its new end.
      return { ok: true, position: { snapshot: s.marker, lastIndex: Math.max(position.lastIndex, s.marker.index) } };
    case 'truncate':
      if (s.after < snapshotIndex) {
        return { ok: false, kind: 'truncate-below-snapshot', reason: `truncation after ${s.after} reaches into the snapshot at index ${snapshotIndex}` };
      }
      if (s.after > position.lastIndex) {
        return { ok: false, kind: 'truncate-beyond-log', reason: `truncation after ${s.after} is beyond the last index ${position.lastIndex}` };
      }
      return { ok: true, position: { snapshot: position.snapshot, lastIndex: s.after } };
    case 'entry':
      if (s.index !== position.lastIndex + 1) {
        return { ok: false, kind: 'not-next', reason: `entry ${s.index} does not continue the log, whose last index is ${position.lastIndex} (expected ${position.lastIndex + 1})` };
      }
      return { ok: true, position: { snapshot: position.snapshot, lastIndex: s.index } };
  }
}

export interface SegmentSpan {
  seq: number;
  /** The log's last index when the segment was started (its checkpoint's `lastIndex`). */
  baseIndex: number;
}

/**
 * The segments, oldest first, that replay no longer needs. Every segment opens with a checkpoint
 * of the hard states and the snapshot, so replay can start at any segment whose older entries
 * are all covered by the snapshot: all segments before the newest such one are superseded.
 * Entries cut by a later truncation still count as needed: conservative, never wrong.
 */
export function supersededSegments(segments: readonly SegmentSpan[], snapshotIndex: number): SegmentSpan[] {
  for (let i = segments.length - 1; i > 0; i--) {
    if (segments[i]!.baseIndex <= snapshotIndex) return segments.slice(0, i);
  }
  return [];
}
