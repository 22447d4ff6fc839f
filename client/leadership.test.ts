/** LeadershipTracker: when a program beside the daemon may believe it leads, and when it must stop. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FakeControlSource, PEER_ID, SELF_ID } from '../daemon/api/testing.js';
import { stampEvent } from '../daemon/api/event-codec.js';
import type { ApiEvent, LeaderResponse } from '../daemon/api/types.js';
import type { NodeEvent } from '../protocols/host/events.js';
import { leaderLeaseMs } from '../protocols/lease.js';
import { LeadershipTracker, type LeadershipEffect } from './leadership.js';

const SELF = { id: SELF_ID, name: 'alpha' };
const PEER = { id: PEER_ID, name: 'beta' };

function leadingTracker(nowMs = 0): { tracker: LeadershipTracker; source: FakeControlSource } {
  const source = new FakeControlSource();
  const tracker = new LeadershipTracker();
  tracker.snapshot(source.status(), nowMs, nowMs);
  return { tracker, source };
}

const ev = (event: NodeEvent): ApiEvent => stampEvent(event);
/** The fake daemon reports 2500 ms of lease; this side counts it shortened by the clock-drift bound. */
const LEASE = leaderLeaseMs(2500);
const kinds = (effects: LeadershipEffect[]) => effects.map((e) => (e.kind === 'stopped' ? `stopped:${e.reason}` : e.kind));

describe('LeadershipTracker', () => {
  it('a snapshot of a leader with a lease starts a reign with its token; the lease deadline counts from when the question left, shortened by the drift bound', () => {
    const { tracker } = leadingTracker(1000);
    const effects = tracker.drain();
    assert.deepEqual(kinds(effects), ['new-leader', 'started']);
    assert.deepEqual(effects[1], { kind: 'started', leadership: { fencingToken: 11, term: 3, leader: SELF, node: SELF } });
    assert.ok(LEASE < 2500 && LEASE > 2350, String(LEASE));
    assert.equal(tracker.nextDeadlineMs(), 1000 + LEASE);
    assert.ok(tracker.wantsLease());
  });

  it('the lease running out without a fresh answer ends the reign (lease-expired); a renewal before it keeps it', () => {
    const { tracker, source } = leadingTracker(0);
    tracker.drain();
    assert.deepEqual(tracker.pollOptions(1000), { waitMs: Math.floor((LEASE - 1000) / 2), after: 100 });
    assert.equal(tracker.answer(source.leader(), 1000, 1005), true);
    tracker.tick(1000 + LEASE - 1);
    assert.deepEqual(tracker.drain(), [], 'renewed at 1000 until 1000 + LEASE');
    tracker.tick(1000 + LEASE);
    assert.deepEqual(kinds(tracker.drain()), ['stopped:lease-expired']);
    assert.equal(tracker.leading, null);
    assert.ok(tracker.wantsLease(), 'the daemon still claims it: ask again');
    tracker.answer(source.leader(), 3600, 3601);
    assert.deepEqual(kinds(tracker.drain()), ['started'], 'a fresh answer with a lease starts it again');
  });

  it('leader-changed to another node stops at once (lost) and names the new leader', () => {
    const { tracker, source } = leadingTracker();
    tracker.drain();
    source.changeLeader('beta', PEER_ID);
    tracker.event(ev({ type: 'leader-changed', from: SELF, to: PEER, term: 4, fencingToken: 12, leaderlessMs: 0 }), 10);
    const effects = tracker.drain();
    assert.deepEqual(kinds(effects), ['stopped:lost', 'new-leader']);
    assert.deepEqual(effects[1], { kind: 'new-leader', leader: { leader: PEER, term: 4, fencingToken: 12 } });
    assert.equal(tracker.wantsLease(), false);
  });

  it('role-changed and stepped-down end the reign; events of other kinds change nothing', () => {
    for (const event of [
      ev({ type: 'role-changed', from: 'leader', to: 'follower', term: 3 }),
      ev({ type: 'stepped-down', term: 3, reason: 'check-quorum' }),
    ]) {
      const { tracker } = leadingTracker();
      tracker.drain();
      tracker.event(ev({ type: 'heartbeat-late', lateMs: 5 }), 5);
      assert.deepEqual(tracker.drain(), []);
      tracker.event(event, 10);
      assert.deepEqual(kinds(tracker.drain()).slice(0, 1), ['stopped:lost'], event.type);
    }
  });

  it('this node re-elected under a new token: the old reign stops (term-changed) and the new one starts only with a fresh lease', () => {
    const { tracker } = leadingTracker();
    tracker.drain();
    tracker.event(ev({ type: 'leader-changed', from: SELF, to: SELF, term: 4, fencingToken: 12, leaderlessMs: 0 }), 10);
    assert.deepEqual(kinds(tracker.drain()), ['stopped:lost', 'new-leader']);
    assert.ok(tracker.wantsLease());
    assert.deepEqual(tracker.pollOptions(11), { waitMs: 0 });
    const reply: LeaderResponse = { leader: SELF, term: 4, fencingToken: 12, role: 'leader', leaseRemainingMs: 2000, revision: 101 };
    tracker.answer(reply, 11, 12);
    const effects = tracker.drain();
    assert.deepEqual(effects, [{ kind: 'started', leadership: { fencingToken: 12, term: 4, leader: SELF, node: SELF } }]);
  });

  it('an answer to a question sent before a leadership event is ignored: it may predate the loss', () => {
    const { tracker, source } = leadingTracker();
    tracker.drain();
    tracker.event(ev({ type: 'role-changed', from: 'leader', to: 'follower', term: 3 }), 50);
    tracker.drain();
    assert.equal(tracker.answer(source.leader(), 40, 60), false, 'sent at 40, before the event at 50');
    assert.deepEqual(tracker.drain(), []);
    assert.equal(tracker.leading, null);
  });

  it('the daemon gone (connection refused) ends the reign at once, without waiting for the lease', () => {
    const { tracker } = leadingTracker();
    tracker.drain();
    tracker.gone(5);
    assert.deepEqual(kinds(tracker.drain()), ['stopped:daemon-gone']);
    assert.equal(tracker.wantsLease(), false);
  });

  it('a follower never starts; a node that leads with no lease reported (an older daemon) does not either', () => {
    const source = new FakeControlSource();
    source.leaderNow = { ...source.leaderNow, role: 'follower', leader: PEER, leaseRemainingMs: null };
    const tracker = new LeadershipTracker();
    tracker.snapshot(source.status(), 0, 0);
    assert.deepEqual(kinds(tracker.drain()), ['new-leader']);
    const lease = new FakeControlSource();
    lease.leaderNow = { ...lease.leaderNow, leaseRemainingMs: null };
    const other = new LeadershipTracker();
    other.snapshot(lease.status(), 0, 0);
    assert.equal(other.leading, null);
  });

  it('close() ends a reign (closed) and nothing starts afterwards', () => {
    const { tracker, source } = leadingTracker();
    tracker.drain();
    tracker.close(1);
    assert.deepEqual(kinds(tracker.drain()), ['stopped:closed']);
    tracker.answer(source.leader(), 2, 3);
    assert.deepEqual(tracker.drain(), []);
    assert.equal(tracker.wantsLease(), false);
  });
});
