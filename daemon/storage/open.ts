/**
 * Opening the log: read every segment in order and rebuild the state (replay.ts), load and verify
 * the newest snapshot, and only once all of it checks out touch the files: keep a torn tail
 * beside its segment and cut it off, then open the last segment for appending (or create the
 * first one).
 */
import { dirname, join } from 'node:path';
import type { Snapshot } from '../../protocols/types.js';
import { DataFileError } from '../errors.js';
import { parseSegmentName, segmentName } from './format.js';
import { nodeStoreFs, type StoreFs } from './fs.js';
import { SegmentedLogStore } from './log-store.js';
import { type SnapshotMarker, decodeSnapshotFile, parseSnapshotFileName } from './records.js';
import { Replay, type TornSegment } from './replay.js';
import { type OpenSegment, createSegment, persist, read, writeAll } from './segment-files.js';
import { DEFAULT_SEGMENT_BYTES, type LogStore, type LogStoreOptions, type Recovered, type TornTail } from './types.js';

/**
 * Opens the log in `dir`, creating the directory and the first segment when there are none.
 * Damage other than a torn tail throws DataFileError naming the file and byte, with every file
 * left as it was; a directory that cannot be created or repaired throws PersistError.
 */
export async function openLogStore(dir: string, opts: LogStoreOptions = {}): Promise<LogStore> {
  const fs = opts.fs ?? nodeStoreFs;
  const segmentBytes = opts.segmentBytes ?? DEFAULT_SEGMENT_BYTES;
  if (!Number.isSafeInteger(segmentBytes) || segmentBytes <= 0) throw new RangeError(`segmentBytes must be a positive integer, not ${segmentBytes}`);

  const created = await persist(dir, 'not created', () => fs.mkdir(dir));
  // A new directory's entry in its parent must be durable too, or a crash loses the whole log.
  for (let d = dir; created !== undefined; d = dirname(d)) {
    await persist(dirname(d), 'not durably created', () => fs.syncDir(dirname(d)));
    if (d === created || d === dirname(d)) break;
  }
  const { names, log, sizes, lastBytes, snapshot } = await replayDir(fs, dir);

  // Everything is checked; only now touch the files.
  const torn = log.torn && lastBytes ? await keepTorn(fs, dir, names, log.torn, lastBytes) : null;
  const leftovers = await removeLeftovers(fs, dir, names);
  const spans = log.spans;
  let current: OpenSegment;
  const last = spans.at(-1);
  if (last) {
    const path = join(dir, segmentName(last.seq));
    const file = await persist(path, 'not opened', () => fs.open(path, 'r+', { syncedWrites: true }));
    const size = log.torn && !log.torn.whole ? log.torn.offset : sizes.get(last.seq)!;
    current = { seq: last.seq, path, file, size };
  } else {
    const seq = log.torn?.seq ?? 1;
    current = await createSegment(fs, dir, seq, new Map(), log.position);
    spans.push({ seq, baseIndex: log.position.lastIndex });
  }
  if (torn) opts.onTorn?.(torn);
  if (leftovers.length > 0) opts.onLeftovers?.(leftovers);

  const snapshotFiles = new Set(names.filter((n) => parseSnapshotFileName(n) !== null));
  return new SegmentedLogStore({
    dir,
    fs,
    segmentBytes,
    recovered: { hardState: log.hardState, snapshot, entries: log.entries, torn },
    current,
    spans,
    position: log.position,
    hardStateText: new Map([...log.hardState].map(([k, v]) => [k, JSON.stringify(v)])),
    snapshotFiles,
    // Above every serial on disk or named in the log, so a new snapshot never reuses a name.
    nextSnapshotSerial: Math.max(log.maxSnapshotSerial, ...[...snapshotFiles].map((n) => parseSnapshotFileName(n)!)) + 1,
  });
}

/** Reads and checks every segment and the newest snapshot; touches nothing. */
async function replayDir(fs: StoreFs, dir: string) {
  const names = await read(dir, () => fs.readdir(dir));
  const seqs = names.map(parseSegmentName).filter((s): s is number => s !== null).sort((a, b) => a - b);
  const replay = new Replay();
  const sizes = new Map<number, number>();
  let lastBytes: Buffer | null = null;
  for (const [i, seq] of seqs.entries()) {
    const path = join(dir, segmentName(seq));
    const bytes = await read(path, () => fs.readFile(path));
    replay.segment(seq, path, bytes, i === seqs.length - 1);
    sizes.set(seq, bytes.length);
    lastBytes = bytes;
  }
  const log = replay.finish();
  const snapshot = log.snapshot ? await loadSnapshot(fs, dir, log.snapshot) : null;
  return { names, log, sizes, lastBytes, snapshot };
}

/**
 * What a log holds, read without opening it for writing: nothing is created, cut or moved, so it
 * is safe beside a daemon appending to it (a record being written reads as a torn tail and is
 * left out, as it would be at open). For tools and tests; throws DataFileError like open.
 */
export async function readLogStore(dir: string, fs: StoreFs = nodeStoreFs): Promise<Omit<Recovered, 'torn'>> {
  const { log, snapshot } = await replayDir(fs, dir);
  return { hardState: log.hardState, snapshot, entries: log.entries };
}

/**
 * Deletes the temporary snapshot files (`snap-….snap.tmp`) a crash mid-write left: such a file
 * was never renamed into place, so no snapshot marker in the log names it and nothing was
 * acknowledged on it; kept, it would only fill the disk, one per crash. Returns their names.
 */
async function removeLeftovers(fs: StoreFs, dir: string, names: readonly string[]): Promise<string[]> {
  const leftovers = names.filter((n) => n.endsWith('.tmp') && parseSnapshotFileName(n.slice(0, -'.tmp'.length)) !== null);
  for (const name of leftovers) {
    const path = join(dir, name);
    await persist(path, 'not deleted', () => fs.unlink(path));
  }
  if (leftovers.length > 0) await persist(dir, 'deleted, but not durably', () => fs.syncDir(dir));
  return leftovers;
}

/**
 * Copies the torn bytes beside the segment (or moves a segment that never got its checkpoint
 * aside whole), durably, then cuts them off: nothing is dropped unseen.
 */
async function keepTorn(fs: StoreFs, dir: string, names: readonly string[], torn: TornSegment, bytes: Buffer): Promise<TornTail> {
  const base = `${segmentName(torn.seq)}.torn-${torn.offset}`;
  let keptName = base;
  for (let n = 2; names.includes(keptName); n++) keptName = `${base}.${n}`;
  const keptAs = join(dir, keptName);
  if (torn.whole) {
    await persist(torn.path, 'not moved aside', () => fs.rename(torn.path, keptAs));
    await persist(dir, 'moved aside, but not durably', () => fs.syncDir(dir));
  } else {
    const copy = await persist(keptAs, 'not created', () => fs.open(keptAs, 'wx'));
    try {
      await writeAll(copy, keptAs, bytes.subarray(torn.offset), 0);
      await persist(keptAs, 'not durably written', () => copy.sync());
    } finally {
      await copy.close();
    }
    await persist(dir, 'not durably created', () => fs.syncDir(dir));
    const segment = await persist(torn.path, 'not opened', () => fs.open(torn.path, 'r+'));
    try {
      await persist(torn.path, 'not cut at its torn tail', () => segment.truncate(torn.offset));
      await persist(torn.path, 'cut at its torn tail, but not durably', () => segment.sync());
    } finally {
      await segment.close();
    }
  }
  return { file: torn.path, offset: torn.offset, bytes: torn.bytes, keptAs };
}

async function loadSnapshot(fs: StoreFs, dir: string, named: { marker: SnapshotMarker; path: string; offset: number }): Promise<Snapshot> {
  const path = join(dir, named.marker.file);
  let bytes: Buffer;
  try {
    bytes = await fs.readFile(path);
  } catch (err) {
    const why = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'it is missing' : `it cannot be read (${(err as Error).message})`;
    throw new DataFileError(path, `${why}, and ${named.path} at byte ${named.offset} names it as the newest snapshot`);
  }
  const decoded = decodeSnapshotFile(bytes, named.marker);
  if (!decoded.ok) throw new DataFileError(path, decoded.reason, decoded.offset);
  return decoded.snapshot;
}
