/**
 * Configuration changes (thesis chapter 4, one server at a time) and Consul-style autopilot:
 * learners that join later, promotion after stabilizationMs up to maxVoters, dead voters replaced
 * or removed after deadVoterRemoveMs but never below minQuorum, operator removal (also of the
 * leader itself), forget, and commands relayed from followers.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RAFT_COMMAND_ERRORS } from './commands.js';
import { DEFAULT_RAFT_CONFIG, type RaftConfig } from './config.js';
import { RELAY_BOUND_TIMEOUTS, RELAY_ERRORS } from './relay.js';
import { RaftNet } from './testing.js';

const T = DEFAULT_RAFT_CONFIG.electionTimeoutMs;
/** Shorter waits than the daemon's, so tests run in little virtual time; the rules are the same. */
const C: RaftConfig = { ...DEFAULT_RAFT_CONFIG, stabilizationMs: 2000, deadVoterRemoveMs: 5000 };

function startWith(ids: string[], bootstrap: string[], config: RaftConfig = C): { net: RaftNet; leader: string } {
  const net = new RaftNet(ids, config, 1, bootstrap.length);
  net.start(...bootstrap);
  assert.ok(net.advanceUntil(() => net.agreedLeader() !== null, 3 * T));
  return { net, leader: net.agreedLeader()! };
}

const voters = (net: RaftNet, id: string) => net.machine(id).raftStatus().voters;
const learners = (net: RaftNet, id: string) => net.machine(id).raftStatus().learners;
const code = (r: ReturnType<RaftNet['run']>) => (r.ok ? 'ok' : r.code);

/** Indexes of configuration entries above the commit index in `id`'s log. */
function uncommittedConfigs(net: RaftNet, id: string): number[] {
  const s = net.machine(id).raftStatus();
  return net.machine(id).logEntries().filter((e) => e.data.kind === 'config' && e.index > s.commitIndex).map((e) => e.index);
}

describe('§4.1 configuration entries', () => {
  it('"a server always uses the latest configuration in its log, regardless of whether the entry is committed"; and one change at a time: nothing more is proposed while one is uncommitted', () => {
    const { net, leader } = startWith(['a', 'b', 'c', 'd', 'e'], ['a', 'b', 'c']);
    // From now on no acknowledgement reaches the leader: nothing it appends commits.
    net.drop((m) => m.message.type === 'APPEND_RESPONSE');
    net.start('d', 'e');
    net.advance(3 * DEFAULT_RAFT_CONFIG.heartbeatIntervalMs);
    for (const id of ['a', 'b', 'c']) {
      assert.deepEqual(learners(net, id), ['d'], `${id} uses the uncommitted configuration`);
      assert.equal(uncommittedConfigs(net, id).length, 1);
    }
    assert.ok(net.effects.some((e) => e.node !== leader && e.effect.type === 'configuration-changed' && e.effect.learners.includes('d')), 'followers report the change when it reaches their log');
    net.recover();
    assert.ok(net.advanceUntil(() => learners(net, leader).includes('e'), T), 'e follows once d is committed');
    assert.ok(uncommittedConfigs(net, leader).length <= 1);
  });

  it('the single-server change bug fix (Ongaro, raft-dev 2015): a leader proposes no configuration change before it committed an entry of its own term', () => {
    const { net, leader } = startWith(['a', 'b', 'c', 'd'], ['a', 'b', 'c']);
    const [y] = ['a', 'b', 'c'].filter((id) => id !== leader);
    const term0 = net.machine(leader).raftStatus().term;
    // Nothing sent by a leader of a later term is acknowledged: its record never commits.
    net.drop((m) => m.message.type === 'APPEND_RESPONSE' && (net.node(m.to).machine?.raftStatus().term ?? 0) > term0);
    assert.equal(net.run(leader, { kind: 'transfer', to: y! }).ok, true);
    net.start('d');
    net.advance(T / 2);
    const s = net.machine(y!).raftStatus();
    assert.equal(s.role, 'leader');
    assert.ok(s.commitIndex < s.lastIndex, 'its record is not committed');
    assert.ok(!net.machine(y!).logEntries().some((e) => e.term === s.term && e.data.kind === 'config'), 'so it proposed no change');
    net.recover();
    assert.ok(net.advanceUntil(() => learners(net, y!).includes('d'), T), 'once it is, d is added');
  });
});

describe('learners and promotion (autopilot)', () => {
  it('a 4th node joins as a learner, never asked for votes, and is promoted once alive and caught up for stabilizationMs', () => {
    const { net, leader } = startWith(['a', 'b', 'c', 'd'], ['a', 'b', 'c']);
    net.start('d');
    const joinedAt = net.nowMs;
    assert.ok(net.advanceUntil(() => learners(net, leader).includes('d'), T));
    assert.deepEqual(voters(net, leader), ['a', 'b', 'c']);
    assert.ok(net.advanceUntil(() => voters(net, leader).includes('d'), C.stabilizationMs + T));
    assert.ok(net.nowMs - joinedAt >= C.stabilizationMs, `promoted after ${net.nowMs - joinedAt} ms`);
    net.advance(2 * DEFAULT_RAFT_CONFIG.heartbeatIntervalMs);
    for (const id of ['a', 'b', 'c', 'd']) assert.deepEqual([voters(net, id), learners(net, id)], [['a', 'b', 'c', 'd'], []]);
    assert.ok(!net.sent.some((m) => m.to === 'd' && m.message.type === 'VOTE'));
  });

  it('a learner whose membership state changed (a flap) waits stabilizationMs again from then', () => {
    const { net, leader } = startWith(['a', 'b', 'c', 'd'], ['a', 'b', 'c']);
    net.start('d');
    net.advance(C.stabilizationMs - 500);
    net.crash('d');
    net.start('d');
    const backAt = net.nowMs;
    assert.ok(net.advanceUntil(() => voters(net, leader).includes('d'), C.stabilizationMs + T));
    assert.ok(net.nowMs - backAt >= C.stabilizationMs);
  });

  it('maxVoters caps the voters: 7 nodes make 5 voters and 2 learners', () => {
    const ids = ['a', 'b', 'c', 'd', 'e', 'f', 'g'];
    const { net, leader } = startWith(ids, ['a', 'b', 'c']);
    net.start('d', 'e', 'f', 'g');
    net.advance(4 * C.stabilizationMs);
    assert.equal(voters(net, leader).length, 5);
    assert.equal(learners(net, leader).length, 2);
    assert.deepEqual([...voters(net, leader), ...learners(net, leader)].sort(), ids);
  });
});

describe('dead voters', () => {
  it('a voter that left is kept for deadVoterRemoveMs (a restart is the common case), then replaced by a caught-up learner: promote first, then remove', () => {
    const config = { ...C, maxVoters: 3 };
    const { net, leader } = startWith(['a', 'b', 'c', 'd'], ['a', 'b', 'c'], config);
    net.start('d');
    net.advance(config.stabilizationMs + T);
    assert.deepEqual(learners(net, leader), ['d'], 'maxVoters 3 keeps d a learner');
    const [gone] = ['a', 'b', 'c'].filter((id) => id !== leader);
    const from = net.effects.length;
    net.leave(gone!);
    const leftAt = net.nowMs;
    net.onStep = () => assert.ok(voters(net, leader).length >= config.minQuorum, `voters ${voters(net, leader)}`);
    net.advance(config.deadVoterRemoveMs - 500);
    assert.ok(voters(net, leader).includes(gone!), 'still a voter');
    assert.ok(net.advanceUntil(() => !voters(net, leader).includes(gone!), 2 * T));
    net.onStep = null;
    assert.ok(net.nowMs - leftAt >= config.deadVoterRemoveMs);
    assert.deepEqual(voters(net, leader), ['a', 'b', 'c', 'd'].filter((id) => id !== gone));
    const changes = net.effects.slice(from).filter((e) => e.node === leader && e.effect.type === 'configuration-changed').map((e) => (e.effect as { voters: string[] }).voters.length);
    assert.deepEqual(changes, [4, 3], 'd promoted, then the gone voter removed');
  });

  it('never below minQuorum: with no learner, 5 voters lose 2 dead ones down to 3, and 3 keep a dead one', () => {
    const ids = ['a', 'b', 'c', 'd', 'e'];
    const { net, leader } = startWith(ids, ids);
    const [x, y, z] = ids.filter((id) => id !== leader);
    net.crash(x!);
    net.crash(y!);
    assert.ok(net.advanceUntil(() => voters(net, leader).length === 3, C.deadVoterRemoveMs + 3 * T));
    assert.deepEqual(voters(net, leader), ids.filter((id) => id !== x && id !== y));
    net.crash(z!);
    net.advance(2 * C.deadVoterRemoveMs);
    assert.deepEqual(voters(net, leader), ids.filter((id) => id !== x && id !== y));
  });

  it('a dead voter that comes back after its removal rejoins as a learner', () => {
    const ids = ['a', 'b', 'c', 'd', 'e'];
    const { net, leader } = startWith(ids, ids);
    const [x] = ids.filter((id) => id !== leader);
    net.crash(x!);
    assert.ok(net.advanceUntil(() => !voters(net, leader).includes(x!), C.deadVoterRemoveMs + 2 * T));
    net.start(x!);
    assert.ok(net.advanceUntil(() => voters(net, leader).includes(x!), C.stabilizationMs + 2 * T), 'added as a learner, then promoted');
  });
});

describe('remove and forget', () => {
  it('§4.2.2 removing the leader: it answers once the configuration without it commits, steps down with reason removed, another voter leads, and it never campaigns again', () => {
    const ids = ['a', 'b', 'c'];
    const { net, leader } = startWith(ids, ids);
    assert.equal(code(net.run(leader, { kind: 'remove', id: leader })), 'ok');
    const sentAtRemoval = net.sent.length;
    assert.ok(net.effects.some((e) => e.node === leader && e.effect.type === 'stepped-down' && e.effect.reason === 'removed'));
    assert.ok(net.advanceUntil(() => net.agreedLeader() !== null, T));
    const next = net.agreedLeader()!;
    assert.notEqual(next, leader);
    assert.deepEqual(voters(net, next), ids.filter((id) => id !== leader));
    net.advance(5 * T);
    assert.ok(!net.sent.slice(sentAtRemoval).some((m) => m.from === leader && m.message.type === 'VOTE'));
    assert.equal(net.summary(leader)!.leader, next, 'it follows the new leader as a non-member');
  });

  it('a removed node that keeps running is not re-added; once it restarts it rejoins as a learner', () => {
    const ids = ['a', 'b', 'c', 'd'];
    const { net, leader } = startWith(ids, ids);
    const [x] = ids.filter((id) => id !== leader);
    assert.equal(code(net.run(x!, { kind: 'remove', id: x! })), 'ok', 'relayed from the node itself (conclave leave)');
    net.advance(2 * C.stabilizationMs);
    assert.ok(!voters(net, leader).includes(x!) && !learners(net, leader).includes(x!));
    net.crash(x!);
    net.advance(100);
    net.start(x!);
    assert.ok(net.advanceUntil(() => learners(net, leader).includes(x!) || voters(net, leader).includes(x!), T));
  });

  it('a new leader also holds back the nodes the newest configuration entry removed', () => {
    const ids = ['a', 'b', 'c', 'd'];
    const { net, leader } = startWith(ids, ids);
    const [x, y] = ids.filter((id) => id !== leader);
    assert.equal(code(net.run(leader, { kind: 'remove', id: x! })), 'ok');
    assert.equal(net.run(leader, { kind: 'transfer', to: y! }).ok, true);
    assert.ok(net.advanceUntil(() => net.agreedLeader() === y, T));
    net.advance(2 * C.stabilizationMs);
    assert.ok(!learners(net, y!).includes(x!) && !voters(net, y!).includes(x!));
  });

  it('forget removes a member membership holds dead, relayed from a follower; a live one is refused with member-alive', () => {
    const ids = ['a', 'b', 'c', 'd', 'e'];
    const { net, leader } = startWith(ids, ids);
    const [x, y] = ids.filter((id) => id !== leader);
    assert.equal(code(net.run(y!, { kind: 'forget', id: x! })), RAFT_COMMAND_ERRORS.memberAlive);
    net.crash(x!);
    assert.equal(code(net.run(y!, { kind: 'forget', id: x! })), 'ok');
    assert.ok(!voters(net, leader).includes(x!));
    assert.equal(code(net.run(y!, { kind: 'forget', id: 'stranger' })), RAFT_COMMAND_ERRORS.notAMember);
  });

  it('the only voter cannot be removed', () => {
    const net = new RaftNet(['a'], C, 1, 1);
    net.start('a');
    assert.ok(net.advanceUntil(() => net.agreedLeader() === 'a', T));
    assert.equal(code(net.run('a', { kind: 'remove', id: 'a' })), RAFT_COMMAND_ERRORS.lastVoter);
  });
});

describe('relayed commands', () => {
  it('a follower relays transfer and resign to the leader and answers with its result', () => {
    const ids = ['a', 'b', 'c'];
    const { net, leader } = startWith(ids, ids);
    const [x] = ids.filter((id) => id !== leader);
    assert.equal(code(net.run(x!, { kind: 'transfer', to: x! })), 'ok');
    assert.ok(net.advanceUntil(() => net.agreedLeader() === x, T));
    assert.equal(code(net.run(leader, { kind: 'resign' })), 'ok', 'the old leader, now a follower, relays resign');
    assert.ok(net.advanceUntil(() => net.agreedLeader() !== null && net.agreedLeader() !== x, 2 * T));
  });

  it('without a known leader the answer is no-leader at once; without an answer, timeout within the bound', () => {
    const lone = new RaftNet(['a', 'b', 'c'], C);
    lone.start('a');
    assert.equal(code(lone.run('a', { kind: 'resign' }, 10)), RELAY_ERRORS.noLeader);
    const ids = ['a', 'b', 'c'];
    const { net, leader } = startWith(ids, ids);
    const [x] = ids.filter((id) => id !== leader);
    net.drop((m) => m.message.type === 'COMMAND');
    const asked = net.nowMs;
    assert.equal(code(net.run(x!, { kind: 'resign' }, (RELAY_BOUND_TIMEOUTS + 1) * T)), RELAY_ERRORS.timeout);
    assert.ok(net.nowMs - asked <= RELAY_BOUND_TIMEOUTS * T + net.tickMs);
  });

  it('a follower that restarted relays again: its request ids do not repeat those of its previous life, which the leader drops as duplicates', () => {
    const ids = ['a', 'b', 'c'];
    const { net, leader } = startWith(ids, ids);
    const [x] = ids.filter((id) => id !== leader);
    assert.equal(code(net.run(x!, { kind: 'transfer', to: leader })), 'ok');
    net.crash(x!);
    net.start(x!);
    assert.ok(net.advanceUntil(() => net.machine(x!).raftStatus().leader === leader, T));
    assert.equal(code(net.run(x!, { kind: 'transfer', to: leader })), 'ok');
  });

  it('a COMMAND from a node outside the configuration is refused as not-a-member', () => {
    const ids = ['a', 'b', 'c'];
    const { net, leader } = startWith(ids, ids);
    const effects = net.inject('stranger', leader, { type: 'COMMAND', requestId: 1, command: { kind: 'resign' } });
    assert.deepEqual(effects.map((e) => (e.type === 'refused' ? e.reason : e.type)), ['not-a-member']);
    assert.equal(net.agreedLeader(), leader);
  });
});
