/**
 * Rebuilds the log's state from its segments, oldest first, one at a time. Pure over the bytes
 * it is given (log-store.ts reads the files and repairs a torn tail); any damage other than a
 * torn tail of the last segment throws DataFileError naming the file and the byte offset.
 */
import type { LogEntry } from '../../protocols/types.js';
import { DataFileError } from '../errors.js';
import { HEADER_BYTES, type RawRecord, scanSegment } from './format.js';
import { EMPTY_POSITION, type LogPosition, type LogStep, type SegmentSpan, snapshotIndexOf, step } from './log-state.js';
import { decodeRecord, parseSnapshotFileName, type SnapshotMarker, type WalRecord } from './records.js';

/** The unacknowledged end of the last segment, to be kept beside it and cut off. */
export interface TornSegment {
  path: string;
  seq: number;
  /** Where the torn bytes start; 0 with `whole` when the segment never got its checkpoint. */
  offset: number;
  bytes: number;
  whole: boolean;
  reason: string;
}

export interface ReplayedLog {
  hardState: Map<string, unknown>;
  /** The newest snapshot marker and where it was read (to name it if its file is bad). */
  snapshot: { marker: SnapshotMarker; path: string; offset: number } | null;
  /** The entries after the snapshot, consecutive. */
  entries: LogEntry[];
  position: LogPosition;
  /** The segments that hold the state, oldest first (a wholly torn last segment is not one). */
  spans: SegmentSpan[];
  torn: TornSegment | null;
  /** The highest snapshot serial any marker names, 0 when none: new snapshot files go above it. */
  maxSnapshotSerial: number;
}

export class Replay {
  private readonly hardState = new Map<string, unknown>();
  private snapshot: ReplayedLog['snapshot'] = null;
  private entries: LogEntry[] = [];
  private position: LogPosition = EMPTY_POSITION;
  private readonly spans: SegmentSpan[] = [];
  private torn: TornSegment | null = null;
  private maxSnapshotSerial = 0;
  /** Entries up to this index were in segments deleted before the first one read; a snapshot must cover them. */
  private missingThrough = 0;
  private first: { path: string; seq: number } | null = null;
  private previousSeq: number | null = null;

  /** Feeds the next segment; `last` marks the newest one, the only one that may end torn. */
  segment(seq: number, path: string, bytes: Buffer, last: boolean): void {
    if (this.torn) throw new Error('Replay.segment after the last segment');
    if (this.previousSeq !== null && seq !== this.previousSeq + 1) {
      throw new DataFileError(path, `segment ${this.previousSeq + 1}, which must come between it and segment ${this.previousSeq}, is missing`, 0);
    }
    this.previousSeq = seq;
    const scan = scanSegment(bytes, seq, last);
    if (scan.end.kind === 'corrupt') throw new DataFileError(path, scan.end.reason, scan.end.offset);
    if (scan.end.kind === 'torn' || (last && scan.records.length === 0)) {
      const whole = scan.records.length === 0;
      // A segment is created only once its predecessors are durable, and older ones are deleted only once it is:
      // a first segment without its checkpoint, above seq 1, means segments were lost, not a crash mid-creation.
      if (whole && this.first === null && seq !== 1) {
        throw new DataFileError(path, 'the only segment has no complete checkpoint record, and the segments before it are gone', 0);
      }
      const offset = whole ? 0 : scan.end.kind === 'torn' ? scan.end.offset : bytes.length;
      const reason = scan.end.kind === 'torn' ? scan.end.reason : 'the segment holds only its header';
      this.torn = { path, seq, offset, bytes: bytes.length - offset, whole, reason };
      if (whole) return;
    }
    const [head, ...rest] = scan.records;
    if (!head) throw new DataFileError(path, 'the segment holds no records, not even its checkpoint', HEADER_BYTES);
    const checkpoint = this.decode(path, head);
    if (checkpoint.type !== 'checkpoint') throw new DataFileError(path, 'the segment does not start with a checkpoint record', head.offset);
    this.checkpoint(seq, path, head.offset, checkpoint);
    for (const raw of rest) this.apply(path, raw.offset, this.decode(path, raw));
  }

  /** The state once every segment is fed. */
  finish(): ReplayedLog {
    if (this.first && this.missingThrough > snapshotIndexOf(this.position)) {
      throw new DataFileError(
        this.first.path,
        `entries ${snapshotIndexOf(this.position) + 1} to ${this.missingThrough} were in segments before segment ${this.first.seq} that are gone, and no snapshot covers them`,
        HEADER_BYTES,
      );
    }
    return {
      hardState: this.hardState,
      snapshot: this.snapshot,
      entries: this.entries,
      position: this.position,
      spans: this.spans,
      torn: this.torn,
      maxSnapshotSerial: this.maxSnapshotSerial,
    };
  }

  private decode(path: string, raw: RawRecord): WalRecord {
    const decoded = decodeRecord(raw);
    if (!decoded.ok) throw new DataFileError(path, `a record with a valid checksum makes no sense: ${decoded.reason}`, raw.offset);
    return decoded.record;
  }

  private checkpoint(seq: number, path: string, offset: number, cp: Extract<WalRecord, { type: 'checkpoint' }>): void {
    this.spans.push({ seq, baseIndex: cp.lastIndex });
    if (this.first === null) {
      // The oldest segment left: its checkpoint is the state the deleted segments built.
      this.first = { path, seq };
      for (const [k, v] of cp.hardState) this.hardState.set(k, v);
      this.position = { snapshot: cp.snapshot, lastIndex: cp.lastIndex };
      if (cp.snapshot) this.noteSnapshot(cp.snapshot, path, offset);
      this.missingThrough = cp.lastIndex;
      return;
    }
    const disagreement = this.disagreement(cp);
    if (disagreement) throw new DataFileError(path, `its checkpoint disagrees with the segments before it: ${disagreement}`, offset);
  }

  private disagreement(cp: Extract<WalRecord, { type: 'checkpoint' }>): string | null {
    if (cp.lastIndex !== this.position.lastIndex) return `last index ${cp.lastIndex}, replayed ${this.position.lastIndex}`;
    if (JSON.stringify(cp.snapshot) !== JSON.stringify(this.position.snapshot)) return `snapshot ${JSON.stringify(cp.snapshot)}, replayed ${JSON.stringify(this.position.snapshot)}`;
    if (cp.hardState.size !== this.hardState.size) return `${cp.hardState.size} hard states, replayed ${this.hardState.size}`;
    for (const [k, v] of cp.hardState) {
      if (!this.hardState.has(k) || JSON.stringify(v) !== JSON.stringify(this.hardState.get(k))) return `hard state ${JSON.stringify(k)}`;
    }
    return null;
  }

  private apply(path: string, offset: number, r: WalRecord): void {
    switch (r.type) {
      case 'checkpoint':
        throw new DataFileError(path, 'a checkpoint record in the middle of a segment', offset);
      case 'hard-state':
        this.hardState.set(r.key, r.value);
        return;
      case 'entry':
        this.step(path, offset, { kind: 'entry', index: r.entry.index });
        this.entries.push(r.entry);
        return;
      case 'truncate': {
        this.step(path, offset, { kind: 'truncate', after: r.after });
        this.entries.length = Math.min(this.entries.length, this.countThrough(r.after));
        this.missingThrough = Math.min(this.missingThrough, r.after);
        return;
      }
      case 'snapshot': {
        this.step(path, offset, { kind: 'snapshot', marker: r.marker });
        this.entries = this.entries.slice(this.countThrough(r.marker.index));
        this.noteSnapshot(r.marker, path, offset);
        return;
      }
    }
  }

  /** How many of the held entries (consecutive) have an index up to `index`. */
  private countThrough(index: number): number {
    const first = this.entries[0]?.index;
    return first === undefined ? 0 : Math.min(this.entries.length, Math.max(0, index - first + 1));
  }

  private step(path: string, offset: number, s: LogStep): void {
    const r = step(this.position, s);
    if (!r.ok) throw new DataFileError(path, `the log does not continue here: ${r.reason}`, offset);
    this.position = r.position;
  }

  private noteSnapshot(marker: SnapshotMarker, path: string, offset: number): void {
    this.snapshot = { marker, path, offset };
    this.maxSnapshotSerial = Math.max(this.maxSnapshotSerial, parseSnapshotFileName(marker.file) ?? 0);
  }
}
