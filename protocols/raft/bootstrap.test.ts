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

  it('never once any member gossips a fencing token: a configuration exists, a newcomer learns it from the leader', () => {
    assert.equal(bootstrapSet('a', 3, [...view.slice(0, 2), member('c', { fencingToken: 2 })]), null);
  });
});
