/**
 * The Raft paper's rules (Ongaro & Ousterhout, "In Search of an Understandable Consensus
 * Algorithm", extended version), each test citing the sentence it checks, as etcd-raft's
 * raft_paper_test.go does.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_RAFT_CONFIG } from './config.js';
import type { RaftHardState } from './durable.js';
import type { RaftEntry, RaftMessage } from './messages.js';
import { RaftNet, type RaftTestEffect } from './testing.js';

const T = DEFAULT_RAFT_CONFIG.electionTimeoutMs;

function sends(effects: RaftTestEffect[]): RaftMessage[] {
  return effects.flatMap((e) => (e.type === 'send' ? [e.message] : []));
}

const cfg = (voters: string[]): RaftEntry => ({ index: 1, term: 1, data: { kind: 'config', voters, learners: [] } });
const rec = (index: number, term: number, leader: string): RaftEntry => ({ index, term, data: { kind: 'leader', leader, term } });

/** A node restored from a disk holding `entries` at `hard`, in a net of a, b, c. */
function restored(disks: Record<string, { hard: RaftHardState; entries: RaftEntry[] }>): RaftNet {
  const net = new RaftNet(['a', 'b', 'c']);
  for (const [id, disk] of Object.entries(disks)) net.node(id).disk = { snapshot: null, ...structuredClone(disk) };
  return net;
}

describe('§5.2 leader election', () => {
  it('"A candidate wins an election if it receives votes from a majority of the servers in the full cluster for the same term"', () => {
    const net = new RaftNet(['a', 'b', 'c', 'd', 'e']);
    const leader = net.elect();
    const term = net.machine(leader).raftStatus().term;
    assert.equal(net.leaders().length, 1);
    for (const id of ['a', 'b', 'c', 'd', 'e']) assert.deepEqual(net.summary(id), { role: id === leader ? 'leader' : 'follower', term, leader, fencingToken: term });
  });

  it('"Each server will vote for at most one candidate in a given term, on a first-come-first-served basis"', () => {
    const net = restored({ a: { hard: { v: 1, term: 1, votedFor: null, commit: 1, fencingFloor: 0 }, entries: [cfg(['a', 'b', 'c'])] } });
    net.start('a');
    net.advance(T); // past the restart's stickiness
    const vote = (from: string) => sends(net.inject(from, 'a', { type: 'VOTE', term: 2, preVote: false, lastLogIndex: 1, lastLogTerm: 1, transfer: false }));
    assert.deepEqual(vote('b'), [{ type: 'VOTE_RESPONSE', term: 2, preVote: false, granted: true }]);
    assert.deepEqual(vote('c'), [{ type: 'VOTE_RESPONSE', term: 2, preVote: false, granted: false }]);
    assert.deepEqual(vote('b'), [{ type: 'VOTE_RESPONSE', term: 2, preVote: false, granted: true }], 'a repeated request from the same candidate is granted again');
  });

  it('"If the leader\'s term is at least as large as the candidate\'s current term, then the candidate recognizes the leader as legitimate and returns to follower state"', () => {
    const net = restored({ a: { hard: { v: 1, term: 1, votedFor: null, commit: 1, fencingFloor: 0 }, entries: [cfg(['a', 'b', 'c'])] } });
    net.start('a');
    net.advance(2 * T + 10); // its timer fired: it campaigns (pre-vote, nobody answers)
    assert.equal(net.machine('a').raftStatus().role, 'pre-candidate');
    net.inject('b', 'a', { type: 'APPEND', term: 1, prevLogIndex: 1, prevLogTerm: 1, entries: [], leaderCommit: 1, round: 1, leaseMs: 0 });
    assert.equal(net.machine('a').raftStatus().role, 'follower');
    assert.equal(net.machine('a').raftStatus().leader, 'b');
  });

  it('"Raft uses randomized election timeouts": a follower campaigns between T and 2T after it last heard from a leader, and one that names no leader draws its time across that range', () => {
    const times: number[] = [];
    for (let seed = 1; seed <= 20; seed++) {
      const net = new RaftNet(['a', 'b', 'c'], DEFAULT_RAFT_CONFIG, seed);
      for (const id of ['a']) net.node(id).disk = { hard: { v: 1, term: 1, votedFor: null, commit: 1, fencingFloor: 0 }, snapshot: null, entries: [cfg(['a', 'b', 'c'])] };
      net.start('a');
      net.advanceUntil(() => net.machine('a').raftStatus().role !== 'follower', 3 * T);
      assert.ok(net.nowMs >= T && net.nowMs < 2 * T + net.tickMs, `seed ${seed}: campaigned at ${net.nowMs}`);
      times.push(net.nowMs);
    }
    // Alone after a restart it names no leader, so there is no turn to take: randomness breaks the tie.
    assert.ok(Math.max(...times) - Math.min(...times) >= T / 4, `campaign times spread over ${Math.max(...times) - Math.min(...times)} ms only`);
  });

  it('a follower that heard from a leader takes its turn in [T, 2T): when the leader freezes, the first voter in id order pre-votes a fifth of leaderGoneStaggerMs past T, alone, and leads before the next turn', () => {
    const step = DEFAULT_RAFT_CONFIG.leaderGoneStaggerMs;
    const ids = ['a', 'b', 'c', 'd', 'e'];
    for (let seed = 1; seed <= 10; seed++) {
      const net = new RaftNet(ids, DEFAULT_RAFT_CONFIG, seed);
      const leader = net.elect();
      net.advance(3 * DEFAULT_RAFT_CONFIG.heartbeatIntervalMs);
      const pausedAt = net.nowMs;
      net.pause(leader);
      // Messages arrive in the tick they leave: every follower last heard the leader's last append.
      const lastHeard = Math.max(...net.sent.filter((m) => m.from === leader && m.message.type === 'APPEND').map((m) => m.atMs));
      const first = ids.filter((id) => id !== leader).sort()[0]!;
      const successor = () => ids.find((id) => id !== leader && net.summary(id)?.role === 'leader') ?? null;
      assert.ok(net.advanceUntil(() => successor() !== null, 2 * T), `seed ${seed}: nobody took over`);
      const preVotes = net.sent.filter((m) => m.atMs > pausedAt && m.message.type === 'VOTE' && m.message.preVote);
      assert.deepEqual([...new Set(preVotes.map((m) => m.from))], [first], `seed ${seed}: only the first in turn pre-voted`);
      const at = preVotes[0]!.atMs - lastHeard;
      assert.ok(at >= T + step / 5 && at <= T + (2 * step) / 5 + net.tickMs, `seed ${seed}: pre-voted ${at} ms after it last heard`);
      assert.equal(successor(), first);
      assert.ok(net.nowMs - lastHeard < T + step + step / 5, `seed ${seed}: led ${net.nowMs - lastHeard} ms after the last round, past the next turn`);
    }
  });
});

describe('§5.3 log replication', () => {
  const follower = () => {
    const net = restored({ a: { hard: { v: 1, term: 3, votedFor: null, commit: 1, fencingFloor: 1 }, entries: [cfg(['a', 'b', 'c']), rec(2, 2, 'b'), { ...rec(3, 2, 'b') }, rec(4, 3, 'c')] } });
    net.start('a');
    return net;
  };

  it('"If a follower does not find an entry in its log with the same index and term, then it refuses the new entries" (and hints where to resume)', () => {
    const net = follower();
    const reply = sends(net.inject('c', 'a', { type: 'APPEND', term: 3, prevLogIndex: 4, prevLogTerm: 2, entries: [], leaderCommit: 1, round: 1, leaseMs: 0 }));
    // Its last entry at or below index 4 with a term at most 2 is index 3.
    assert.deepEqual(reply, [{ type: 'APPEND_RESPONSE', term: 3, success: false, index: 4, hintIndex: 3, hintTerm: 2, round: 1 }]);
    const beyond = sends(net.inject('c', 'a', { type: 'APPEND', term: 3, prevLogIndex: 9, prevLogTerm: 3, entries: [], leaderCommit: 1, round: 2, leaseMs: 0 }));
    assert.deepEqual(beyond, [{ type: 'APPEND_RESPONSE', term: 3, success: false, index: 9, hintIndex: 4, hintTerm: 3, round: 2 }], 'a shorter log hints its last index');
    assert.equal(net.machine('a').raftStatus().lastIndex, 4);
  });

  it('"If an existing entry conflicts with a new one (same index but different terms), delete the existing entry and all that follow it"', () => {
    const net = follower();
    const entries = [rec(3, 3, 'c')];
    const effects = net.inject('c', 'a', { type: 'APPEND', term: 3, prevLogIndex: 2, prevLogTerm: 2, entries, leaderCommit: 3, round: 1, leaseMs: 0 });
    const persist = effects.find((e) => e.type === 'persist');
    assert.ok(persist?.type === 'persist');
    assert.equal(persist.batch.truncateAfter, 2);
    assert.deepEqual(persist.batch.entries, entries);
    assert.deepEqual(net.machine('a').logEntries().map((e) => [e.index, e.term]), [[1, 1], [2, 2], [3, 3]]);
    // "If leaderCommit > commitIndex, set commitIndex = min(leaderCommit, index of last new entry)"
    assert.equal(net.machine('a').raftStatus().commitIndex, 3);
    assert.deepEqual(net.node('a').disk.entries.map((e) => [e.index, e.term]), [[1, 1], [2, 2], [3, 3]]);
  });

  it('an append that only moves the commit index, whose answer would repeat the last one word for word, goes unanswered; anything new is answered', () => {
    const net = follower();
    const append = (round: number, prevLogIndex: number, entries: RaftEntry[], leaderCommit: number) =>
      sends(net.inject('c', 'a', { type: 'APPEND', term: 3, prevLogIndex, prevLogTerm: 3, entries, leaderCommit, round, leaseMs: 0 }));
    const ok = (index: number, round: number) => [{ type: 'APPEND_RESPONSE', term: 3, success: true, index, hintIndex: 0, hintTerm: 0, round }];
    assert.deepEqual(append(7, 4, [], 1), ok(4, 7), 'the first of a round');
    assert.deepEqual(append(7, 4, [], 4), [], 'the same round, nothing new but the commit: the leader knows all the answer says');
    assert.equal(net.machine('a').raftStatus().commitIndex, 4, 'and the commit is taken');
    assert.deepEqual(append(8, 4, [], 4), ok(4, 8), 'a new round (a heartbeat, a read) is always answered');
    assert.deepEqual(append(8, 4, [rec(5, 3, 'c')], 4), ok(5, 8), 'entries are always answered');
    assert.deepEqual(append(8, 5, [], 5), [], 'then a commit-only append of that round is not');
    const refusal = sends(net.inject('c', 'a', { type: 'APPEND', term: 3, prevLogIndex: 9, prevLogTerm: 3, entries: [], leaderCommit: 5, round: 8, leaseMs: 0 }));
    assert.equal(refusal.length, 1);
    assert.deepEqual(append(8, 5, [], 5), ok(5, 8), 'after a refusal the leader probes: the same answer as before the refusal is news again');
  });

  it('"Log Matching": a follower that missed two terms catches up after one back-off, and every log is then the same', () => {
    const net = new RaftNet(['a', 'b', 'c']);
    const leader = net.elect();
    const [x, y] = ['a', 'b', 'c'].filter((id) => id !== leader) as [string, string];
    net.isolate(x);
    assert.deepEqual(net.run(leader, { kind: 'transfer', to: y }).ok, true);
    assert.deepEqual(net.run(y, { kind: 'transfer', to: leader }).ok, true);
    const sentBefore = net.sent.length;
    net.recover();
    net.advance(3 * T);
    const logs = ['a', 'b', 'c'].map((id) => JSON.stringify(net.machine(id).logEntries()));
    assert.equal(new Set(logs).size, 1, logs.join('\n'));
    const rejections = net.sent.slice(sentBefore).filter((m) => m.message.type === 'APPEND_RESPONSE' && !m.message.success && m.from === x);
    assert.ok(rejections.length <= 1, `${rejections.length} rejections`);
  });
  it('a follower far behind is caught up in appends of at most maxEntriesPerAppend, with a bounded window in flight', () => {
    const config = { ...DEFAULT_RAFT_CONFIG, maxEntriesPerAppend: 4, maxInflight: 2 };
    const long = [cfg(['a', 'b', 'c']), ...Array.from({ length: 30 }, (_, i) => rec(i + 2, i + 2, 'a'))];
    const hard = { v: 1 as const, term: 31, votedFor: null, commit: 31, fencingFloor: 31 };
    const net = new RaftNet(['a', 'b', 'c'], config);
    net.node('a').disk = structuredClone({ hard, snapshot: null, entries: long });
    net.node('b').disk = structuredClone({ hard, snapshot: null, entries: long });
    net.node('c').disk = { hard: { v: 1, term: 1, votedFor: null, commit: 1, fencingFloor: 0 }, snapshot: null, entries: [cfg(['a', 'b', 'c'])] };
    net.start();
    assert.ok(net.advanceUntil(() => net.machine('c').raftStatus().lastIndex > 31, 5 * T));
    net.advance(T);
    const logs = ['a', 'b', 'c'].map((id) => JSON.stringify(net.machine(id).logEntries()));
    assert.equal(new Set(logs).size, 1);
    const sizes = net.sent.flatMap((m) => (m.message.type === 'APPEND' ? [m.message.entries.length] : []));
    assert.ok(Math.max(...sizes) <= 4, `largest append: ${Math.max(...sizes)}`);
    assert.notEqual(net.agreedLeader(), 'c', 'the node that was behind cannot win (§5.4.1)');
  });
});

describe('§5.4 safety', () => {
  it('§5.4.1 "the voter denies its vote if its own log is more up-to-date than that of the candidate"', () => {
    const net = restored({ a: { hard: { v: 1, term: 2, votedFor: null, commit: 1, fencingFloor: 0 }, entries: [cfg(['a', 'b', 'c']), rec(2, 2, 'b')] } });
    net.start('a');
    net.advance(T);
    const vote = (lastLogIndex: number, lastLogTerm: number) =>
      sends(net.inject('c', 'a', { type: 'VOTE', term: 3, preVote: true, lastLogIndex, lastLogTerm, transfer: false }))[0];
    assert.equal((vote(5, 1) as { granted: boolean }).granted, false, 'a lower last term loses whatever its length');
    assert.equal((vote(1, 2) as { granted: boolean }).granted, false, 'the same last term with a shorter log loses');
    assert.equal((vote(2, 2) as { granted: boolean }).granted, true);
    assert.equal((vote(1, 3) as { granted: boolean }).granted, true);
  });

  it('§5.4.2 Figure 8: "Raft never commits log entries from previous terms by counting replicas"', () => {
    const disk = { hard: { v: 1 as const, term: 2, votedFor: null, commit: 1, fencingFloor: 0 }, entries: [cfg(['a', 'b', 'c']), rec(2, 2, 'b')] };
    const net = restored({ a: disk, b: disk, c: disk });
    // Only empty appends get through: the leader never learns that anyone holds its new record.
    net.drop((m) => m.message.type === 'APPEND' && m.message.entries.length > 0);
    net.start();
    net.advanceUntil(() => ['a', 'b', 'c'].some((id) => net.machine(id).raftStatus().role === 'leader'), 5 * T);
    const leader = ['a', 'b', 'c'].find((id) => net.machine(id).raftStatus().role === 'leader')!;
    const other = ['a', 'b', 'c'].find((id) => id !== leader)!;
    const status = net.machine(leader).raftStatus();
    assert.equal(status.lastIndex, 3);
    // A follower reports holding index 2 (term 2): a majority holds it, yet it stays uncommitted.
    net.inject(other, leader, { type: 'APPEND_RESPONSE', term: status.term, success: true, index: 2, hintIndex: 0, hintTerm: 0, round: 1 });
    assert.equal(net.machine(leader).raftStatus().commitIndex, 1);
    assert.equal(net.summary(leader)!.role, 'candidate', 'no leader before its record commits');
    // Once an entry of the current term is on a majority, it commits, and the older one with it.
    net.inject(other, leader, { type: 'APPEND_RESPONSE', term: status.term, success: true, index: 3, hintIndex: 0, hintTerm: 0, round: 1 });
    assert.equal(net.machine(leader).raftStatus().commitIndex, 3);
  });

  it('"Leader Completeness": a node missing committed entries is never elected', () => {
    const net = new RaftNet(['a', 'b', 'c']);
    const leader = net.elect();
    const [behind, other] = ['a', 'b', 'c'].filter((id) => id !== leader) as [string, string];
    net.isolate(behind);
    assert.equal(net.run(leader, { kind: 'transfer', to: other }).ok, true);
    // other's record is committed on other and the old leader; behind lacks it.
    net.crash(other);
    net.recover();
    net.advance(6 * T);
    assert.deepEqual(net.leaders(), [leader]);
    assert.deepEqual(net.machine(behind).logEntries(), net.machine(leader).logEntries());
  });
});
