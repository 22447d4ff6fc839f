/**
 * An append-only, checksummed, segmented log for the durable state of the daemon's machines
 * (protocols/types.ts DurableBatch): hard states keyed by machine, log entries, truncations,
 * snapshots. The format and the torn-versus-corrupt rule are in format.ts and records.ts;
 * opening (replay, torn-tail repair) is in open.ts; this file is the running store.
 *
 * Group commit: `append` resolves once its batch is written and fsynced. Batches that arrive
 * while a write and fsync are in flight wait, then go out together in one write and one fsync,
 * in order; a burst of appends costs a handful of fsyncs, not one each. All disk work goes
 * through node:fs/promises (libuv's thread pool), snapshot files included, so neither an fsync
 * nor a large snapshot stalls the event loop. A snapshot's file is written from the moment its
 * batch is accepted (its marker still goes to the log only once the file is durable), and what a
 * group supersedes is deleted while the next group is written: neither holds up the appends
 * behind it for longer than it must.
 *
 * Failure: once a write or fsync fails the store is poisoned, and that append and every later
 * one reject with PersistError naming the file. After a failed fsync the kernel may have dropped
 * the dirty pages and cleared the error (the "fsyncgate" lesson), so a retry that succeeds
 * proves nothing; only a restart, which replays what really is on disk, is safe.
 */
import { performance } from 'node:perf_hooks';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { join } from 'node:path';
import { PersistError } from '../errors.js';
import { InvalidBatchError, LogContinuityError, LogStoreClosedError } from './errors.js';
import { MAX_PAYLOAD_BYTES, type RecordBody, encodeBatch, segmentName } from './format.js';
import type { StoreFs } from './fs.js';
import { type LogPosition, type LogStep, type SegmentSpan, snapshotIndexOf, step, supersededSegments } from './log-state.js';
import { type SnapshotMarker, encodeEntry, encodeHardState, encodeSnapshotFile, encodeSnapshotMarker, encodeTruncate, isCount, snapshotFileName } from './records.js';
import { NOT_ACKNOWLEDGED, type OpenSegment, createSegment, persist, writeAll } from './segment-files.js';
import { FSYNC_SAMPLES, MAX_COMMIT_BYTES, type LogStore, type LogStoreStats, type Recovered, type StoreBatch } from './types.js';

/** A batch checked and encoded, waiting for its group commit. */
interface Pending {
  records: Buffer[];
  bytes: number;
  snapshotFile: { name: string; content: string } | null;
  /** The snapshot file's write, started when the batch was accepted: null once durable, else why it failed. */
  snapshotWritten?: Promise<unknown>;
  hardState: [string, string][];
  /** The log's position once this batch is on disk. */
  position: LogPosition;
  resolve: () => void;
  reject: (err: Error) => void;
}

/** What open.ts found and opened, handed to the running store. */
export interface StoreInit {
  dir: string;
  fs: StoreFs;
  segmentBytes: number;
  recovered: Recovered;
  /** The segment appends go to. */
  current: OpenSegment;
  /** The segments the state spans, oldest first; the last is `current`. */
  spans: SegmentSpan[];
  position: LogPosition;
  /** Each machine's hard state on disk, as JSON text. */
  hardStateText: Map<string, string>;
  /** Snapshot files in the directory, the current one and any left over. */
  snapshotFiles: Set<string>;
  nextSnapshotSerial: number;
}

export class SegmentedLogStore implements LogStore {
  readonly dir: string;
  readonly recovered: Recovered;
  private readonly fs: StoreFs;
  private readonly segmentBytes: number;
  private current: OpenSegment;
  private readonly spans: SegmentSpan[];
  /** Where the log stands on disk: what a new segment's checkpoint says. */
  private written: LogPosition;
  /** Where the log stands once every accepted batch is written: new batches are checked against it. */
  private accepted: LogPosition;
  /** Each machine's hard state on disk, as the JSON text its record holds. */
  private readonly hardStateText: Map<string, string>;
  private readonly snapshotFiles: Set<string>;
  private nextSnapshotSerial: number;
  private readonly queue: Pending[] = [];
  private flushing: Promise<void> | null = null;
  private closing: Promise<void> | null = null;
  private failure: PersistError | null = null;
  private readonly counters = { fsyncs: 0, batches: 0, commits: 0, bytes: 0 };
  private readonly fsyncRing: number[] = [];
  private fsyncNext = 0;
  private readonly fsyncListeners = new Set<(ms: number) => void>();
  /** Snapshot files being written (see append): close waits for them. */
  private readonly snapshotWrites = new Set<Promise<unknown>>();

  constructor(init: StoreInit) {
    this.dir = init.dir;
    this.recovered = init.recovered;
    this.fs = init.fs;
    this.segmentBytes = init.segmentBytes;
    this.current = init.current;
    this.spans = init.spans;
    this.written = init.position;
    this.accepted = init.position;
    this.hardStateText = init.hardStateText;
    this.snapshotFiles = init.snapshotFiles;
    this.nextSnapshotSerial = init.nextSnapshotSerial;
  }

  get stats(): LogStoreStats {
    const ring = this.fsyncRing;
    return {
      ...this.counters,
      fsyncMs: ring.length < FSYNC_SAMPLES ? [...ring] : [...ring.slice(this.fsyncNext), ...ring.slice(0, this.fsyncNext)],
      segments: this.spans.length,
    };
  }

  onFsync(listener: (ms: number) => void): () => void {
    this.fsyncListeners.add(listener);
    return () => this.fsyncListeners.delete(listener);
  }

  append(batch: StoreBatch): Promise<void> {
    if (this.closing) return Promise.reject(new LogStoreClosedError(this.dir));
    if (this.failure) return Promise.reject(this.poisoned());
    let prepared: Omit<Pending, 'resolve' | 'reject'>;
    try {
      prepared = this.prepare(batch);
    } catch (err) {
      return Promise.reject(err as Error);
    }
    this.accepted = prepared.position;
    let snapshotWritten: Promise<unknown> | undefined;
    if (prepared.snapshotFile) {
      this.nextSnapshotSerial++;
      // Written from now, beside the groups ahead of it: its group's commit waits only for what
      // is left of it (a snapshot file, its fsync, a rename and the directory's fsync took 2–14 ms
      // with 5 daemons busy on one disk, and the appends behind it waited all of that).
      const { name, content } = prepared.snapshotFile;
      const write = this.writeSnapshotFile(join(this.dir, name), content).then(
        () => null,
        (err: unknown) => err,
      );
      this.snapshotWrites.add(write);
      snapshotWritten = write.finally(() => this.snapshotWrites.delete(write));
    }
    return new Promise((resolve, reject) => {
      this.queue.push({ ...prepared, ...(snapshotWritten ? { snapshotWritten } : {}), resolve, reject });
      this.flushing ??= this.flush();
    });
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      while (this.flushing) await this.flushing;
      await Promise.all(this.snapshotWrites);
      try {
        await this.current.file.close();
      } catch (err) {
        // A store that already failed has reported its failure; closing the broken file adds nothing.
        if (!this.failure) throw new PersistError(this.current.path, err, 'not closed cleanly');
      }
    })();
    return this.closing;
  }

  /** Checks a batch against the accepted log and encodes its records; throws without side effects. */
  private prepare(batch: StoreBatch): Omit<Pending, 'resolve' | 'reject'> {
    let position = this.accepted;
    const bodies: RecordBody[] = [];
    const fit = (s: LogStep): void => {
      const r = step(position, s);
      if (!r.ok) throw new LogContinuityError(r.kind, r.reason);
      position = r.position;
    };
    const add = (part: string, body: RecordBody): void => {
      if (body.payload.length > MAX_PAYLOAD_BYTES) {
        throw new InvalidBatchError(part, `is ${body.payload.length} bytes as a record, above the ${MAX_PAYLOAD_BYTES}-byte limit`);
      }
      bodies.push(body);
    };

    let snapshotFile: Pending['snapshotFile'] = null;
    if (batch.snapshot) {
      const { index, term } = batch.snapshot;
      checkCount('snapshot.index', index);
      checkCount('snapshot.term', term);
      const marker: SnapshotMarker = { index, term, file: snapshotFileName(this.nextSnapshotSerial) };
      snapshotFile = { name: marker.file, content: encodeSnapshotFile(index, term, jsonText('snapshot.data', batch.snapshot.data)) };
      fit({ kind: 'snapshot', marker });
      add('snapshot', encodeSnapshotMarker(marker));
    }
    if (batch.truncateAfter !== undefined) {
      checkCount('truncateAfter', batch.truncateAfter);
      fit({ kind: 'truncate', after: batch.truncateAfter });
      add('truncateAfter', encodeTruncate(batch.truncateAfter));
    }
    for (const [i, e] of (batch.entries ?? []).entries()) {
      checkCount(`entries[${i}].index`, e.index);
      checkCount(`entries[${i}].term`, e.term);
      fit({ kind: 'entry', index: e.index });
      add(`entries[${i}]`, encodeEntry(e.index, e.term, jsonText(`entries[${i}].data`, e.data)));
    }
    const hardState: [string, string][] = [];
    for (const [key, value] of Object.entries(batch.hardState ?? {})) {
      const text = jsonText(`hardState.${key}`, value);
      add(`hardState.${key}`, encodeHardState(key, text));
      hardState.push([key, text]);
    }
    const records = encodeBatch(bodies);
    return { records, bytes: records.reduce((n, r) => n + r.length, 0), snapshotFile, hardState, position };
  }

  /**
   * Commits queued batches, a group at a time, until the queue is empty. What a group superseded
   * (after a rotation or a snapshot) is removed while the next group is written, and that group
   * resolves only once the removal is done too: an append still resolves once everything before
   * it is done, but the next appends do not wait for the removal and then for their own write.
   */
  private async flush(): Promise<void> {
    // Appends made before the event loop's check phase join the first group: every message of the
    // socket reads at hand (a hand-off's append and TimeoutNow, or vote, arrive together and would
    // otherwise cost two fsyncs one after the other). And the loop never ends before `flushing` is set.
    await new Promise<void>((resolve) => setImmediate(resolve));
    let removal: Promise<void> | null = null;
    for (;;) {
      if (this.queue.length === 0) {
        if (removal === null) break;
        // Appends that come while the last removal runs are taken by the loop, not left behind.
        await removal;
        removal = null;
        continue;
      }
      // A synced write holds the event loop while the disk works (fs.ts syncedWrites), so it lets
      // the messages already on their way leave first, each in an immediate of its channel: the
      // first turn lets those of the step that appended run (a leader's appends, which do not wait
      // for its own write; queued after this flush's own immediate), the second those queued by
      // the callbacks of the group just resolved (the answers a follower owed for it), which ran
      // after this wait was queued. Made at once, the write held them back by its own length.
      // Appends made meanwhile join the group.
      if (this.current.file.syncedWrites) {
        await nextTurn();
        await nextTurn();
      }
      const group = this.takeGroup();
      if (this.failure) {
        for (const p of group) p.reject(this.poisoned());
        continue;
      }
      let rotated = false;
      try {
        rotated = await this.commit(group);
      } catch (err) {
        this.failure = err instanceof PersistError ? err : new PersistError(this.current.path, err, NOT_ACKNOWLEDGED);
        for (const p of group) p.reject(this.failure);
        continue;
      } finally {
        if (removal !== null) await removal;
        removal = null;
      }
      // The removal written beside it failed: the store is poisoned, and this group not acknowledged.
      if (this.failure) {
        for (const p of group) p.reject(this.poisoned());
        continue;
      }
      for (const p of group) p.resolve();
      if (rotated || group.some((p) => p.snapshotFile)) removal = this.removeSuperseded();
    }
    this.flushing = null;
  }

  private takeGroup(): Pending[] {
    let bytes = 0;
    let n = 0;
    while (n < this.queue.length && (n === 0 || bytes + this.queue[n]!.bytes <= MAX_COMMIT_BYTES)) bytes += this.queue[n++]!.bytes;
    return this.queue.splice(0, n);
  }

  /** One write and one fsync for the whole group (after a rotation, if one is due); true when it rotated. */
  private async commit(group: Pending[]): Promise<boolean> {
    const data = Buffer.concat(group.flatMap((p) => p.records));
    // An empty group (barriers only) writes nothing, so it starts no segment either.
    const rotate = data.length > 0 && this.current.size >= this.segmentBytes;
    if (rotate) await this.rotate();
    for (const p of group) {
      if (!p.snapshotFile) continue;
      // Known to the removal only once durable here: one running now keeps every file it does not know.
      const failed = await p.snapshotWritten;
      if (failed) throw failed;
      this.snapshotFiles.add(p.snapshotFile.name);
    }
    if (data.length > 0) {
      const { path, file } = this.current;
      // A segment's writes are durable as they return (O_DSYNC, fs.ts syncedWrites): the write is the fsync.
      if (file.syncedWrites) {
        await this.timedSync(path, () => writeAll(file, path, data, this.current.size));
      } else {
        await writeAll(file, path, data, this.current.size);
        await this.timedSync(path, () => file.datasync());
      }
      this.current.size += data.length;
      this.counters.commits++;
    }
    this.counters.batches += group.length;
    this.counters.bytes += data.length;
    for (const p of group) for (const [k, text] of p.hardState) this.hardStateText.set(k, text);
    this.written = group.at(-1)!.position;
    return rotate;
  }

  /**
   * A snapshot file, atomically and durably: written and fsynced under a temporary name (its
   * serial is never reused, so `wx` cannot meet an old one), renamed into place, the directory
   * fsynced. Any failure names the snapshot file; a temporary file left by a failure is removed,
   * one left by a crash is deleted at the next open (open.ts).
   */
  private async writeSnapshotFile(path: string, content: string): Promise<void> {
    const tmp = `${path}.tmp`;
    let created = false;
    try {
      const file = await persist(path, NOT_ACKNOWLEDGED, () => this.fs.open(tmp, 'wx'));
      created = true;
      try {
        await writeAll(file, path, Buffer.from(content, 'utf8'), 0);
        await this.timedSync(path, () => file.datasync());
      } finally {
        await file.close().catch(() => undefined);
      }
      await persist(path, NOT_ACKNOWLEDGED, () => this.fs.rename(tmp, path));
      created = false;
      await this.timedSync(path, () => this.fs.syncDir(this.dir));
    } finally {
      if (created) await this.fs.unlink(tmp).catch(() => undefined);
    }
  }

  /** Starts the next segment with a checkpoint of the state on disk, so the older ones can go once a snapshot covers their entries. */
  private async rotate(): Promise<void> {
    const seq = this.current.seq + 1;
    const next = await createSegment(this.fs, this.dir, seq, this.hardStateText, this.written, (path, op) => this.timedSync(path, op));
    const old = this.current;
    this.current = next;
    this.spans.push({ seq, baseIndex: this.written.lastIndex });
    await persist(old.path, 'complete, but not closed', () => old.file.close());
  }

  /**
   * Deletes segments and snapshot files the state on disk no longer needs. Runs only after that
   * state is durable. A failure poisons the store (the next append rejects): the acknowledged
   * batches are safe, but a directory that refuses an unlink will refuse the next write too.
   */
  private async removeSuperseded(): Promise<void> {
    const segments = supersededSegments(this.spans, snapshotIndexOf(this.written));
    const keep = this.written.snapshot?.file;
    const snapshots = [...this.snapshotFiles].filter((f) => f !== keep);
    if (segments.length === 0 && snapshots.length === 0) return;
    try {
      for (const s of segments) {
        await this.remove(join(this.dir, segmentName(s.seq)));
        this.spans.shift();
      }
      for (const f of snapshots) {
        await this.remove(join(this.dir, f));
        this.snapshotFiles.delete(f);
      }
      await this.timedSync(this.dir, () => this.fs.syncDir(this.dir));
    } catch (err) {
      // A group's own failure, written beside it, came first if there is one: it stays the cause.
      this.failure ??= err as PersistError;
    }
  }

  private async remove(path: string): Promise<void> {
    await persist(path, 'superseded but not removed', async () => {
      try {
        await this.fs.unlink(path);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
    });
  }

  private async timedSync(path: string, op: () => Promise<void>): Promise<void> {
    const start = performance.now();
    await persist(path, NOT_ACKNOWLEDGED, op);
    const ms = performance.now() - start;
    this.counters.fsyncs++;
    if (this.fsyncRing.length < FSYNC_SAMPLES) this.fsyncRing.push(ms);
    else this.fsyncRing[this.fsyncNext] = ms;
    this.fsyncNext = (this.fsyncNext + 1) % FSYNC_SAMPLES;
    for (const listener of this.fsyncListeners) listener(ms);
  }

  /** The error for an append after the store failed: the first failure's file and cause. */
  private poisoned(): PersistError {
    const f = this.failure!;
    return new PersistError(f.path, f.cause, 'not written: an earlier write to this log failed, so it takes no further writes until a restart');
  }
}

function checkCount(part: string, v: unknown): void {
  if (!isCount(v)) throw new InvalidBatchError(part, `must be a non-negative safe integer, not ${String(v)}`);
}

function jsonText(part: string, value: unknown): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(value) as string | undefined;
  } catch (err) {
    throw new InvalidBatchError(part, `cannot be rendered as JSON (${(err as Error).message})`);
  }
  if (text === undefined) throw new InvalidBatchError(part, 'has no JSON form (undefined, a function or a symbol)');
  return text;
}

