import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HookLane, hookEnv, HookTrigger, laneOf, OutputTail, type HookName, type HookRun, type LeadershipView } from './policy.js';

const A = { id: 'id-a', name: 'a' };
const B = { id: 'id-b', name: 'b' };
const C = { id: 'id-c', name: 'c' };

function view(role: LeadershipView['role'], term: number, leader: typeof A | null, fencingToken = term): LeadershipView {
  return { role, term, fencingToken, leader };
}

/** Feeds views to a trigger at node `a`; returns the hooks each fired, in order. */
function fired(views: LeadershipView[]): HookName[][] {
  const trigger = new HookTrigger();
  return views.map((v) => trigger.observe(v).map((r) => r.hook));
}

describe('which hooks a transition fires', () => {
  it('at start: onFollower once (a job left by a crashed daemon is stopped), nothing for the same view again', () => {
    assert.deepEqual(fired([view('follower', 0, null), view('follower', 0, null)]), [['onFollower'], []]);
  });

  it('becoming leader fires onLeader and, for the first leader named, onLeaderChange', () => {
    assert.deepEqual(fired([view('follower', 0, null), view('candidate', 1, null), view('leader', 1, A)]), [['onFollower'], [], ['onLeader', 'onLeaderChange']]);
  });

  it('stopping leading fires onFollower; the next leader fires onLeaderChange only', () => {
    assert.deepEqual(fired([view('follower', 0, null), view('leader', 1, A), view('follower', 1, null), view('follower', 2, B)]), [
      ['onFollower'],
      ['onLeader', 'onLeaderChange'],
      ['onFollower'],
      ['onLeaderChange'],
    ]);
  });

  it('a leaderless gap that ends with the same leader is no leader change', () => {
    assert.deepEqual(fired([view('follower', 1, B), view('follower', 1, null), view('follower', 2, B)]), [['onFollower', 'onLeaderChange'], [], []]);
  });

  it('a new term while leading is a new reign: onLeader again, with the new token', () => {
    const trigger = new HookTrigger();
    trigger.observe(view('leader', 1, A));
    const runs = trigger.observe(view('leader', 2, A, 7));
    assert.deepEqual(runs.map((r) => [r.hook, r.view.fencingToken]), [['onLeader', 7]]);
  });

  it('a follower that sees only its term move fires nothing', () => {
    assert.deepEqual(fired([view('follower', 1, B), view('follower', 2, B), view('candidate', 3, null), view('follower', 3, B)]), [['onFollower', 'onLeaderChange'], [], [], []]);
  });

  it('the previous leader is the one named before the current one, or the one just lost', () => {
    const trigger = new HookTrigger();
    const prev = (v: LeadershipView) => trigger.observe(v).map((r) => `${r.hook}:${r.previousLeader?.name ?? ''}`);
    assert.deepEqual(prev(view('follower', 1, B)), ['onFollower:', 'onLeaderChange:']);
    assert.deepEqual(prev(view('follower', 2, C)), ['onLeaderChange:b']);
    assert.deepEqual(prev(view('candidate', 3, null)), []);
    assert.deepEqual(prev(view('leader', 3, A)), ['onLeader:c', 'onLeaderChange:c']);
    assert.deepEqual(prev(view('follower', 3, null)), ['onFollower:a']);
  });

  it('onLeader and onFollower share a lane; onLeaderChange has its own', () => {
    assert.equal(laneOf('onLeader'), laneOf('onFollower'));
    assert.notEqual(laneOf('onLeader'), laneOf('onLeaderChange'));
  });
});

function run(hook: HookName, term: number): HookRun {
  return { hook, view: view(hook === 'onLeader' ? 'leader' : 'follower', term, null), previousLeader: null };
}
const label = (r: HookRun | null) => (r ? `${r.hook}@${r.view.term}` : null);

describe('a lane: one run at a time, in order, coalesced when runs pile up', () => {
  it('an idle lane starts a run at once; the next waits until it finishes', () => {
    const lane = new HookLane();
    assert.equal(label(lane.enqueue(run('onLeader', 1)).start), 'onLeader@1');
    assert.equal(lane.enqueue(run('onFollower', 1)).start, null);
    assert.equal(label(lane.finished().start), 'onFollower@1');
    assert.equal(lane.finished().start, null);
    assert.equal(lane.busy, false);
  });

  it('a waiting run of the same hook is replaced by the newer one (skipped)', () => {
    const lane = new HookLane();
    lane.enqueue(run('onLeaderChange', 1));
    lane.enqueue(run('onLeaderChange', 2));
    const step = lane.enqueue(run('onLeaderChange', 3));
    assert.deepEqual(step.skipped.map(label), ['onLeaderChange@2']);
    assert.deepEqual(lane.pending.map(label), ['onLeaderChange@3']);
  });

  it('a flapping burst collapses to the runs that reach the latest state, in order, never more than two waiting', () => {
    const lane = new HookLane();
    lane.enqueue(run('onLeader', 1));
    const skipped: string[] = [];
    const hooks: HookName[] = ['onFollower', 'onLeader', 'onFollower', 'onLeader', 'onFollower'];
    hooks.forEach((hook, i) => {
      skipped.push(...lane.enqueue(run(hook, i + 2)).skipped.map((r) => label(r)!));
      assert.ok(lane.pending.length <= 2);
    });
    assert.deepEqual(lane.pending.map(label), ['onFollower@6']);
    assert.deepEqual(skipped, ['onFollower@2', 'onLeader@3', 'onFollower@4', 'onLeader@5']);
  });

  it('a stop and a new start waiting behind a running start both run (the new start brings a new token)', () => {
    const lane = new HookLane();
    lane.enqueue(run('onLeader', 1));
    lane.enqueue(run('onFollower', 1));
    lane.enqueue(run('onLeader', 2));
    assert.deepEqual(lane.pending.map(label), ['onFollower@1', 'onLeader@2']);
  });

  it('clear() drops the waiting runs and leaves the running one', () => {
    const lane = new HookLane();
    lane.enqueue(run('onLeader', 1));
    lane.enqueue(run('onFollower', 1));
    assert.deepEqual(lane.clear().map(label), ['onFollower@1']);
    assert.equal(lane.busy, true);
  });
});

describe('the environment of a hook', () => {
  it('names the token, term, leader, node, role and previous leader; empty strings for none', () => {
    assert.deepEqual(hookEnv({ hook: 'onLeader', view: view('leader', 4, A, 9), previousLeader: B }, 'a'), {
      CONCLAVE_HOOK: 'onLeader',
      CONCLAVE_FENCING_TOKEN: '9',
      CONCLAVE_TERM: '4',
      CONCLAVE_LEADER_ID: 'id-a',
      CONCLAVE_LEADER_NAME: 'a',
      CONCLAVE_NODE_NAME: 'a',
      CONCLAVE_ROLE: 'leader',
      CONCLAVE_PREVIOUS_LEADER: 'b',
    });
    const none = hookEnv({ hook: 'onFollower', view: view('follower', 0, null), previousLeader: null }, 'a');
    assert.deepEqual([none.CONCLAVE_LEADER_ID, none.CONCLAVE_LEADER_NAME, none.CONCLAVE_PREVIOUS_LEADER], ['', '', '']);
  });
});

describe('the output tail of a run', () => {
  it('keeps everything under the limit', () => {
    const tail = new OutputTail(100);
    tail.push(Buffer.from('one\n'));
    tail.push(Buffer.from('two\n'));
    assert.equal(tail.text(), 'one\ntwo');
  });

  it('keeps the last bytes, starting at a whole line, marked as cut', () => {
    const tail = new OutputTail(16);
    for (let i = 1; i <= 50; i++) tail.push(Buffer.from(`line ${i}\n`));
    assert.equal(tail.text(), '…line 49\nline 50');
  });
});
