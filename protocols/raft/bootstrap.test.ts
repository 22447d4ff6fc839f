/** The bootstrap rule on its own (bootstrap.ts). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ElectionMember } from '../election.js';
import type { MemberState, ProtocolName } from '../types.js';
import { bootstrapSet as bootstrapSetOf } from './bootstrap.js';

/** maxVoters at its default, 5. */
const bootstrapSet = (selfId: string, expect: number, members: readonly ElectionMember[]) => bootstrapSetOf(selfId, expect, members, 5);

function member(id: string, over: { state?: MemberState; protocol?: ProtocolName; fencingToken?: number; self?: boolean } = {}): ElectionMember {
  return { id, name: id, state: 'alive', priority: 0, protocol: 'raft', self: false, role: 'follower', term: 0, leader: null, fencingToken: 0, ...over };
}

describe('bootstrapSet', () => {
  const view = [member('a', { self: true }), member('b'), member('c')];

  it('the lowest id of bootstrapExpect alive raft members campaigns for all of them, sorted', () => {
    assert.deepEqual(bootstrapSet('a', 3, view), ['a', 'b', 'c']);
    assert.equal(bootstrapSet('b', 3, view.map((m) => ({ ...m, self: m.id === 'b' }))), null, 'not the lowest');
  });

  it('of more members than expected, for all of them: five servers that all saw each other with bootstrapExpect 3 still form a cluster', () => {
    assert.deepEqual(bootstrapSet('a', 2, view), ['a', 'b', 'c']);
    assert.deepEqual(bootstrapSet('a', 3, [...view, member('d'), member('e')]), ['a', 'b', 'c', 'd', 'e']);
    assert.equal(bootstrapSet('c', 3, [...view, member('d'), member('e')].map((m) => ({ ...m, self: m.id === 'c' }))), null, 'not the lowest');
  });

  it('of more than maxVoters, the lowest ids that many (the rest join as learners), but never fewer than bootstrapExpect', () => {
    const seven = [...view, ...['d', 'e', 'f', 'g'].map((id) => member(id))];
    assert.deepEqual(bootstrapSet('a', 3, seven), ['a', 'b', 'c', 'd', 'e']);
    assert.deepEqual(bootstrapSetOf('a', 3, seven, 3), ['a', 'b', 'c']);
    assert.deepEqual(bootstrapSetOf('a', 7, seven, 5), ['a', 'b', 'c', 'd', 'e', 'f', 'g']);
  });

  it('not with fewer members than expected, and dead or bully members do not count', () => {
    assert.equal(bootstrapSet('a', 4, view), null);
    assert.equal(bootstrapSet('a', 3, [...view.slice(0, 2), member('c', { state: 'dead' })]), null);
    assert.equal(bootstrapSet('a', 3, [...view.slice(0, 2), member('c', { protocol: 'bully' })]), null);
    assert.deepEqual(bootstrapSet('a', 3, [...view, member('d', { state: 'dead' })]), ['a', 'b', 'c']);
  });

  it('not while the raft members are no majority of every live member: a few nodes switched by restart never form a cluster beside a Bully majority', () => {
    const bully = (id: string, state: MemberState = 'alive') => member(id, { protocol: 'bully', fencingToken: 7, state });
    // Three raft members of seven live ones (four still run Bully): no bootstrap, whatever bootstrapExpect says.
    assert.equal(bootstrapSet('a', 3, [...view, bully('d'), bully('e'), bully('f'), bully('g')]), null);
    assert.equal(bootstrapSet('a', 3, [...view, bully('d'), bully('e'), bully('f', 'suspect')]), null, 'half of six is no majority; a suspect member still counts');
    // Three of five (two still run Bully), or beside dead ones: they are the majority.
    assert.deepEqual(bootstrapSet('a', 3, [...view, bully('d'), bully('e')]), ['a', 'b', 'c']);
    assert.deepEqual(bootstrapSet('a', 3, [...view, bully('d'), bully('e', 'dead'), bully('f', 'dead'), bully('g', 'left')]), ['a', 'b', 'c']);
  });

  it('never once any member gossips a fencing token: a configuration exists, a newcomer learns it from the leader', () => {
    assert.equal(bootstrapSet('a', 3, [...view.slice(0, 2), member('c', { fencingToken: 2 })]), null);
  });
});
