/**
 * The persist path on a really full and a really read-only disk. Each scenario runs
 * disk-fixture.js in a private mount namespace (`unshare -m`) on a fresh tmpfs mounted over an
 * empty temporary dir, so filling or remounting it never touches a real file system, and the
 * mount vanishes with the process. Needs root (as CI runs); without unshare the test fails and
 * says why, it never passes silently.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import type { CapturedError, NodeReport } from './disk-fixture.js';

const FIXTURE = new URL('./disk-fixture.js', import.meta.url).pathname;

/** Runs one scenario on a tmpfs mounted with `tmpfsOptions`; what the fixture observed. */
function runOnTmpfs(t: TestContext, scenario: 'full' | 'read-only', tmpfsOptions: string): Record<string, unknown> | null {
  if (process.getuid?.() !== 0) {
    t.skip('needs root: mounting a tmpfs in a private mount namespace (unshare -m)');
    return null;
  }
  const unshare = spawnSync('sh', ['-c', 'command -v unshare'], { encoding: 'utf8' }).stdout.trim();
  assert.ok(unshare, 'unshare (util-linux) is not installed: these tests need it to mount a private tmpfs; install util-linux');
  const dir = mkdtempSync(join(tmpdir(), 'conclave-disk-test-'));
  try {
    const r = spawnSync(
      unshare,
      ['-m', '--propagation', 'private', 'sh', '-c', 'mount -t tmpfs -o "$1" tmpfs "$2" && exec "$3" "$4" "$5" "$2"', 'sh', tmpfsOptions, dir, process.execPath, FIXTURE, scenario],
      { encoding: 'utf8', timeout: 60_000 },
    );
    assert.equal(r.error, undefined, `could not run unshare: ${r.error?.message}`);
    assert.equal(r.status, 0, `the ${scenario} scenario failed in its mount namespace (exit ${r.status}, signal ${r.signal}):\n${r.stderr}`);
    return JSON.parse(r.stdout) as Record<string, unknown>;
  } finally {
    assert.deepEqual(readdirSync(dir), [], 'nothing leaked out of the mount namespace');
    rmdirSync(dir);
  }
}

/** Every write failure: PersistError naming the file and the errno code of its cause. */
function assertNamed(err: unknown, path: string, code: string): void {
  const e = err as CapturedError | null;
  assert.ok(e, `a write to ${path} should have failed`);
  assert.equal(e.name, 'PersistError');
  assert.equal(e.path, path);
  assert.equal(e.code, code);
  assert.ok(e.message.includes(path) && e.message.includes(code), e.message);
}

/** The write failed: the node stopped on it (the daemon exits 1), reporting only the token on disk, having sent nothing. */
function assertStoppedOnDisk(report: NodeReport, walDir: string, code: string): void {
  assert.equal(report.diskToken, 41);
  const path = report.fatal?.path ?? '';
  assert.ok(path.startsWith(`${walDir}/`) && path.endsWith('.wal'), `the failure names a segment of ${walDir}: ${path}`);
  assertNamed(report.fatal, path, code);
  assert.deepEqual(
    { role: report.status.role, term: report.status.term, leader: report.status.leader, fencingToken: report.status.fencingToken, lease: report.status.leaseRemainingMs },
    { role: 'follower', term: 41, leader: null, fencingToken: 41, lease: null },
  );
  assert.deepEqual(report.leader, { role: 'follower', fencingToken: 41, leader: null });
  assert.equal(report.metrics.fencingToken, 41);
  assert.equal(report.metrics.isLeader, 0);
  assert.equal(report.sent, 0);
  assert.deepEqual(report.events, [], 'no election, role or leader event for state that is not on disk');
}

/** Restarted once the disk takes writes: the node leads at the token it wrote. */
function assertRecovered(report: NodeReport): void {
  assert.equal(report.diskToken, 42);
  assert.equal(report.fatal, null);
  assert.deepEqual({ role: report.status.role, fencingToken: report.status.fencingToken }, { role: 'leader', fencingToken: 42 });
  assert.equal(report.metrics.fencingToken, 42);
  assert.ok(report.events.some((e) => e.type === 'leader-changed' && e.fencingToken === 42));
}

describe('state on a broken disk (tmpfs in a private mount namespace)', () => {
  it('a full disk: file writes fail naming the file, leave no tmp file, never a partial file; a node stops on its first failed append, reporting only what is on disk, and a restart leads', (t) => {
    const o = runOnTmpfs(t, 'full', 'size=64k');
    if (!o) return;
    const statePath = String(o.statePath);
    assertNamed(o.direct, statePath, 'ENOSPC');
    assert.deepEqual(o.afterDirect, { files: ['filler', 'small-state.json'], intact: true }, 'no small-state.json.tmp-<pid> left, the old content intact');
    assertNamed(o.partial, statePath, 'ENOSPC');
    assert.deepEqual(o.afterPartial, { files: ['filler', 'small-state.json'], intact: true }, 'a short write is never renamed into place');
    const failing = o.failing as NodeReport;
    assertStoppedOnDisk(failing, String(o.walDir), 'ENOSPC');
    assert.ok(failing.files.every((f) => f.endsWith('.wal') || f.includes('.torn-')), `only segments (and kept torn bytes) in the log dir: ${failing.files.join(', ')}`);
    assertRecovered(o.recovered as NodeReport);
  });

  it('a read-only data dir (bind remount): the log store is not opened, naming the file; once writable, a start leads', (t) => {
    const o = runOnTmpfs(t, 'read-only', 'size=1m');
    if (!o) return;
    const opening = o.opening as CapturedError | null;
    assert.ok(opening?.path?.startsWith(String(o.walDir)), `names the log store: ${opening?.path}`);
    assertNamed(opening, opening!.path!, 'EROFS');
    assertRecovered(o.recovered as NodeReport);
  });
});
