/**
 * Durable single-file state for a machine (e.g. Bully's accepted epoch). Writes are synchronous,
 * fsynced and atomic (tmp + rename + directory fsync), so the runtime can honour
 * persist-before-send simply by writing before it hands later sends to the network.
 */
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Codec } from '../protocols/election.js';
import { DataFileError } from './errors.js';

export interface StateStore<T> {
  readonly path: string;
  /** The stored state, null when none was ever written; a corrupt file throws DataFileError. */
  load(): T | null;
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

/** Atomic, fsynced replacement of a small file. */
export function writeFileDurably(path: string, content: string, mode = 0o600): void {
  const tmp = `${path}.tmp-${process.pid}`;
  const fd = openSync(tmp, 'w', mode);
  try {
    writeSync(fd, content);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
  const dirFd = openSync(dirname(path), 'r');
  try {
    fsyncSync(dirFd);
  } finally {
    closeSync(dirFd);
  }
}
