import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { acquireDataDirLock } from './lock.js';

const root = mkdtempSync(join(tmpdir(), 'conclave-lock-test-'));
after(() => rmSync(root, { recursive: true, force: true }));

function freshDir(name: string): string {
  const dir = join(root, name);
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** Linux-style /proc, where a lock records and checks its owner's start time. */
const hasProc = existsSync('/proc/self/stat');

/** A PID that no process has: a child that has exited and been reaped. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '']);
  await new Promise((resolve) => child.once('exit', resolve));
  return child.pid!;
}

/** Runs `body` with a live child process, killed after. */
async function withChild(command: string, args: string[], body: (child: ChildProcess) => Promise<void> | void): Promise<void> {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  await once(child, 'spawn');
  try {
    await body(child);
  } finally {
    child.kill('SIGKILL');
    if (child.exitCode === null && child.signalCode === null) await once(child, 'exit');
  }
}

/** Resolves on the child's first output (it is ready); rejects if it exits first. */
function firstOutput(child: ChildProcess): Promise<void> {
  return new Promise((resolve, reject) => {
    child.stdout!.once('data', () => resolve());
    child.once('exit', (code) => reject(new Error(`the child exited first (code ${code})`)));
  });
}

/** A second process that takes the lock with this module, as another daemon would, and keeps it. */
const HOLDER = `import { acquireDataDirLock } from ${JSON.stringify(new URL('./lock.js', import.meta.url).href)};
acquireDataDirLock(process.argv[1]);
process.stdout.write('ready\\n');
setInterval(() => {}, 60_000);`;

describe('acquireDataDirLock', () => {
  it('writes our PID (and, with /proc, our start time) to daemon.lock; release removes it and is idempotent', () => {
    const dir = freshDir('basic');
    const lock = acquireDataDirLock(dir);
    assert.equal(lock.tookOverFromPid, null);
    const lines = readFileSync(join(dir, 'daemon.lock'), 'utf8').trimEnd().split('\n');
    assert.equal(lines[0], String(process.pid));
    if (hasProc) assert.match(lines[1]!, /^starttime \d+$/);
    lock.release();
    assert.equal(existsSync(join(dir, 'daemon.lock')), false);
    lock.release();
    // Free again after release.
    acquireDataDirLock(dir).release();
  });

  it('a lock held by another live process is a DataDirLockedError naming that PID', async () => {
    const dir = freshDir('live');
    await withChild(process.execPath, ['--input-type=module', '-e', HOLDER, dir], async (holder) => {
      await firstOutput(holder);
      const before = readFileSync(join(dir, 'daemon.lock'), 'utf8');
      assert.throws(
        () => acquireDataDirLock(dir),
        (err: Error & { exitCode: number; pid: number }) => {
          assert.equal(err.name, 'DataDirLockedError');
          assert.equal(err.exitCode, 2);
          assert.equal(err.pid, holder.pid);
          assert.ok(err.message.includes(dir));
          return true;
        },
      );
      assert.equal(readFileSync(join(dir, 'daemon.lock'), 'utf8'), before);
    });
  });

  it('a lock naming a live PID with another start time (the PID was recycled) is taken over', { skip: !hasProc }, async () => {
    const dir = freshDir('recycled');
    await withChild('sleep', ['30'], (sleeper) => {
      writeFileSync(join(dir, 'daemon.lock'), `${sleeper.pid}\nstarttime 1\n`);
      const lock = acquireDataDirLock(dir);
      assert.equal(lock.tookOverFromPid, sleeper.pid);
      assert.equal(readFileSync(join(dir, 'daemon.lock'), 'utf8').split('\n')[0], String(process.pid));
      lock.release();
    });
  });

  it('a PID-only lock (older versions) naming a live process that is not a conclave daemon is taken over', { skip: !hasProc }, async () => {
    const dir = freshDir('not-conclave');
    await withChild('sleep', ['30'], (sleeper) => {
      writeFileSync(join(dir, 'daemon.lock'), `${sleeper.pid}\n`);
      const lock = acquireDataDirLock(dir);
      assert.equal(lock.tookOverFromPid, sleeper.pid);
      lock.release();
    });
  });

  it('a PID-only lock naming a live `conclave start` process is held', async () => {
    const dir = freshDir('old-daemon');
    await withChild(process.execPath, ['-e', 'setInterval(() => {}, 60_000)', 'conclave', 'start'], (daemon) => {
      writeFileSync(join(dir, 'daemon.lock'), `${daemon.pid}\n`);
      assert.throws(() => acquireDataDirLock(dir), { name: 'DataDirLockedError', pid: daemon.pid });
    });
  });

  it('a second acquire in the same process while held is refused', () => {
    const dir = freshDir('twice');
    const lock = acquireDataDirLock(dir);
    try {
      assert.throws(() => acquireDataDirLock(dir), { name: 'DataDirLockedError' });
    } finally {
      lock.release();
    }
  });

  it('a stale PID-only lock (dead PID) is taken over and reported', async () => {
    const dir = freshDir('stale');
    const pid = await deadPid();
    writeFileSync(join(dir, 'daemon.lock'), `${pid}\n`);
    const lock = acquireDataDirLock(dir);
    assert.equal(lock.tookOverFromPid, pid);
    assert.equal(readFileSync(join(dir, 'daemon.lock'), 'utf8').split('\n')[0], String(process.pid));
    lock.release();
  });

  it('a lock with garbage content is stale', () => {
    const dir = freshDir('garbage');
    writeFileSync(join(dir, 'daemon.lock'), 'not a pid');
    const lock = acquireDataDirLock(dir);
    assert.equal(lock.tookOverFromPid, null);
    assert.equal(readFileSync(join(dir, 'daemon.lock'), 'utf8').split('\n')[0], String(process.pid));
    lock.release();
  });

  it('our own PID in a lock this process does not hold is a previous life (PID reuse, e.g. PID 1 in a container)', () => {
    const dir = freshDir('own-pid');
    writeFileSync(join(dir, 'daemon.lock'), `${process.pid}\n`);
    const lock = acquireDataDirLock(dir);
    assert.equal(lock.tookOverFromPid, process.pid);
    lock.release();
  });

  it('release leaves a lock that another process has since taken', () => {
    const dir = freshDir('taken');
    const lock = acquireDataDirLock(dir);
    writeFileSync(join(dir, 'daemon.lock'), '999999\n');
    lock.release();
    assert.equal(readFileSync(join(dir, 'daemon.lock'), 'utf8'), '999999\n');
  });
});
