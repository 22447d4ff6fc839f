/**
 * autopilot.ts on its own: which single change the leader proposes next, from a configuration, a
 * membership view and replication progress (Consul autopilot's rules; one server at a time, §4.1).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ElectionMember } from '../election.js';
import type { MemberState } from '../types.js';
import { applyChange, CAUGHT_UP_MAX_LAG, nextChange, nextPlanTimeMs, type AutopilotView } from './autopilot.js';

const CONFIG = { stabilizationMs: 10_000, maxVoters: 5, deadVoterRemoveMs: 60_000, minQuorum: 3 };
const NOW = 100_000;

function member(id: string, state: MemberState = 'alive', stateSinceMs = 0): ElectionMember {
  return { id, name: id, state, priority: 0, protocol: 'raft', self: id === 'a', role: 'follower', term: 1, leader: 'a', fencingToken: 1, stateSinceMs };
}

function view(voters: string[], learners: string[], members: ElectionMember[], over: Partial<AutopilotView> = {}): AutopilotView {
  const byId = new Map(members.map((m) => [m.id, m]));
  return {
    selfId: 'a',
    configuration: { voters, learners },
    members,
    nowMs: NOW,
    lastIndex: 10,
    match: () => 10,
    goneSinceMs: (id) => {
      const m = byId.get(id);
      return m && (m.state === 'dead' || m.state === 'left') ? (m.stateSinceMs ?? -Infinity) : null;
    },
    barred: () => false,
    config: CONFIG,
    ...over,
  };
}

const alive = (...ids: string[]) => ids.map((id) => member(id));

describe('autopilot: learners', () => {
  it('adds an alive raft member that is in no configuration as a learner, lowest id first; never a barred one', () => {
    const v = view(['a', 'b', 'c'], [], alive('a', 'b', 'c', 'e', 'd'));
    assert.deepEqual(nextChange(v), { kind: 'add-learner', id: 'd' });
    assert.deepEqual(nextChange({ ...v, barred: (id) => id === 'd' }), { kind: 'add-learner', id: 'e' });
    assert.equal(nextChange(view(['a', 'b', 'c'], [], [...alive('a', 'b', 'c'), member('d', 'suspect')])), null);
  });

  it('promotes a learner alive for stabilizationMs and caught up (within CAUGHT_UP_MAX_LAG), while voters < maxVoters', () => {
    const members = [...alive('a', 'b', 'c'), member('d', 'alive', NOW - CONFIG.stabilizationMs)];
    assert.deepEqual(nextChange(view(['a', 'b', 'c'], ['d'], members)), { kind: 'promote', id: 'd' });
    const young = [...alive('a', 'b', 'c'), member('d', 'alive', NOW - CONFIG.stabilizationMs + 1)];
    assert.equal(nextChange(view(['a', 'b', 'c'], ['d'], young)), null, 'not stable yet');
    assert.equal(nextChange(view(['a', 'b', 'c'], ['d'], members, { match: (id) => (id === 'd' ? 10 - CAUGHT_UP_MAX_LAG - 1 : 10) })), null, 'not caught up');
    assert.equal(nextChange(view(['a', 'b', 'c', 'e', 'f'], ['d'], [...members, ...alive('e', 'f')])), null, 'maxVoters reached');
  });

  it('removes a learner gone for deadVoterRemoveMs', () => {
    const members = [...alive('a', 'b', 'c'), member('d', 'dead', NOW - CONFIG.deadVoterRemoveMs)];
    assert.deepEqual(nextChange(view(['a', 'b', 'c'], ['d'], members)), { kind: 'remove', id: 'd' });
  });
});

describe('autopilot: dead voters', () => {
  const deadC = member('c', 'dead', NOW - CONFIG.deadVoterRemoveMs);

  it('nothing before deadVoterRemoveMs; `left` counts as dead after it', () => {
    assert.equal(nextChange(view(['a', 'b', 'c', 'd'], [], [...alive('a', 'b', 'd'), member('c', 'dead', NOW - CONFIG.deadVoterRemoveMs + 1)])), null);
    assert.deepEqual(nextChange(view(['a', 'b', 'c', 'd'], [], [...alive('a', 'b', 'd'), member('c', 'left', NOW - CONFIG.deadVoterRemoveMs)])), { kind: 'remove', id: 'c' });
  });

  it('promote first: a stable learner replaces the dead voter before it is removed', () => {
    const members = [...alive('a', 'b'), deadC, member('d', 'alive', 0)];
    const first = nextChange(view(['a', 'b', 'c'], ['d'], members));
    assert.deepEqual(first, { kind: 'promote', id: 'd' });
    const after = applyChange({ voters: ['a', 'b', 'c'], learners: ['d'] }, first!);
    assert.deepEqual(after, { voters: ['a', 'b', 'c', 'd'], learners: [] });
    assert.deepEqual(nextChange(view(after.voters, after.learners, members)), { kind: 'remove', id: 'c' });
  });

  it('never below minQuorum: 3 voters without a learner keep their dead one', () => {
    assert.equal(nextChange(view(['a', 'b', 'c'], [], [...alive('a', 'b'), deadC])), null);
    assert.equal(nextChange(view(['a', 'b', 'c'], [], [...alive('a', 'b'), deadC], { config: { ...CONFIG, minQuorum: 2 } }))?.kind, 'remove');
  });

  it('at most (voters - 1) / 2 gone: with 3 of 5 voters not alive, nothing is removed', () => {
    const members = [...alive('a', 'b'), deadC, member('d', 'dead', 0), member('e', 'suspect')];
    assert.equal(nextChange(view(['a', 'b', 'c', 'd', 'e'], [], members)), null);
  });

  it('at maxVoters live voters, a dead one is removed rather than a learner promoted', () => {
    const members = [...alive('a', 'b', 'd', 'e', 'f'), deadC, member('g', 'alive', 0)];
    assert.deepEqual(nextChange(view(['a', 'b', 'c', 'd', 'e', 'f'], ['g'], members)), { kind: 'remove', id: 'c' });
  });
});

describe('autopilot: when to look again', () => {
  it('the next moment a learner becomes stable or a gone member\'s wait ends; never now or before', () => {
    const members = [...alive('a', 'b', 'c'), member('d', 'alive', NOW - 4000), member('e', 'dead', NOW - 1000)];
    assert.equal(nextPlanTimeMs(view(['a', 'b', 'c', 'e'], ['d'], members)), NOW + CONFIG.stabilizationMs - 4000);
    const stable = [...alive('a', 'b', 'c'), member('d', 'alive', 0)];
    assert.equal(nextPlanTimeMs(view(['a', 'b', 'c'], ['d'], stable)), Infinity);
  });
});
