import { test } from 'node:test';
import assert from 'node:assert/strict';
import { findDisagreement, findStaleLeaders, isSplitBrain, SPLIT_BRAIN_GRACE_MS } from './split-brain.js';
import { idOf, memberView } from './testing.js';

test('members that all follow one leader do not disagree', () => {
  const members = [memberView('alpha', { role: 'leader' }), memberView('bravo'), memberView('charlie')];
  assert.equal(findDisagreement(members, 'bully'), null);
});

test('two live members that both claim to lead are named as claimants', () => {
  const members = [
    memberView('alpha', { role: 'leader' }),
    memberView('bravo', { role: 'leader', leader: idOf('bravo') }),
    memberView('charlie'),
  ];
  const d = findDisagreement(members, 'bully');
  assert.deepEqual(d?.claimants.map((c) => c.name), ['alpha', 'bravo']);
});

test('members following different leaders form camps, the larger first', () => {
  const members = [
    memberView('alpha', { role: 'leader' }),
    memberView('bravo'),
    memberView('charlie', { leader: idOf('delta') }),
    memberView('delta', { leader: idOf('delta') }),
    memberView('echo', { leader: idOf('delta') }),
  ];
  const d = findDisagreement(members, 'bully');
  assert.deepEqual(
    d?.camps.map((c) => [c.leader.name, c.followers]),
    [
      ['delta', ['charlie', 'delta', 'echo']],
      ['alpha', ['alpha', 'bravo']],
    ],
  );
});

test('leaderless members, dead members and members on another protocol contradict no one', () => {
  const members = [
    memberView('alpha', { role: 'leader' }),
    memberView('bravo', { leader: null, role: 'candidate' }),
    memberView('charlie', { state: 'dead', role: 'leader', leader: idOf('charlie') }),
    memberView('delta', { protocol: 'raft', role: 'leader', leader: idOf('delta') }),
  ];
  assert.equal(findDisagreement(members, 'bully'), null);
});

test('a disagreement is a split brain only once it outlasts the grace period', () => {
  assert.equal(isSplitBrain(null, 5000), false);
  assert.equal(isSplitBrain(5000, 5000 + SPLIT_BRAIN_GRACE_MS - 1), false);
  assert.equal(isSplitBrain(5000, 5000 + SPLIT_BRAIN_GRACE_MS), true);
});

test('under raft a leader in an older term is a stale leader, not a split brain', () => {
  const members = [
    memberView('alpha', { protocol: 'raft', role: 'leader', term: 4, leader: idOf('alpha') }),
    memberView('bravo', { protocol: 'raft', role: 'leader', term: 5, leader: idOf('bravo') }),
    memberView('charlie', { protocol: 'raft', term: 5, leader: idOf('bravo') }),
  ];
  assert.equal(findDisagreement(members, 'raft'), null);
  assert.deepEqual(findStaleLeaders(members, 'raft'), [{ leader: { id: idOf('alpha'), name: 'alpha' }, term: 4, currentTerm: 5 }]);
});

test('under raft two leaders in the same term are still a split brain', () => {
  const members = [
    memberView('alpha', { protocol: 'raft', role: 'leader', term: 5, leader: idOf('alpha') }),
    memberView('bravo', { protocol: 'raft', role: 'leader', term: 5, leader: idOf('bravo') }),
  ];
  assert.deepEqual(findDisagreement(members, 'raft')?.claimants.map((c) => c.name), ['alpha', 'bravo']);
  assert.deepEqual(findStaleLeaders(members, 'raft'), []);
});

test('under bully terms do not excuse a second claimant, and there are no stale leaders', () => {
  const members = [memberView('alpha', { role: 'leader', term: 4 }), memberView('bravo', { role: 'leader', term: 5, leader: idOf('bravo') })];
  assert.deepEqual(findDisagreement(members, 'bully')?.claimants.map((c) => c.name), ['alpha', 'bravo']);
  assert.deepEqual(findStaleLeaders(members, 'bully'), []);
});
