/**
 * Durable single-file state for a machine (e.g. Bully's accepted epoch). Writes are synchronous,
 * fsynced and atomic (tmp + rename + directory fsync), so the runtime can honour
 * persist-before-send simply by writing before it hands later sends to the network.
 */
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Codec } from '../protocols/types.js';
import { DataFileError, PersistError } from './errors.js';

export interface StateStore<T> {
  readonly path: string;
  /** The stored state, null when none was ever written; a corrupt file throws DataFileError. */
  load(): T | null;
  /** Throws PersistError (the file keeps its previous state) when the write fails. */
  save(state: T): void;
}

export function createStateStore<T>(dataDir: string, name: string, codec: Codec<T>): StateStore<T> {
  const path = join(dataDir, name);
  return {
    path,
    load() {
      const text = readDataFile(path);
      if (text === null) return null;
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch {
        throw new DataFileError(path, 'it is not valid JSON');
      }
      const parsed = codec.parse(value);
      if (!parsed.ok) throw new DataFileError(path, parsed.reason);
      return parsed.value;
    },
    save(state) {
      writeFileDurably(path, JSON.stringify(state) + '\n');
    },
  };
}

/** A data file's text, null when it was never written; unreadable throws DataFileError. */
export function readDataFile(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new DataFileError(path, `cannot read it (${(err as Error).message})`);
  }
}

/**
 * Atomic, fsynced replacement of a small file. Any failure throws PersistError naming `path` and
 * its cause, and removes the temporary file: a full disk must not fill up further with one
 * leftover per attempt.
 */
export function writeFileDurably(path: string, content: string, mode = 0o600): void {
  const tmp = `${path}.tmp-${process.pid}`;
  let created = false;
  let renamed = false;
  try {
    const fd = openSync(tmp, 'w', mode);
    created = true;
    try {
      writeAll(fd, Buffer.from(content, 'utf8'));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
    renamed = true;
    const dirFd = openSync(dirname(path), 'r');
    try {
      fsyncSync(dirFd);
    } finally {
      closeSync(dirFd);
    }
  } catch (err) {
    // After the rename only the directory entry may not be durable yet: the file holds the new content.
    const leftover = created && !renamed ? removeLeftover(tmp) : '';
    throw new PersistError(path, err, renamed ? 'replaced, but not yet durably' : `left as it was${leftover}`);
  }
}

/** write(2) may write part of a buffer (a nearly full disk) without an error: loop until all is written or it throws. */
function writeAll(fd: number, data: Buffer): void {
  for (let offset = 0; offset < data.length; ) {
    const written = writeSync(fd, data, offset);
    if (written <= 0) throw new Error(`write stopped at byte ${offset} of ${data.length}`);
    offset += written;
  }
}

/** Removes a temporary file after a failed write; '' when it is gone, else a note naming what was left behind. */
function removeLeftover(tmp: string): string {
  try {
    unlinkSync(tmp);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT') return `, and its temporary file ${tmp} could not be removed (${code ?? (err as Error).message})`;
  }
  return '';
}
