/**
 * File operations shared by opening and appending: every failure becomes PersistError (or, for a
 * read at open, DataFileError) naming the file, and a segment is created durably or not at all.
 */
import { join } from 'node:path';
import { DataFileError, PersistError } from '../errors.js';
import { encodeBatch, encodeHeader, segmentName } from './format.js';
import type { StoreFile, StoreFs } from './fs.js';
import type { LogPosition } from './log-state.js';
import { encodeCheckpoint } from './records.js';

export const NOT_ACKNOWLEDGED = 'not acknowledged; the log takes no further writes until a restart replays what is on disk';

export interface OpenSegment {
  seq: number;
  path: string;
  file: StoreFile;
  /** Bytes in the segment, where the next write goes. */
  size: number;
}

/** Creates segment `seq` holding its header and a checkpoint, durably (file and directory fsynced). */
export async function createSegment(
  fs: StoreFs,
  dir: string,
  seq: number,
  hardStateText: ReadonlyMap<string, string>,
  position: LogPosition,
  sync: (path: string, op: () => Promise<void>) => Promise<void> = (path, op) => persist(path, 'not created', op),
): Promise<OpenSegment> {
  const path = join(dir, segmentName(seq));
  const data = Buffer.concat([encodeHeader(seq), ...encodeBatch([encodeCheckpoint(hardStateText, position.snapshot, position.lastIndex)])]);
  const file = await persist(path, 'not created', () => fs.open(path, 'wx', { syncedWrites: true }));
  try {
    await writeAll(file, path, data, 0);
    await sync(path, () => file.sync());
    await sync(dir, () => fs.syncDir(dir));
  } catch (err) {
    await file.close().catch(() => undefined);
    throw err;
  }
  return { seq, path, file, size: data.length };
}

/** write(2) may write part of a buffer without an error (a nearly full disk): loop until all is written or it throws. */
export async function writeAll(file: StoreFile, path: string, data: Buffer, position: number): Promise<void> {
  await persist(path, NOT_ACKNOWLEDGED, async () => {
    for (let done = 0; done < data.length; ) {
      const { bytesWritten } = await file.write(data, done, data.length - done, position + done);
      if (bytesWritten <= 0) throw new Error(`write stopped at byte ${done} of ${data.length}`);
      done += bytesWritten;
    }
  });
}

/** Runs a file operation; a failure becomes PersistError naming `path`. */
export async function persist<T>(path: string, outcome: string, op: () => T | Promise<T>): Promise<T> {
  try {
    return await op();
  } catch (err) {
    if (err instanceof PersistError) throw err;
    throw new PersistError(path, err, outcome);
  }
}

/** Reads at open; a failure means the log cannot be known, DataFileError naming `path`. */
export async function read<T>(path: string, op: () => Promise<T>): Promise<T> {
  try {
    return await op();
  } catch (err) {
    throw new DataFileError(path, `cannot read it (${(err as Error).message})`);
  }
}
