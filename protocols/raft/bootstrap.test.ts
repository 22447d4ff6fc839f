/** The bootstrap rule on its own (bootstrap.ts). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ElectionMember } from '../election.js';
import type { MemberState, ProtocolName } from '../types.js';
import { bootstrapSet } from './bootstrap.js';

function member(id: string, over: { state?: MemberState; protocol?: ProtocolName; fencingToken?: number; self?: boolean } = {}): ElectionMember {
  return { id, name: id, state: 'alive', priority: 0, protocol: 'raft', self: false, role: 'follower', term: 0, leader: null, fencingToken: 0, ...over };
}

describe('bootstrapSet', () => {
  const view = [member('a', { self: true }), member('b'), member('c')];

  it('the lowest id of exactly bootstrapExpect alive raft members campaigns for all of them, sorted', () => {
    assert.deepEqual(bootstrapSet('a', 3, view), ['a', 'b', 'c']);
    assert.equal(bootstrapSet('b', 3, view.map((m) => ({ ...m, self: m.id === 'b' }))), null, 'not the lowest');
  });

  it('not with fewer or more members than expected, and dead or bully members do not count', () => {
    assert.equal(bootstrapSet('a', 4, view), null);
    assert.equal(bootstrapSet('a', 2, view), null);
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
