/** The log's lookups and the majority arithmetic, on their own (etcd-raft's log_test.go, quorum/). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RaftLog } from './log.js';
import type { RaftEntry } from './messages.js';
import { committedIndex, majorityOf, voteResult } from './quorum.js';

/** A log whose entry i + 1 has terms[i]. */
function logOf(terms: number[], committed = 0): RaftLog {
  const entries: RaftEntry[] = terms.map((term, i) => ({ index: i + 1, term, data: { kind: 'leader', leader: 'a', term } }));
  return new RaftLog(null, entries, committed);
}

describe('RaftLog', () => {
  it('§5.4.1 up-to-date comparison: last term first, then length', () => {
    const log = logOf([1, 2, 2]);
    assert.equal(log.isUpToDate(3, 2), true);
    assert.equal(log.isUpToDate(2, 2), false);
    assert.equal(log.isUpToDate(1, 3), true);
    assert.equal(log.isUpToDate(9, 1), false);
  });

  it('fast back-off: both sides find the last index at or below a term, skipping a whole term per round trip', () => {
    // Follower: terms 1 1 2 2 2 2; leader: terms 1 1 3 3 3 3 3.
    const follower = logOf([1, 1, 2, 2, 2, 2]);
    const leader = logOf([1, 1, 3, 3, 3, 3, 3]);
    // The leader probes prev (7, 3); the follower hints its last index <= 6 with term <= 3: 6 (term 2).
    const hint = follower.lastIndexAtOrBelowTerm(Math.min(7, follower.lastIndex()), 3);
    assert.deepEqual([hint, follower.term(hint)], [6, 2]);
    // The leader skips every entry of a term above 2: its next probe is prev 2, which matches.
    const probe = leader.lastIndexAtOrBelowTerm(hint, follower.term(hint)!);
    assert.equal(probe, 2);
    assert.equal(follower.matchTerm(probe, leader.term(probe)!), true);
  });

  it('truncation never reaches committed entries, and the commit index is clamped to the log', () => {
    const log = logOf([1, 1, 2], 5);
    assert.equal(log.committed, 3);
    assert.throws(() => log.truncateAfter(1));
    const open = logOf([1, 1, 2], 2);
    open.truncateAfter(2);
    assert.equal(open.lastIndex(), 2);
  });

  it('fast back-off into a compacted prefix points below the snapshot, so the leader sends it (sim seed 1745: the same probe a million times)', () => {
    const data = { v: 1 as const, configuration: { voters: ['a'], learners: [] }, leaderRecord: { leader: 'a', term: 3 } };
    const log = new RaftLog({ index: 4, term: 3, data }, [{ index: 5, term: 3, data: { kind: 'leader', leader: 'a', term: 3 } }], 5);
    // The follower holds index 4 at term 2: every entry the leader still holds is of a later term.
    assert.equal(log.lastIndexAtOrBelowTerm(4, 2), 3);
    assert.equal(log.term(3), null, 'compacted: the leader sends its snapshot');
    assert.equal(log.lastIndexAtOrBelowTerm(5, 3), 5);
  });

  it('finds this term\'s leader record and the newest committed one', () => {
    const log = logOf([1, 2, 3], 2);
    assert.deepEqual(log.leaderRecord(3), { index: 3, leader: 'a' });
    assert.equal(log.leaderRecord(4), null);
    assert.equal(log.committedLeaderTerm(), 2);
  });

  it('keeps its leader records indexed through truncation, compaction and install (no scan of the log per commit)', () => {
    const kv = (index: number, term: number): RaftEntry => ({ index, term, data: { kind: 'kv', op: { kind: 'put', key: 'k', value: String(index) }, origin: null } });
    const record = (index: number, term: number, leader: string): RaftEntry => ({ index, term, data: { kind: 'leader', leader, term } });
    const config: RaftEntry = { index: 2, term: 1, data: { kind: 'config', voters: ['a'], learners: [] } };
    const log = new RaftLog(null, [record(1, 1, 'a'), config, kv(3, 1), record(4, 2, 'b'), kv(5, 2)], 3);
    assert.deepEqual([log.lastLeaderTerm(), log.committedLeaderTerm()], [2, 1]);
    assert.deepEqual(log.leaderRecord(2), { index: 4, leader: 'b' });
    assert.deepEqual(log.leaderRecord(1), { index: 1, leader: 'a' });
    log.truncateAfter(3);
    assert.deepEqual([log.lastLeaderTerm(), log.leaderRecord(2)], [1, null], 'the truncated record is gone');
    log.append(record(4, 3, 'c'));
    log.append(kv(5, 3));
    log.committed = 5;
    assert.deepEqual([log.lastLeaderTerm(), log.committedLeaderTerm(), log.leaderRecord(3)], [3, 3, { index: 4, leader: 'c' }]);
    log.compact({ index: 4, term: 3, data: log.stateAt(4) });
    assert.deepEqual(log.stateAt(4).leaderRecord, { leader: 'c', term: 3 });
    assert.deepEqual([log.lastLeaderTerm(), log.committedLeaderTerm()], [3, 3], 'the compacted record lives on in the snapshot');
    assert.deepEqual(log.leaderRecord(3), { index: 4, leader: 'c' }, 'at the snapshot\'s index');
    assert.equal(log.leaderRecord(1), null);
    log.install({ index: 9, term: 4, data: { v: 1, configuration: { voters: ['a'], learners: [] }, leaderRecord: { leader: 'd', term: 4 } } });
    assert.deepEqual([log.lastLeaderTerm(), log.leaderRecord(4), log.leaderRecord(3)], [4, { index: 9, leader: 'd' }, null]);
  });
});

describe('quorum', () => {
  it('majorityOf', () => {
    assert.deepEqual([1, 2, 3, 4, 5, 6, 7].map(majorityOf), [1, 2, 2, 3, 3, 4, 4]);
  });

  it('committedIndex is the index a majority holds', () => {
    const match = new Map([['a', 5], ['b', 3], ['c', 1], ['d', 4], ['e', 0]]);
    assert.equal(committedIndex(['a', 'b', 'c', 'd', 'e'], (id) => match.get(id) ?? 0), 3);
    assert.equal(committedIndex(['a'], () => 7), 7);
    assert.equal(committedIndex(['a', 'b'], (id) => (id === 'a' ? 7 : 0)), 0);
  });

  it('voteResult: won with a majority, lost once a majority cannot be reached, votes of non-voters ignored', () => {
    const votes = (entries: [string, boolean][]) => new Map(entries);
    const voters = ['a', 'b', 'c'];
    assert.equal(voteResult(voters, votes([['a', true], ['b', true]])), 'won');
    assert.equal(voteResult(voters, votes([['a', true], ['b', false]])), 'pending');
    assert.equal(voteResult(voters, votes([['a', true], ['b', false], ['c', false]])), 'lost');
    assert.equal(voteResult(voters, votes([['a', true], ['x', true], ['y', true]])), 'pending');
  });
});
