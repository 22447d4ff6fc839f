/** RunMachine: when `conclave run` starts, signals and restarts its child, and when it exits. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Leadership } from '../../client/leadership.js';
import { DEFAULT_RUN_OPTIONS, RunMachine, exitStatus, type RunAction, type RunOptions } from './machine.js';

const reign = (fencingToken: number, term = fencingToken): Leadership => ({
  fencingToken,
  term,
  leader: { id: 'id-a', name: 'a' },
  node: { id: 'id-a', name: 'a' },
});
const machine = (opts: Partial<RunOptions> = {}) => new RunMachine({ ...DEFAULT_RUN_OPTIONS, graceMs: 1000, ...opts });
const kinds = (actions: RunAction[]) => actions.map((a) => (a.kind === 'signal' ? a.signal : a.kind === 'exit' ? `exit ${a.code}` : a.kind));

describe('RunMachine', () => {
  it('starts the child when this node leads, with the reign in its environment', () => {
    const m = machine();
    assert.deepEqual(m.step({ kind: 'tick', nowMs: 0 }), []);
    const [start] = m.step({ kind: 'leading', leadership: reign(7, 3), nowMs: 10 });
    assert.deepEqual(start, {
      kind: 'start',
      leadership: reign(7, 3),
      env: { CONCLAVE_FENCING_TOKEN: '7', CONCLAVE_TERM: '3', CONCLAVE_LEADER_ID: 'id-a', CONCLAVE_LEADER_NAME: 'a', CONCLAVE_NODE_NAME: 'a' },
    });
  });

  it('leadership lost: SIGTERM at once, SIGKILL after the grace; started again when leading again', () => {
    const m = machine();
    m.step({ kind: 'leading', leadership: reign(7), nowMs: 0 });
    assert.deepEqual(kinds(m.step({ kind: 'not-leading', nowMs: 100 })), ['SIGTERM']);
    assert.equal(m.nextDeadlineMs(), 1100);
    assert.deepEqual(kinds(m.step({ kind: 'tick', nowMs: 1099 })), []);
    assert.deepEqual(kinds(m.step({ kind: 'tick', nowMs: 1100 })), ['SIGKILL']);
    assert.deepEqual(kinds(m.step({ kind: 'child-exited', code: null, signal: 'SIGKILL', nowMs: 1101 })), [], 'stopped by us: no exit, no restart');
    assert.deepEqual(kinds(m.step({ kind: 'leading', leadership: reign(9), nowMs: 2000 })), ['start']);
  });

  it('a new token while leading: the old child is stopped, and the new one starts only once it is gone', () => {
    const m = machine();
    m.step({ kind: 'leading', leadership: reign(7), nowMs: 0 });
    assert.deepEqual(kinds(m.step({ kind: 'leading', leadership: reign(8), nowMs: 10 })), ['SIGTERM']);
    assert.deepEqual(kinds(m.step({ kind: 'leading', leadership: reign(8), nowMs: 11 })), [], 'never two children');
    const [start] = m.step({ kind: 'child-exited', code: 143, signal: null, nowMs: 20 });
    assert.equal(start?.kind === 'start' && start.env.CONCLAVE_FENCING_TOKEN, '8');
  });

  it('--restart never: a child that exits by itself ends run with its status (128 + signal when killed)', () => {
    const m = machine();
    m.step({ kind: 'leading', leadership: reign(7), nowMs: 0 });
    assert.deepEqual(kinds(m.step({ kind: 'child-exited', code: 3, signal: null, nowMs: 5 })), ['exit 3']);
    assert.deepEqual(m.step({ kind: 'leading', leadership: reign(8), nowMs: 6 }), [], 'nothing after exit');
    assert.equal(exitStatus(null, 'SIGKILL'), 137);
  });

  it('--restart on-failure: a failure restarts with doubling backoff, a clean exit ends run with 0', () => {
    const m = machine({ restart: 'on-failure', backoffInitialMs: 100, backoffMaxMs: 300 });
    m.step({ kind: 'leading', leadership: reign(7), nowMs: 0 });
    const delays: number[] = [];
    let now = 0;
    for (let i = 0; i < 4; i++) {
      assert.deepEqual(kinds(m.step({ kind: 'child-exited', code: 1, signal: null, nowMs: now })), []);
      delays.push(m.nextDeadlineMs()! - now);
      now = m.nextDeadlineMs()!;
      assert.deepEqual(kinds(m.step({ kind: 'tick', nowMs: now })), ['start']);
    }
    assert.deepEqual(delays, [100, 200, 300, 300]);
    assert.deepEqual(kinds(m.step({ kind: 'child-exited', code: 0, signal: null, nowMs: now + 1 })), ['exit 0']);
  });

  it('--restart always: a child that ran long enough restarts after the first delay again', () => {
    const m = machine({ restart: 'always', backoffInitialMs: 100, backoffResetAfterMs: 1000 });
    m.step({ kind: 'leading', leadership: reign(7), nowMs: 0 });
    m.step({ kind: 'child-exited', code: 0, signal: null, nowMs: 10 });
    m.step({ kind: 'tick', nowMs: 110 });
    m.step({ kind: 'child-exited', code: 0, signal: null, nowMs: 5000 });
    assert.equal(m.nextDeadlineMs(), 5100);
  });

  it('--resign-on-exit: the node resigns, and no child starts again under that token', () => {
    const m = machine({ restart: 'always', resignOnExit: true, backoffInitialMs: 10 });
    m.step({ kind: 'leading', leadership: reign(7), nowMs: 0 });
    assert.deepEqual(kinds(m.step({ kind: 'child-exited', code: 0, signal: null, nowMs: 5 })), ['resign']);
    assert.deepEqual(kinds(m.step({ kind: 'tick', nowMs: 100 })), [], 'still token 7');
    m.step({ kind: 'not-leading', nowMs: 150 });
    assert.deepEqual(kinds(m.step({ kind: 'leading', leadership: reign(9), nowMs: 200 })), ['start']);
  });

  it('SIGTERM to run is forwarded; run exits with the child\'s status once it is gone (SIGKILL after the grace)', () => {
    const m = machine();
    m.step({ kind: 'leading', leadership: reign(7), nowMs: 0 });
    assert.deepEqual(kinds(m.step({ kind: 'signal', signal: 'SIGHUP', nowMs: 1 })), ['SIGHUP'], 'SIGHUP only forwarded');
    assert.deepEqual(kinds(m.step({ kind: 'signal', signal: 'SIGTERM', nowMs: 2 })), ['SIGTERM']);
    assert.deepEqual(kinds(m.step({ kind: 'tick', nowMs: 1002 })), ['SIGKILL']);
    assert.deepEqual(kinds(m.step({ kind: 'child-exited', code: null, signal: 'SIGKILL', nowMs: 1003 })), ['exit 137']);
  });

  it('SIGINT with no child running: run exits 0 at once; it does not start a child afterwards', () => {
    const m = machine();
    assert.deepEqual(kinds(m.step({ kind: 'signal', signal: 'SIGINT', nowMs: 0 })), ['exit 0']);
    assert.deepEqual(m.step({ kind: 'leading', leadership: reign(7), nowMs: 1 }), []);
  });
});
