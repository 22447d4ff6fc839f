import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
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

/** A PID that no process has: a child that has exited and been reaped. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '']);
  await new Promise((resolve) => child.once('exit', resolve));
  return child.pid!;
}

describe('acquireDataDirLock', () => {
  it('writes our PID to daemon.lock; release removes it and is idempotent', () => {
    const dir = freshDir('basic');
    const lock = acquireDataDirLock(dir);
    assert.equal(lock.tookOverFromPid, null);
    assert.equal(readFileSync(join(dir, 'daemon.lock'), 'utf8').trim(), String(process.pid));
    lock.release();
    assert.equal(existsSync(join(dir, 'daemon.lock')), false);
    lock.release();
    // Free again after release.
    acquireDataDirLock(dir).release();
  });

  it('a lock held by a live process is a DataDirLockedError naming that PID', async () => {
    const dir = freshDir('live');
    const sleeper = spawn('sleep', ['60'], { stdio: 'ignore' });
    try {
      writeFileSync(join(dir, 'daemon.lock'), `${sleeper.pid}\n`);
      assert.throws(
        () => acquireDataDirLock(dir),
        (err: Error & { exitCode: number; pid: number }) => {
          assert.equal(err.name, 'DataDirLockedError');
          assert.equal(err.exitCode, 2);
          assert.equal(err.pid, sleeper.pid);
          assert.ok(err.message.includes(dir));
          return true;
        },
      );
      assert.equal(readFileSync(join(dir, 'daemon.lock'), 'utf8').trim(), String(sleeper.pid));
    } finally {
      sleeper.kill('SIGKILL');
      await new Promise((resolve) => sleeper.once('exit', resolve));
    }
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

  it('a stale lock (dead PID) is taken over and reported', async () => {
    const dir = freshDir('stale');
    const pid = await deadPid();
    writeFileSync(join(dir, 'daemon.lock'), `${pid}\n`);
    const lock = acquireDataDirLock(dir);
    assert.equal(lock.tookOverFromPid, pid);
    assert.equal(readFileSync(join(dir, 'daemon.lock'), 'utf8').trim(), String(process.pid));
    lock.release();
  });

  it('a lock with garbage content is stale', () => {
    const dir = freshDir('garbage');
    writeFileSync(join(dir, 'daemon.lock'), 'not a pid');
    const lock = acquireDataDirLock(dir);
    assert.equal(lock.tookOverFromPid, null);
    assert.equal(readFileSync(join(dir, 'daemon.lock'), 'utf8').trim(), String(process.pid));
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
