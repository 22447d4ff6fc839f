/**
 * One daemon per data dir: `<dataDir>/daemon.lock`, created exclusively (O_EXCL), holding the
 * owner's PID and, where /proc exists, that process's start time. Two daemons on one dir would
 * share a peer id and durable election state, which breaks both membership and elections.
 *
 * A lock is stale, and taken over, when its content is garbage or its PID is not the daemon
 * that wrote it: dead (a crash, kill -9), or alive but recycled (PIDs are reused after a reboot
 * or a crash, so a live PID alone proves nothing). The start time (/proc/PID/stat, field 22)
 * tells a recycled PID apart; a PID-only lock (older versions) falls back to the process's
 * command line; without /proc, a live PID holds the lock, as it always did.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { DataDirLockedError, PersistError } from './errors.js';

export const LOCK_FILE = 'daemon.lock';

export interface DataDirLock {
  readonly path: string;
  /** PID named by the stale lock taken over (dead, or alive but another process), or null. */
  readonly tookOverFromPid: number | null;
  /** Removes the lock if it still holds our PID; safe to call more than once. */
  release(): void;
}

/** What a lock file says: the first line is the PID alone, so `kill $(head -1 daemon.lock)` works. */
interface LockContent {
  pid: number;
  /** The owner's start time in clock ticks after boot, as /proc shows it; null in a PID-only lock. */
  startTime: string | null;
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
    const lock = parseLock(content);
    if (lock !== null && (lock.pid === process.pid ? heldPaths.has(path) : isHeldBy(lock, dataDir))) {
      throw new DataDirLockedError(dataDir, lock.pid, path);
    }
    // Stale. Re-read first, so a lock a racer just took over is not removed under it.
    if (readLock(path) !== content) continue;
    try {
      removeIfPresent(path);
    } catch (err) {
      throw new PersistError(path, err, 'a stale lock that could not be removed');
    }
    tookOverFromPid = lock?.pid ?? tookOverFromPid;
  }
  const holder = parseLock(readLock(path) ?? '');
  throw new DataDirLockedError(dataDir, holder?.pid ?? -1, path);
}

/** Whether the lock's PID is still the live daemon that wrote it; when /proc cannot tell, liveness decides. */
function isHeldBy(lock: LockContent, dataDir: string): boolean {
  if (!isAlive(lock.pid)) return false;
  const stat = readStat(lock.pid);
  if (stat?.state === 'Z') return false; // exited, not yet reaped by its parent
  if (lock.startTime !== null) return stat === null || stat.startTime === lock.startTime;
  const args = readCmdline(lock.pid);
  return args === null || looksLikeDaemon(args, dataDir);
}

/**
 * For a PID-only lock: the command line of a daemon on this dir names the dir, or is
 * `conclave start` / `node …/daemon/cli/main.js start` (or main.ts). In doubt, the lock is held.
 */
function looksLikeDaemon(args: readonly string[], dataDir: string): boolean {
  if (args.some((arg) => arg.includes(resolve(dataDir)))) return true;
  return args.some((arg) => /conclave|daemon\/cli\/main\b/i.test(arg)) && args.includes('start');
}

function tryCreate(path: string): boolean {
  let fd: number;
  try {
    fd = openSync(path, 'wx', 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw new PersistError(path, err, 'not created');
  }
  try {
    const startTime = readStat(process.pid)?.startTime;
    writeSync(fd, startTime === undefined ? `${process.pid}\n` : `${process.pid}\nstarttime ${startTime}\n`);
    fsyncSync(fd);
  } catch (err) {
    // A full disk: no empty lock is left behind (the next start would take it for a stale one).
    try {
      unlinkSync(path);
    } catch {
      // reported below; an empty lock is taken over as garbage anyway
    }
    throw new PersistError(path, err, 'not created');
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
      if (parseLock(readLock(path) ?? '')?.pid === process.pid) removeIfPresent(path);
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

/** Null for garbage. Lines after the PID other than `starttime N` are ignored, so later versions may add some. */
function parseLock(content: string): LockContent | null {
  const [first = '', ...rest] = content.trim().split('\n');
  if (!/^\d{1,10}$/.test(first.trim())) return null;
  const pid = Number(first);
  if (pid <= 0) return null;
  const startTime = rest.map((line) => /^starttime (\d{1,20})$/.exec(line.trim())?.[1]).find((t) => t !== undefined);
  return { pid, startTime: startTime ?? null };
}

/** Signal 0 checks existence; EPERM means it exists under another user. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * State (field 3) and start time (field 22) from /proc/PID/stat; null without /proc or when it
 * is hidden (hidepid). Fields are counted after the last `)`, since the command name in
 * parentheses may itself hold spaces and parentheses.
 */
function readStat(pid: number): { state: string; startTime: string } | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  const fields = text.slice(text.lastIndexOf(')') + 1).trim().split(/\s+/);
  const [state, startTime] = [fields[0], fields[22 - 3]];
  return state !== undefined && startTime !== undefined && /^\d+$/.test(startTime) ? { state, startTime } : null;
}

function readCmdline(pid: number): string[] | null {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  } catch {
    return null;
  }
}

function removeIfPresent(path: string): void {
  try {
    unlinkSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}
