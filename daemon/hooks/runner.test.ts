/** The hook runner with real processes (/bin/sh): results, environment, timeouts, order, stop. */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, describe, it } from 'node:test';
import { pino } from 'pino';
import type { ConclaveConfig } from '../config/types.js';
import type { HookName, HookResult, LeadershipView } from './policy.js';
import { HookRunner } from './runner.js';
import { alive } from '../../test/support/run-job.js';

const dir = mkdtempSync(join(tmpdir(), 'conclave-hooks-test-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let serial = 0;

const SELF = { id: 'id-self', name: 'self' };
const OTHER = { id: 'id-other', name: 'other' };
const FOLLOWER: LeadershipView = { role: 'follower', term: 1, fencingToken: 1, leader: OTHER };
const LEADER: LeadershipView = { role: 'leader', term: 2, fencingToken: 5, leader: SELF };

interface Harness {
  runner: HookRunner;
  results: [HookName, HookResult][];
  records: Record<string, unknown>[];
  /** Resolves once `n` runs have ended. */
  ended(n: number): Promise<void>;
  file: string;
}

function harness(hooks: Partial<ConclaveConfig['hooks']>): Harness {
  const records: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line) records.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  const results: [HookName, HookResult][] = [];
  const waiters: { n: number; resolve: () => void }[] = [];
  const runner = new HookRunner({
    hooks: { onLeader: null, onFollower: null, onLeaderChange: null, timeoutMs: 10_000, ...hooks },
    nodeName: 'self',
    log: pino({ level: 'debug' }, sink),
    onResult: (hook, result) => {
      results.push([hook, result]);
      for (const w of waiters.filter((w) => results.length >= w.n)) w.resolve();
    },
  });
  return {
    runner,
    results,
    records,
    ended: (n) => (results.length >= n ? Promise.resolve() : new Promise((resolve) => waiters.push({ n, resolve }))),
    file: join(dir, `out-${++serial}`),
  };
}

const lines = (file: string) => (existsSync(file) ? readFileSync(file, 'utf8').trimEnd().split('\n') : []);

describe('hook runner', () => {
  it('runs a shell command with the transition in its environment', async () => {
    const h = harness({});
    const h2 = harness({ onLeader: `echo "$CONCLAVE_HOOK $CONCLAVE_ROLE $CONCLAVE_TERM $CONCLAVE_FENCING_TOKEN $CONCLAVE_LEADER_ID $CONCLAVE_LEADER_NAME $CONCLAVE_NODE_NAME [$CONCLAVE_PREVIOUS_LEADER]" >> ${h.file}` });
    h2.runner.observe(FOLLOWER);
    h2.runner.observe(LEADER);
    await h2.ended(1);
    assert.deepEqual(h2.results, [['onLeader', 'ok']], 'onFollower is not configured, so only onLeader runs');
    assert.deepEqual(lines(h.file), ['onLeader leader 2 5 id-self self self [other]']);
  });

  it('runs an argv list without a shell; a program that does not exist counts as failed', async () => {
    const h = harness({ onFollower: ['/bin/sh', '-c', 'echo "$1" > "$2"', 'sh', 'a b; $(no expansion)', join(dir, 'argv')] });
    h.runner.observe(FOLLOWER);
    await h.ended(1);
    assert.deepEqual(h.results, [['onFollower', 'ok']]);
    assert.equal(readFileSync(join(dir, 'argv'), 'utf8'), 'a b; $(no expansion)\n');
    const missing = harness({ onFollower: ['/nonexistent/hook'] });
    missing.runner.observe(FOLLOWER);
    await missing.ended(1);
    assert.deepEqual(missing.results, [['onFollower', 'failed']]);
    assert.match(String(missing.records.find((r) => r.level === 40)?.msg), /could not be started \(ENOENT/);
  });

  it('a non-zero exit is failed, logged at warn with the tail of its output', async () => {
    const h = harness({ onFollower: 'for i in $(seq 1 2000); do echo "line $i"; done; echo "boom" >&2; exit 3' });
    h.runner.observe(FOLLOWER);
    await h.ended(1);
    assert.deepEqual(h.results, [['onFollower', 'failed']]);
    const warn = h.records.find((r) => r.level === 40)!;
    assert.equal(warn.exitCode, 3);
    assert.match(String(warn.msg), /hook onFollower failed: exit status 3/);
    const output = String(warn.output);
    assert.ok(output.endsWith('line 2000\nboom'), output.slice(-50));
    assert.ok(output.length <= 4097 && output.startsWith('…line '), 'only a tail, from a line start');
  });

  it('a hook past hooks.timeoutMs is killed with its whole process group and counted as timeout', async () => {
    const pidFile = join(dir, 'bg.pid');
    const h = harness({ onFollower: `sleep 30 & echo $! > ${pidFile}; echo started; sleep 30`, timeoutMs: 300 });
    h.runner.observe(FOLLOWER);
    await h.ended(1);
    assert.deepEqual(h.results, [['onFollower', 'timeout']]);
    const warn = h.records.find((r) => r.level === 40)!;
    assert.match(String(warn.msg), /timed out after 300 ms/);
    assert.equal(warn.output, 'started');
    const bg = Number(readFileSync(pidFile, 'utf8'));
    // The background sleep was in the hook's group: gone within the kill grace.
    const deadline = Date.now() + 3000;
    while (alive(bg) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.equal(alive(bg), false, `background process ${bg} of the hook survived`);
  });

  it('onLeader and onFollower run one at a time, in transition order, even when the first is slow', async () => {
    const h = harness({});
    const r = harness({ onLeader: `sleep 0.3; echo "leader $CONCLAVE_TERM" >> ${h.file}`, onFollower: `echo "follower $CONCLAVE_TERM" >> ${h.file}` });
    r.runner.observe({ role: 'leader', term: 1, fencingToken: 1, leader: SELF });
    r.runner.observe({ role: 'follower', term: 1, fencingToken: 1, leader: null });
    await r.ended(2);
    assert.deepEqual(lines(h.file), ['leader 1', 'follower 1']);
  });

  it('runs that pile up behind a slow hook are coalesced to the latest state and counted as skipped', async () => {
    const h = harness({});
    const r = harness({ onLeader: `sleep 0.3; echo "leader $CONCLAVE_TERM" >> ${h.file}`, onFollower: `echo "follower $CONCLAVE_TERM" >> ${h.file}` });
    for (let term = 1; term <= 4; term++) {
      r.runner.observe({ role: 'leader', term, fencingToken: term, leader: SELF });
      r.runner.observe({ role: 'follower', term, fencingToken: term, leader: null });
    }
    await r.ended(8);
    assert.deepEqual(lines(h.file), ['leader 1', 'follower 4']);
    assert.equal(r.results.filter(([, result]) => result === 'skipped').length, 6);
  });

  it('setHooks (conclave reload): later runs use the new commands; a queued run of a hook turned off is skipped', async () => {
    const h = harness({});
    const base = { onLeaderChange: null, timeoutMs: 10_000 };
    const r = harness({ onLeader: `sleep 0.3; echo "old leader $CONCLAVE_TERM" >> ${h.file}`, onFollower: `echo "old follower" >> ${h.file}` });
    r.runner.observe({ role: 'leader', term: 1, fencingToken: 1, leader: SELF });
    r.runner.observe({ role: 'follower', term: 1, fencingToken: 1, leader: null });
    // onLeader is running, onFollower waits behind it: the reload turns onFollower off.
    r.runner.setHooks({ ...base, onLeader: `echo "new leader $CONCLAVE_TERM" >> ${h.file}`, onFollower: null });
    await r.ended(2);
    assert.deepEqual(r.results, [['onLeader', 'ok'], ['onFollower', 'skipped']]);
    r.runner.observe({ role: 'leader', term: 2, fencingToken: 2, leader: SELF });
    await r.ended(3);
    assert.deepEqual(lines(h.file), ['old leader 1', 'new leader 2'], 'the running hook kept its command; the next run took the new one');

    const none = harness({});
    none.runner.observe(FOLLOWER);
    none.runner.setHooks({ ...base, onLeader: `echo "added $CONCLAVE_TERM" >> ${h.file}`, onFollower: null });
    none.runner.observe(LEADER);
    await none.ended(1);
    assert.deepEqual(lines(h.file).at(-1), 'added 2', 'a hook added by a reload fires at the next transition');
  });

  it('stop() waits for the running and queued hooks, then takes no more transitions', async () => {
    const h = harness({});
    const r = harness({ onLeader: `sleep 0.2; echo leader >> ${h.file}`, onFollower: `echo follower >> ${h.file}` });
    r.runner.observe(LEADER);
    r.runner.observe(FOLLOWER);
    await r.runner.stop();
    assert.deepEqual(lines(h.file), ['leader', 'follower']);
    r.runner.observe(LEADER);
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.deepEqual(lines(h.file), ['leader', 'follower']);
  });
});

