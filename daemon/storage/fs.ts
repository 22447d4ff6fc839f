/**
 * The file operations the log store uses, as one small interface so tests can count them or
 * fail one deterministically. The default is node:fs/promises, whose work runs on libuv's
 * thread pool: a slow fsync never blocks the event loop.
 */
import { open, mkdir, readFile, readdir, rename, unlink, type FileHandle } from 'node:fs/promises';

/** The part of a FileHandle the store uses. */
export interface StoreFile {
  write(buffer: Uint8Array, offset: number, length: number, position: number): Promise<{ bytesWritten: number }>;
  datasync(): Promise<void>;
  sync(): Promise<void>;
  truncate(length: number): Promise<void>;
  close(): Promise<void>;
}

export interface StoreFs {
  /** `wx` creates a file that must not exist yet, `r+` opens one to append to. */
  open(path: string, flags: 'wx' | 'r+'): Promise<StoreFile>;
  readFile(path: string): Promise<Buffer>;
  readdir(path: string): Promise<string[]>;
  /** Creates `path` and missing parents; resolves to the first directory created, undefined when it existed. */
  mkdir(path: string): Promise<string | undefined>;
  rename(from: string, to: string): Promise<void>;
  unlink(path: string): Promise<void>;
  /** fsync of a directory: makes the creation, removal or renaming of its entries durable. */
  syncDir(path: string): Promise<void>;
}

export const nodeStoreFs: StoreFs = {
  open: (path, flags): Promise<FileHandle> => open(path, flags, 0o600),
  readFile: (path) => readFile(path),
  readdir: (path) => readdir(path),
  mkdir: (path) => mkdir(path, { recursive: true, mode: 0o700 }),
  rename: (from, to) => rename(from, to),
  unlink: (path) => unlink(path),
  async syncDir(path) {
    const handle = await open(path, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  },
};
