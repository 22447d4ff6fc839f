/**
 * Bully under hostile input (issue 8): a stranger that never joined and a rogue member (a puppet
 * the test speaks for, seen alive by everyone) try what a security tester tried against the
 * daemons. None of it may move leadership, inflate epochs or shrink the cluster.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MAX_COUNTER, MAX_EPOCH_JUMP } from '../bounds.js';
import type { ElectionMember } from '../election.js';
import { createRng } from '../rng.js';
import { createBully } from './bully.js';
import { BullyNet, specs, TEST_BULLY_CONFIG } from './testing.js';

const settled = TEST_BULLY_CONFIG.settleMs + 3 * TEST_BULLY_CONFIG.answerTimeoutMs + 500;

/** n1..n5 led by n5, plus x: a member by gossip, lowest rank, that runs no honest machine. */
function withRogue(): BullyNet {
  const net = new BullyNet([...specs(5), { id: 'x', priority: -1, puppet: true }], TEST_BULLY_CONFIG, 1, 5);
  net.start();
  net.advance(settled);
  assert.equal(net.agreedLeader(), 'n5');
  return net;
}

function refusals(effects: ReturnType<BullyNet['inject']>): string[] {
  return effects.flatMap((e) => (e.type === 'refused' ? [e.reason] : []));
}

describe('bully: hostile input', () => {
  it('a frame from a peer that is not a live member is refused and changes nothing', () => {
    const net = withRogue();
    const before = net.disk('n3');
    const effects = net.inject('stranger', 'n3', { type: 'COORDINATOR', epoch: 2 ** 40, kind: 'takeover', round: 1, leaseMs: 0 });
    assert.deepEqual(refusals(effects), ['not-a-member']);
    assert.deepEqual(net.disk('n3'), before);
    assert.equal(net.agreedLeader(), 'n5');
  });

  it('an epoch far beyond the cluster\'s is refused, so one message cannot exhaust the token space', () => {
    const net = withRogue();
    const term = net.summary('n3')!.term;
    assert.deepEqual(refusals(net.inject('x', 'n3', { type: 'ANSWER', epoch: MAX_COUNTER })), ['epoch-out-of-range']);
    assert.deepEqual(refusals(net.inject('x', 'n3', { type: 'COORDINATOR', epoch: term + MAX_EPOCH_JUMP + 1, kind: 'takeover', round: 1, leaseMs: 0 })), ['epoch-out-of-range']);
    assert.equal(net.disk('n3')!.highestEpochSeen, term);
    net.advance(5000);
    assert.equal(net.agreedLeader(), 'n5');
    assert.equal(net.summary('n5')!.term, term);
  });

  it('a renewal from a member that never won is refused by the leader and by every bound member', () => {
    const net = withRogue();
    const term = net.summary('n5')!.term;
    for (const id of ['n5', 'n1', 'n3']) {
      const sent = net.inject('x', id, { type: 'COORDINATOR', epoch: term + 1, kind: 'renew', round: 1, leaseMs: 3000 });
      assert.ok(sent.some((e) => e.type === 'send' && e.message.type === 'REJECT'), `${id} rejects`);
    }
    net.advance(5000);
    assert.equal(net.agreedLeader(), 'n5');
    assert.equal(net.summary('n5')!.term, term);
  });

  it('claims and takeovers from a member, even a burst at rising epochs, neither depose the leader nor move the token', () => {
    const net = withRogue();
    const term = net.summary('n5')!.term;
    for (let i = 0; i < 200; i++) {
      const kind = i % 2 === 0 ? 'claim' : 'takeover';
      net.inject('x', `n${(i % 5) + 1}`, { type: 'COORDINATOR', epoch: term + 1 + i, kind, round: 1, leaseMs: 0 });
    }
    net.advance(5000);
    assert.equal(net.agreedLeader(), 'n5');
    assert.equal(net.summary('n5')!.fencingToken, term);
  });

  it('a TRANSFER from anyone but the leader, a RELEASE not ours, a REJECT and an ELECTION from a member change nothing', () => {
    const net = withRogue();
    const term = net.summary('n5')!.term;
    net.inject('x', 'n4', { type: 'TRANSFER', epoch: term + 5 });
    net.inject('x', 'n3', { type: 'RELEASE', epoch: term });
    net.inject('x', 'n5', { type: 'REJECT', epoch: term + 3, leader: 'x' });
    net.inject('x', 'n2', { type: 'ELECTION', epoch: term, forced: true });
    net.advance(5000);
    assert.equal(net.agreedLeader(), 'n5');
    assert.equal(net.summary('n5')!.term, term);
  });

  it('a member gossiping that it leads is asked, never followed, and does not stop the next election', () => {
    const net = withRogue();
    net.puppetSummary = { role: 'leader', term: net.summary('n5')!.term + 1, leader: 'x', fencingToken: net.summary('n5')!.term + 1 };
    net.refresh();
    net.advance(2000);
    assert.equal(net.agreedLeader(), 'n5', 'gossip does not depose the leader');
    net.crash('n5');
    net.advance(8000);
    assert.equal(net.agreedLeader(), 'n4', 'the survivors elect among themselves');
    assert.ok(net.sent.some((m) => m.to === 'x' && m.message.type === 'ELECTION'), 'x was asked');
    for (const id of ['n1', 'n2', 'n3', 'n4']) assert.notEqual(net.summary(id)!.leader, 'x');
  });

  it('FORGET from a member is obeyed only for a member the receiver also sees gone', () => {
    const net = withRogue();
    net.inject('x', 'n3', { type: 'FORGET', epoch: net.summary('n3')!.term, id: 'n2' });
    assert.ok(net.disk('n3')!.members.includes('n2'), 'n2 is alive: not forgotten');
    net.crash('n1');
    net.advance(1000);
    net.inject('x', 'n3', { type: 'FORGET', epoch: net.summary('n3')!.term, id: 'n1' });
    assert.ok(!net.disk('n3')!.members.includes('n1'), 'n1 is dead at n3: forgotten');
  });
});

describe('bully: forget', () => {
  it('an operator forgets a dead member on every live member; a live one is refused', () => {
    const net = withRogue();
    const alive = net.run('n3', { kind: 'forget', id: 'n2' });
    assert.ok(!alive.ok && alive.code === 'member-alive');
    net.crash('n1');
    net.advance(1000);
    const result = net.run('n3', { kind: 'forget', id: 'n1' });
    assert.ok(result.ok, JSON.stringify(result));
    assert.match(result.detail, /^forgot n1: the cluster size here went from 6 to 5, a majority is now 3; told 4 live member\(s\)/);
    for (const id of ['n2', 'n3', 'n4', 'n5']) assert.ok(!net.disk(id)!.members.includes('n1'), id);
  });
});

describe('bully: a place in the cluster size is earned', () => {
  const view = (ids: string[], sinceMs: number, dead: string[] = []): ElectionMember[] =>
    ids.map((id) => ({ id, name: id, state: dead.includes(id) ? 'dead' : 'alive', priority: 0, protocol: 'bully', self: id === 'n1', role: 'follower', term: 0, leader: null, fencingToken: 0, stateSinceMs: sinceMs }));

  it('identities that flickered for a few heartbeats are never remembered; members that stayed are', () => {
    const m = createBully({ selfId: 'n1', config: TEST_BULLY_CONFIG, bootstrapExpect: 3, rng: createRng(1), persisted: null, nowMs: 0 });
    m.step({ type: 'members', nowMs: 0, members: view(['n1', 'n2', 'n3', 'f1', 'f2', 'f3'], 0) });
    m.step({ type: 'members', nowMs: 1200, members: view(['n1', 'n2', 'n3', 'f1', 'f2', 'f3'], 0, ['f1', 'f2', 'f3']) });
    for (let t = 1200; t <= 2 * TEST_BULLY_CONFIG.leaseMs + 1000; t += 250) m.step({ type: 'tick', nowMs: t });
    const persisted = m.drain().flatMap((e) => (e.type === 'persist' && e.batch.hardState ? [e.batch.hardState] : []));
    assert.deepEqual(persisted.at(-1)?.members, ['n1', 'n2', 'n3']);
    assert.equal(m.status(7000).bootstrap.complete, true);
  });
});

describe('bully: a renewal never overrides a running grant', () => {
  const member = (id: string, extra: Partial<ElectionMember> = {}): ElectionMember => ({ id, name: id, state: 'alive', priority: 0, protocol: 'bully', self: id === 'n1', role: 'follower', term: 0, leader: null, fencingToken: 0, ...extra });
  const renew = (epoch: number) => ({ type: 'COORDINATOR' as const, epoch, kind: 'renew' as const, round: 1, leaseMs: 2800 });

  it('refused while the grant runs, followed the moment the old leader is known gone', () => {
    const m = createBully({ selfId: 'n1', config: TEST_BULLY_CONFIG, bootstrapExpect: 3, rng: createRng(1), persisted: null, nowMs: 0 });
    m.step({ type: 'members', nowMs: 0, members: [member('n1'), member('n2'), member('n3')] });
    m.step({ type: 'message', nowMs: 10, from: 'n3', message: renew(1) });
    assert.equal(m.summary(10).leader, 'n3');
    m.drain();
    m.step({ type: 'message', nowMs: 20, from: 'n2', message: renew(2) });
    assert.deepEqual(m.drain().flatMap((e) => (e.type === 'send' ? [e.message.type] : [])), ['REJECT']);
    assert.equal(m.summary(20).leader, 'n3', 'still bound to n3');
    // n3's connection resets: its grant ends, and the renewal that waited is followed at once.
    m.step({ type: 'members', nowMs: 25, members: [member('n1'), member('n2'), member('n3', { state: 'suspect', connectionLost: true })] });
    assert.equal(m.summary(25).leader, 'n2');
    assert.ok(m.drain().some((e) => e.type === 'send' && e.to === 'n2' && e.message.type === 'ACCEPT'));
  });
});
