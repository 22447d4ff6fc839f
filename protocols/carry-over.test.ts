/** What one protocol's state obliges another that starts on the same node (carry-over.ts). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { INITIAL_BULLY_STATE } from './bully/messages.js';
import { bullyCarryOver, combineCarryOver, raftCarryOver } from './carry-over.js';
import { INITIAL_RAFT_STATE } from './raft/durable.js';

describe('carry-over', () => {
  it('Bully: the higher of its accepted and seen epochs, and the grant it would honour after a restart', () => {
    const state = { ...INITIAL_BULLY_STATE, acceptedEpoch: 5, acceptedLeader: 'l', leaseTo: 'l', highestEpochSeen: 8 };
    assert.deepEqual(bullyCarryOver(state, 3000), { tokenFloor: 8, leaseTo: 'l', holdMs: 3000 });
  });

  it('Raft: the highest of its term, floor and newest leader record; the record\'s leader, or a later vote', () => {
    const hard = { ...INITIAL_RAFT_STATE, term: 7, votedFor: 'l', fencingFloor: 7 };
    assert.deepEqual(raftCarryOver(hard, { term: 7, leader: 'l' }, 1000), { tokenFloor: 7, leaseTo: 'l', holdMs: 1000 });
    // It voted for c in term 9, after l's record of term 7: c may have won with that vote.
    assert.equal(raftCarryOver({ ...hard, term: 9, votedFor: 'c' }, { term: 7, leader: 'l' }, 1000).leaseTo, 'c');
    assert.equal(raftCarryOver({ ...hard, term: 9, votedFor: null }, { term: 7, leader: 'l' }, 1000).leaseTo, 'l');
    assert.equal(raftCarryOver(INITIAL_RAFT_STATE, null, 1000).leaseTo, null, 'a node that never voted or appended promised no one');
    assert.equal(raftCarryOver({ ...INITIAL_RAFT_STATE, term: 3 }, { term: 12, leader: 'l' }, 1000).tokenFloor, 12, 'a record above the stored term (written before the term)');
  });

  it('combined: the highest floor of all; the promise only of the one that ran last', () => {
    const a = { tokenFloor: 4, leaseTo: 'x', holdMs: 3000 };
    const b = { tokenFloor: 9, leaseTo: 'y', holdMs: 1000 };
    assert.deepEqual(combineCarryOver([a, b], a), { tokenFloor: 9, leaseTo: 'x', holdMs: 3000 });
    assert.deepEqual(combineCarryOver([a, b], null), { tokenFloor: 9, leaseTo: null, holdMs: 0 });
  });
});
