/**
 * Raft's codecs and hostile input: a forged or malformed message is refused before or at the
 * machine, and none can push the term towards the end of its range or brick the log.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MAX_COUNTER, MAX_EPOCH_JUMP, MAX_NODE_ID_CHARS } from '../bounds.js';
import { raftPersistedCodec } from './durable.js';
import { DEFAULT_RAFT_CONFIG } from './config.js';
import { MAX_ENTRIES_PER_MESSAGE, raftMessageCodec, type RaftEntry, type RaftMessage } from './messages.js';
import { RaftNet } from './testing.js';

const leaderEntry = (index: number, term: number): RaftEntry => ({ index, term, data: { kind: 'leader', leader: 'a', term } });
const append = (over: Record<string, unknown> = {}) => ({ type: 'APPEND', term: 3, prevLogIndex: 1, prevLogTerm: 1, entries: [leaderEntry(2, 3)], leaderCommit: 1, round: 1, leaseMs: 900, ...over });

describe('raft codecs', () => {
  it('accepts every message type the machine sends', () => {
    for (const m of [
      { type: 'VOTE', term: 2, preVote: true, lastLogIndex: 1, lastLogTerm: 1, transfer: false },
      { type: 'VOTE_RESPONSE', term: 2, preVote: false, granted: true },
      append(),
      { type: 'APPEND_RESPONSE', term: 3, success: false, index: 4, hintIndex: 3, hintTerm: 2, round: 7 },
      { type: 'TIMEOUT_NOW', term: 3 },
      { type: 'COMMAND', requestId: 1, command: { kind: 'transfer', to: null } },
      { type: 'COMMAND', requestId: 2, command: { kind: 'remove', id: 'b' } },
      { type: 'COMMAND_RESULT', requestId: 2, result: { ok: true, detail: 'b removed committed at index 7' } },
      { type: 'COMMAND_RESULT', requestId: 3, result: { ok: false, code: 'member-alive', message: 'b is alive' } },
    ]) {
      assert.deepEqual(raftMessageCodec.parse(m), { ok: true, value: m });
    }
  });

  it('refuses counters beyond MAX_COUNTER, fractions, negative indexes and unknown fields', () => {
    for (const bad of [
      append({ term: MAX_COUNTER + 1 }),
      append({ prevLogIndex: -1 }),
      append({ leaderCommit: 1.5 }),
      append({ extra: true }),
      { type: 'VOTE', term: 0, preVote: true, lastLogIndex: 0, lastLogTerm: 0, transfer: false },
      { type: 'TIMEOUT_NOW', term: 2 ** 53 },
      { type: 'NOPE', term: 1 },
      { type: 'COMMAND', requestId: 1, command: { kind: 'elect' } },
      { type: 'COMMAND', requestId: -1, command: { kind: 'resign' } },
      { type: 'COMMAND', requestId: 1, command: { kind: 'remove', id: 'x'.repeat(MAX_NODE_ID_CHARS + 1) } },
      { type: 'COMMAND_RESULT', requestId: 1, result: { ok: false, code: 'x'.repeat(65), message: '' } },
      { type: 'COMMAND_RESULT', requestId: 1, result: { ok: false, code: 'Not A Code', message: '' } },
      { type: 'COMMAND_RESULT', requestId: 1, result: { ok: true, detail: 'x'.repeat(513) } },
    ]) {
      assert.equal(raftMessageCodec.parse(bad).ok, false, JSON.stringify(bad));
    }
  });

  it('refuses entry lists that could not come from a leader: too many, not consecutive, not after prevLogIndex, or above the message term', () => {
    const many = Array.from({ length: MAX_ENTRIES_PER_MESSAGE + 1 }, (_, i) => leaderEntry(i + 2, 3));
    for (const entries of [many, [leaderEntry(2, 3), leaderEntry(4, 3)], [leaderEntry(3, 3)], [leaderEntry(2, 4)], [leaderEntry(2, 3), leaderEntry(3, 2)]]) {
      assert.equal(raftMessageCodec.parse(append({ entries })).ok, false, JSON.stringify(entries.slice(0, 3)));
    }
    const longId = 'x'.repeat(MAX_NODE_ID_CHARS + 1);
    assert.equal(raftMessageCodec.parse(append({ entries: [{ index: 2, term: 3, data: { kind: 'leader', leader: longId, term: 3 } }] })).ok, false);
    assert.equal(raftMessageCodec.parse(append({ entries: [{ index: 2, term: 3, data: { kind: 'config', voters: [], learners: [] } }] })).ok, false, 'a configuration needs a voter');
  });

  it('the persisted codec refuses a fencing floor above the term, and reports the field', () => {
    assert.equal(raftPersistedCodec.parse({ v: 1, term: 3, votedFor: 'a', commit: 2, fencingFloor: 3 }).ok, true);
    const bad = raftPersistedCodec.parse({ v: 1, term: 3, votedFor: null, fencingFloor: 4 });
    assert.equal(bad.ok, false);
    assert.match(bad.ok ? '' : bad.reason, /^fencingFloor:/);
    assert.equal(raftPersistedCodec.parse({ v: 1, term: MAX_COUNTER + 1, votedFor: null, fencingFloor: 0 }).ok, false);
  });
});

describe('raft: hostile input', () => {
  it('a term far beyond the cluster\'s is refused and counted, so one message cannot exhaust the term space', () => {
    const net = new RaftNet(['a', 'b', 'c']);
    const leader = net.elect();
    const [x, y] = ['a', 'b', 'c'].filter((id) => id !== leader) as [string, string];
    const term = net.machine(x).raftStatus().term;
    for (const message of [
      { type: 'VOTE' as const, term: MAX_COUNTER, preVote: false, lastLogIndex: 99, lastLogTerm: 99, transfer: true },
      { type: 'TIMEOUT_NOW' as const, term: term + MAX_EPOCH_JUMP + 1 },
    ]) {
      const effects = net.inject(y, x, message);
      assert.deepEqual(effects.map((e) => (e.type === 'refused' ? e.reason : e.type)), ['epoch-out-of-range']);
    }
    assert.equal(net.machine(x).raftStatus().term, term);
    net.advance(2000);
    assert.equal(net.agreedLeader(), leader);
  });

  it('appends and votes from a node outside the configuration are refused as not-a-member and change nothing', () => {
    const net = new RaftNet(['a', 'b', 'c']);
    const leader = net.elect();
    const [x] = ['a', 'b', 'c'].filter((id) => id !== leader) as [string];
    const before = net.machine(x).logEntries();
    const term = net.machine(x).raftStatus().term;
    const forged = { type: 'APPEND' as const, term, prevLogIndex: 0, prevLogTerm: 0, entries: [{ index: 1, term, data: { kind: 'config' as const, voters: ['z'], learners: [] } }], leaderCommit: 1, round: 1, leaseMs: 900 };
    assert.deepEqual(net.inject('z', x, forged).map((e) => e.type), ['refused']);
    assert.deepEqual(net.machine(x).logEntries(), before);
  });

  it('a learner (a member-stranger of an open cluster) forging a transfer vote at term + 1 with a long log, and answers at term + 1, deposes no live leader and moves no term', () => {
    const net = new RaftNet(['a', 'b', 'c', 'x'], { ...DEFAULT_RAFT_CONFIG, maxVoters: 3 }, 1, 3);
    net.start('a', 'b', 'c');
    const leader = net.elect();
    net.start('x');
    assert.ok(net.advanceUntil(() => net.machine(leader).raftStatus().learners.includes('x'), 5000), 'x joins as a learner');
    // Past two election timeouts: round 1 is no longer one the leader may be answered in.
    net.advance(2 * DEFAULT_RAFT_CONFIG.electionTimeoutMs + 1000);
    const term = net.machine(leader).raftStatus().term;
    const forged: RaftMessage[] = [
      { type: 'VOTE', term: term + 1, preVote: false, lastLogIndex: 1000, lastLogTerm: term + 1, transfer: true },
      { type: 'VOTE', term: term + 1, preVote: true, lastLogIndex: 1000, lastLogTerm: term + 1, transfer: true },
      { type: 'APPEND_RESPONSE', term: term + 1, success: false, index: 0, hintIndex: 0, hintTerm: 0, round: 1 },
      { type: 'SNAPSHOT_RESPONSE', term: term + 1, index: 1, received: 0, installed: true, round: 1 },
      { type: 'VOTE_RESPONSE', term: term + 1, preVote: false, granted: true },
    ];
    for (const to of ['a', 'b', 'c']) for (const m of forged) net.inject('x', to, m);
    net.advance(500);
    for (const id of ['a', 'b', 'c']) assert.equal(net.machine(id).raftStatus().term, term, `${id}'s term`);
    assert.equal(net.agreedLeader(), leader);
  });

  it('a node whose newest configuration is uncommitted and lacks the elected leader still takes its appends (thesis §4.1), and its log becomes the leader\'s (sim seed 4336)', () => {
    const net = new RaftNet(['a', 'b', 'c']);
    const config = (term: number, voters: string[]): RaftEntry => ({ index: 1, term, data: { kind: 'config', voters, learners: [] } });
    // a won a bootstrap at term 1 for {a, c} and crashed before anything was replicated; b then won term 2 for {b, c}.
    net.node('a').disk = { hard: { v: 1, term: 1, votedFor: 'a', commit: 0, fencingFloor: 0 }, snapshot: null, entries: [config(1, ['a', 'c']), { index: 2, term: 1, data: { kind: 'leader', leader: 'a', term: 1 } }] };
    for (const id of ['b', 'c']) net.node(id).disk = { hard: { v: 1, term: 2, votedFor: 'b', commit: 2, fencingFloor: 2 }, snapshot: null, entries: [config(2, ['b', 'c']), { index: 2, term: 2, data: { kind: 'leader', leader: 'b', term: 2 } }] };
    net.start();
    const leader = net.elect();
    net.advance(2000);
    assert.ok(leader === 'b' || leader === 'c', leader);
    assert.deepEqual(net.machine('a').logEntries(), net.machine(leader).logEntries());
    assert.equal(net.machine('a').raftStatus().leader, leader);
  });

  it('a node cut off while a learner was promoted and then led takes that leader\'s appends once its committed voters gossip it as theirs (raft-churn seed 289)', () => {
    const net = new RaftNet(['a', 'b', 'c', 'd']);
    const entry = (index: number, data: RaftEntry['data']): RaftEntry => ({ index, term: 1, data });
    const bootstrap = [entry(1, { kind: 'config', voters: ['a', 'b', 'c'], learners: [] }), entry(2, { kind: 'leader', leader: 'a', term: 1 })];
    // c saw the bootstrap committed; the others also hold d's promotion, committed.
    net.node('c').disk = { hard: { v: 1, term: 1, votedFor: 'a', commit: 2, fencingFloor: 1 }, snapshot: null, entries: bootstrap };
    for (const id of ['a', 'b', 'd']) {
      net.node(id).disk = { hard: { v: 1, term: 1, votedFor: 'a', commit: 3, fencingFloor: 1 }, snapshot: null, entries: [...bootstrap, entry(3, { kind: 'config', voters: ['a', 'b', 'c', 'd'], learners: [] })] };
    }
    net.start();
    net.isolate('c');
    assert.ok(net.advanceUntil(() => ['a', 'b', 'd'].some((id) => net.summary(id)?.role === 'leader'), 10_000));
    const first = ['a', 'b', 'd'].find((id) => net.summary(id)?.role === 'leader')!;
    if (first !== 'd') assert.equal(net.run(first, { kind: 'transfer', to: 'd' }).ok, true);
    assert.ok(net.advanceUntil(() => ['a', 'b'].every((id) => net.summary(id)?.leader === 'd'), 5000), 'd leads, and a and b say so');
    net.recover();
    assert.ok(net.advanceUntil(() => net.summary('c')?.leader === 'd', 5000), 'c follows d');
    assert.deepEqual(net.machine('c').logEntries(), net.machine('d').logEntries());
  });

  it('a node back from a crash takes the leader one live voter of its committed configuration follows, when the others are gone (switch-churn seed 1405)', () => {
    const net = new RaftNet(['a', 'b', 'c', 'd']);
    const entry = (index: number, data: RaftEntry['data']): RaftEntry => ({ index, term: 1, data });
    const bootstrap = [entry(1, { kind: 'config', voters: ['a', 'b', 'c'], learners: [] }), entry(2, { kind: 'leader', leader: 'a', term: 1 })];
    // c saw only the bootstrap; the others also hold d's promotion and b's removal, committed.
    net.node('c').disk = { hard: { v: 1, term: 1, votedFor: 'a', commit: 2, fencingFloor: 1 }, snapshot: null, entries: bootstrap };
    const later = [entry(3, { kind: 'config', voters: ['a', 'b', 'c', 'd'], learners: [] }), entry(4, { kind: 'config', voters: ['a', 'c', 'd'], learners: [] })];
    for (const id of ['a', 'b', 'd']) net.node(id).disk = { hard: { v: 1, term: 1, votedFor: 'a', commit: 4, fencingFloor: 1 }, snapshot: null, entries: [...bootstrap, ...later] };
    net.start();
    net.isolate('c');
    net.crash('b');
    assert.ok(net.advanceUntil(() => ['a', 'd'].some((id) => net.summary(id)?.role === 'leader'), 10_000));
    if (net.summary('d')?.role !== 'leader') assert.equal(net.run('a', { kind: 'transfer', to: 'd' }).ok, true);
    assert.ok(net.advanceUntil(() => net.summary('a')?.leader === 'd', 5000), 'd leads, and a says so');
    net.recover();
    // Of c's committed voters {a, b, c}, only a is there to vouch for d.
    assert.ok(net.advanceUntil(() => net.summary('c')?.leader === 'd', 5000), 'c follows d');
    assert.deepEqual(net.machine('c').logEntries(), net.machine('d').logEntries());
  });

  it('an append from a non-voter that the committed voters do not follow is refused, whatever it claims', () => {
    const net = new RaftNet(['a', 'b', 'c']);
    const leader = net.elect();
    const x = others3(leader)[0]!;
    const term = net.machine(leader).raftStatus().term;
    const before = net.machine(x).logEntries();
    const forged = { type: 'APPEND' as const, term, prevLogIndex: 0, prevLogTerm: 0, entries: [], leaderCommit: 0, round: 1, leaseMs: 900 };
    assert.deepEqual(net.inject('z', x, forged).map((e) => (e.type === 'refused' ? e.reason : e.type)), ['not-a-member']);
    assert.deepEqual(net.machine(x).logEntries(), before);
  });

  it('an answer at term + 1 from a node outside the configuration is refused: it would depose the leader; a snapshot from one is refused too', () => {
    const net = new RaftNet(['a', 'b', 'c']);
    const leader = net.elect();
    const term = net.machine(leader).raftStatus().term;
    for (const message of [
      { type: 'APPEND_RESPONSE' as const, term: term + 1, success: false, index: 0, hintIndex: 0, hintTerm: 0, round: 1 },
      { type: 'VOTE_RESPONSE' as const, term: term + 1, preVote: false, granted: false },
      { type: 'SNAPSHOT' as const, term, index: 9, snapshotTerm: term, offset: 0, total: 3, chunk: '{}x', round: 1 },
    ]) {
      assert.deepEqual(net.inject('z', leader, message).map((e) => (e.type === 'refused' ? e.reason : e.type)), ['not-a-member'], message.type);
    }
    net.advance(2000);
    assert.deepEqual([net.agreedLeader(), net.machine(leader).raftStatus().term], [leader, term]);
  });
});

function others3(leader: string): string[] {
  return ['a', 'b', 'c'].filter((id) => id !== leader);
}
