/**
 * One daemon per data dir: `<dataDir>/daemon.lock`, created exclusively (O_EXCL) and holding the
 * owner's PID. Two daemons on one dir would share a peer id and durable election state, which
 * breaks both membership and elections. A lock whose PID is dead (a crash, kill -9) or whose
 * content is garbage is stale and taken over.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { DataDirLockedError } from './errors.js';

export const LOCK_FILE = 'daemon.lock';

export interface DataDirLock {
  readonly path: string;
  /** PID of the dead process whose stale lock was taken over, or null. */
  readonly tookOverFromPid: number | null;
  /** Removes the lock if it still holds our PID; safe to call more than once. */
  release(): void;
}

/** Lock files this process holds: our own PID in a lock we do not hold is a previous life's. */
const heldPaths = new Set<string>();

export function acquireDataDirLock(dataDir: string): DataDirLock {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const path = join(dataDir, LOCK_FILE);
  let tookOverFromPid: number | null = null;
  // Bounded: each retry follows the removal of a stale lock; a racer that wins keeps it.
  for (let attempt = 0; attempt < 3; attempt++) {
    if (tryCreate(path)) {
      heldPaths.add(path);
      return lockHandle(path, tookOverFromPid);
    }
    const content = readLock(path);
    if (content === null) continue; // removed between our create and read: try again
    const pid = parsePid(content);
    if (pid !== null && isAlive(pid) && (pid !== process.pid || heldPaths.has(path))) {
      throw new DataDirLockedError(dataDir, pid, path);
    }
    // Stale. Re-read first, so a lock a racer just took over is not removed under it.
    if (readLock(path) !== content) continue;
    removeIfPresent(path);
    tookOverFromPid = pid ?? tookOverFromPid;
  }
  const holder = parsePid(readLock(path) ?? '');
  throw new DataDirLockedError(dataDir, holder ?? -1, path);
}

function tryCreate(path: string): boolean {
  let fd: number;
  try {
    fd = openSync(path, 'wx', 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
  try {
    writeSync(fd, `${process.pid}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  return true;
}

function lockHandle(path: string, tookOverFromPid: number | null): DataDirLock {
  let released = false;
  return {
    path,
    tookOverFromPid,
    release() {
      if (released) return;
      released = true;
      heldPaths.delete(path);
      if (parsePid(readLock(path) ?? '') === process.pid) removeIfPresent(path);
    },
  };
}

function readLock(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

function parsePid(content: string): number | null {
  const text = content.trim();
  if (!/^\d{1,10}$/.test(text)) return null;
  const pid = Number(text);
  return pid > 0 ? pid : null;
}

/** Signal 0 checks existence; EPERM means it exists under another user. */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function removeIfPresent(path: string): void {
  try {
    unlinkSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}
