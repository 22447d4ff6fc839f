/**
 * The file operations the log store uses, as one small interface so tests can count them or
 * fail one deterministically. The default runs node:fs's callback calls on raw descriptors, whose
 * work runs on libuv's thread pool, except a write to a file opened with synced writes (the log's
 * segments): that one is made on the event loop's own thread (StoreFile.syncedWrites).
 */
import { close, constants, fdatasync, fsync, ftruncate, open as openFd, write, writeSync } from 'node:fs';
import { open, mkdir, readFile, readdir, rename, unlink } from 'node:fs/promises';

/** An open file, as the store uses it. */
export interface StoreFile {
  write(buffer: Uint8Array, offset: number, length: number, position: number): Promise<{ bytesWritten: number }>;
  datasync(): Promise<void>;
  sync(): Promise<void>;
  truncate(length: number): Promise<void>;
  close(): Promise<void>;
  /**
   * Each write is durable when it resolves, as a write followed by fdatasync would be (the file
   * was opened with O_DSYNC, StoreOpenOptions.syncedWrites): no datasync is needed after one.
   * And each is made on the calling thread: the event loop waits for the disk, as etcd's raft
   * loop waits for its WAL's write. Handing a write of a few hundred bytes to the thread pool
   * cost more than the wait: a worker woken, then the loop woken by it, each waiting for a core
   * on a host its members share (README "Persistence": in the clearest of the alternated runs,
   * 1-client put p50 and the members' CPU per put about a fifth lower). A disk that stalls stalls
   * the daemon as a SIGSTOP would, which the protocols are built to survive (stall.ts). The log
   * store makes such a write two turns of the event loop after the batch was handed over, so
   * the messages already on their way leave first (log-store.ts flush).
   */
  readonly syncedWrites: boolean;
}

export interface StoreOpenOptions {
  /**
   * Open with O_DSYNC: every write returns once its data (and the size that reaches it) is on
   * the disk, and is made on the calling thread (StoreFile.syncedWrites). The log's segments are
   * opened so: a group commit is then one write, instead of a write and an fsync one after the
   * other on the thread pool (measured in README "Persistence").
   */
  syncedWrites?: boolean;
}

export interface StoreFs {
  /** `wx` creates a file that must not exist yet, `r+` opens one to append to. */
  open(path: string, flags: 'wx' | 'r+', opts?: StoreOpenOptions): Promise<StoreFile>;
  readFile(path: string): Promise<Buffer>;
  readdir(path: string): Promise<string[]>;
  /** Creates `path` and missing parents; resolves to the first directory created, undefined when it existed. */
  mkdir(path: string): Promise<string | undefined>;
  rename(from: string, to: string): Promise<void>;
  unlink(path: string): Promise<void>;
  /** fsync of a directory: makes the creation, removal or renaming of its entries durable. */
  syncDir(path: string): Promise<void>;
}

/**
 * A StoreFile on a descriptor, through node:fs's callback calls (cheaper than FileHandle's
 * promises on a path taken for every commit). Closing is idempotent and nothing touches the
 * number after it: the kernel hands a closed number to the next open, and a second close(2)
 * would close that file (a socket, another segment) instead.
 */
class FdFile implements StoreFile {
  private fd: number | null;

  constructor(
    fd: number,
    readonly syncedWrites: boolean,
  ) {
    this.fd = fd;
  }

  write(buffer: Uint8Array, offset: number, length: number, position: number): Promise<{ bytesWritten: number }> {
    if (this.syncedWrites && this.fd !== null) {
      try {
        return Promise.resolve({ bytesWritten: writeSync(this.fd, buffer, offset, length, position) });
      } catch (err) {
        return Promise.reject(err as Error);
      }
    }
    return this.call((fd, done) => write(fd, buffer, offset, length, position, (err, bytesWritten) => done(err, { bytesWritten })));
  }

  datasync(): Promise<void> {
    return this.call((fd, done) => fdatasync(fd, (err) => done(err, undefined)));
  }

  sync(): Promise<void> {
    return this.call((fd, done) => fsync(fd, (err) => done(err, undefined)));
  }

  truncate(length: number): Promise<void> {
    return this.call((fd, done) => ftruncate(fd, length, (err) => done(err, undefined)));
  }

  close(): Promise<void> {
    const fd = this.fd;
    if (fd === null) return Promise.resolve();
    this.fd = null;
    return new Promise((resolve, reject) => close(fd, (err) => (err ? reject(err) : resolve())));
  }

  private call<T>(op: (fd: number, done: (err: NodeJS.ErrnoException | null, value: T) => void) => void): Promise<T> {
    const fd = this.fd;
    if (fd === null) return Promise.reject(Object.assign(new Error('EBADF: the file is closed'), { code: 'EBADF' }));
    return new Promise((resolve, reject) => op(fd, (err, value) => (err ? reject(err) : resolve(value))));
  }
}

const OPEN_FLAGS = { wx: constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 'r+': constants.O_RDWR } as const;

export const nodeStoreFs: StoreFs = {
  async open(path, flags, opts = {}) {
    const synced = opts.syncedWrites === true;
    const fd = await new Promise<number>((resolve, reject) => openFd(path, OPEN_FLAGS[flags] | (synced ? constants.O_DSYNC : 0), 0o600, (err, fd) => (err ? reject(err) : resolve(fd))));
    return new FdFile(fd, synced);
  },
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
