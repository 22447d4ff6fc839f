/**
 * Log compaction and InstallSnapshot (§7), on the socket-free cluster: each node compacts on its
 * own, a follower the leader cannot catch up from entries gets the snapshot in frame-sized chunks,
 * a lost chunk is resent from where the follower stands, a malformed snapshot replaces nothing,
 * and a restart from a compacted disk keeps its commit, configuration and fencing token.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_RAFT_CONFIG, type RaftConfig } from './config.js';
import { RaftLog } from './log.js';
import type { RaftEntry, RaftMessage } from './messages.js';
import { chunkEnd } from './snapshots.js';
import { RaftNet, type RaftTestEffect } from './testing.js';

const CONFIG: RaftConfig = { ...DEFAULT_RAFT_CONFIG, snapshotEntries: 4 };
const IDS = ['a', 'b', 'c'];

/** Hands leadership on `times` times (each new leader appends its record): the log grows by one entry each. */
function changeLeaders(net: RaftNet, times: number): void {
  for (let i = 0; i < times; i++) {
    const leader = net.agreedLeader() ?? net.leaders()[0]!;
    const result = net.run(leader, { kind: 'resign' });
    assert.equal(result.ok, true, JSON.stringify(result));
    assert.ok(net.advanceUntil(() => net.agreedLeader() !== null, 5000), 'a leader after the hand-off');
  }
}

function effectsOf(net: RaftNet, node: string, type: RaftTestEffect['type']): RaftTestEffect[] {
  return net.effects.filter((e) => e.node === node && e.effect.type === type).map((e) => e.effect);
}

/** A leader, and a follower x it cut off for 12 writes: x needs the snapshot, in 40-byte chunks. */
function laggingFollower(): { net: RaftNet; leader: string; x: string | undefined } {
  const net = new RaftNet(IDS, CONFIG);
  net.snapshotChunkBytes = 40;
  const leader = net.elect();
  const [x] = IDS.filter((id) => id !== leader);
  net.isolate(x!);
  for (let i = 0; i < 12; i++) assert.ok(net.kv(leader, { kind: 'write', op: { kind: 'put', key: `k${i}`, value: 'v' } }).ok);
  net.recover();
  return { net, leader, x };
}

function chunksTo(net: RaftNet, to: string): Extract<RaftMessage, { type: 'SNAPSHOT' }>[] {
  return net.sent.flatMap((s) => (s.to === to && s.message.type === 'SNAPSHOT' ? [s.message] : []));
}

describe('§7 log compaction', () => {
  it('"each server takes snapshots independently, covering just the committed entries in its log": every node compacts, and its disk holds the snapshot', () => {
    const net = new RaftNet(IDS, CONFIG);
    net.elect();
    changeLeaders(net, 8);
    for (const id of IDS) {
      const s = net.machine(id).raftStatus();
      assert.ok(s.snapshotIndex > 0, `${id} compacted (snapshot index ${s.snapshotIndex})`);
      assert.ok(s.snapshotIndex <= s.commitIndex, 'only committed entries are compacted');
      assert.ok(s.lastIndex - s.snapshotIndex <= CONFIG.snapshotEntries * 1.5, 'the log stays bounded');
      const disk = net.node(id).disk;
      assert.equal(disk.snapshot?.index, s.snapshotIndex);
      assert.ok(disk.entries.every((e) => e.index > s.snapshotIndex), 'no entry the snapshot covers stays on disk');
      assert.ok(effectsOf(net, id, 'snapshot').length > 0);
    }
  });

  it('a node restarted from a compacted disk keeps its commit index, configuration and fencing token', () => {
    const net = new RaftNet(IDS, CONFIG);
    net.elect();
    changeLeaders(net, 8);
    const leader = net.agreedLeader()!;
    const [x] = IDS.filter((id) => id !== leader);
    const before = { status: net.machine(x!).raftStatus(), token: net.summary(x!)!.fencingToken };
    net.crash(x!);
    net.start(x!);
    const after = net.machine(x!).raftStatus();
    assert.equal(after.snapshotIndex, before.status.snapshotIndex);
    assert.ok(after.commitIndex >= before.status.commitIndex);
    assert.deepEqual(after.voters, before.status.voters);
    assert.equal(net.summary(x!)!.fencingToken, before.token);
    assert.ok(net.advanceUntil(() => net.agreedLeader() === leader, 3000), 'it rejoins without disturbing the leader');
  });
});

describe('§7 InstallSnapshot', () => {
  it('"the leader must occasionally send snapshots to followers that lag behind": in chunks that fit a frame, after which the follower catches up from entries', () => {
    const net = new RaftNet(IDS, CONFIG);
    net.snapshotChunkBytes = 48;
    net.elect();
    const [x] = IDS.filter((id) => id !== net.agreedLeader());
    net.crash(x!);
    // Two voters still commit: the leader compacts past everything x holds.
    for (let i = 0; i < 10; i++) {
      const leader = net.leaders()[0]!;
      net.run(leader, { kind: 'resign' });
      assert.ok(net.advanceUntil(() => net.leaders().length === 1 && net.machine(net.leaders()[0]!).raftStatus().commitIndex === net.machine(net.leaders()[0]!).raftStatus().lastIndex, 5000));
    }
    const leader = net.leaders()[0]!;
    assert.ok(net.machine(leader).raftStatus().snapshotIndex > net.node(x!).disk.entries.length, 'the leader compacted past x\'s log');
    net.start(x!);
    assert.ok(net.advanceUntil(() => net.agreedLeader() !== null && net.machine(x!).raftStatus().commitIndex === net.machine(net.agreedLeader()!).raftStatus().commitIndex, 5000));
    const chunks = chunksTo(net, x!);
    assert.ok(chunks.length > 1, `the snapshot went in several chunks (${chunks.length})`);
    for (const c of chunks) assert.ok(Buffer.byteLength(JSON.stringify(c.chunk)) <= 48, 'each chunk fits its budget');
    const installed = effectsOf(net, x!, 'snapshot').filter((e) => e.type === 'snapshot' && e.action === 'installed');
    assert.equal(installed.length, 1);
    const ls = net.machine(leader).raftStatus();
    const xs = net.machine(x!).raftStatus();
    assert.deepEqual([xs.lastIndex, xs.lastTerm, xs.voters], [ls.lastIndex, ls.lastTerm, ls.voters]);
    assert.equal(net.node(x!).disk.snapshot?.index, xs.snapshotIndex);
    assert.equal(net.summary(x!)!.fencingToken, net.summary(leader)!.fencingToken, 'the fencing token the snapshot proves');
  });

  it('a lost chunk is sent again from where the follower stands', () => {
    const net = new RaftNet(IDS, CONFIG);
    net.snapshotChunkBytes = 40;
    net.elect();
    const [x] = IDS.filter((id) => id !== net.agreedLeader());
    net.crash(x!);
    for (let i = 0; i < 10; i++) {
      net.run(net.leaders()[0]!, { kind: 'resign' });
      net.advanceUntil(() => net.leaders().length === 1, 5000);
      net.advance(300);
    }
    let dropped = 0;
    net.drop((m) => {
      const lose = m.to === x && m.message.type === 'SNAPSHOT' && m.message.offset > 0 && dropped < 2;
      if (lose) dropped++;
      return lose;
    });
    net.start(x!);
    assert.ok(net.advanceUntil(() => net.agreedLeader() !== null && net.machine(x!).raftStatus().snapshotIndex > 0, 5000));
    assert.equal(dropped, 2, 'two chunks were lost');
    const offsets = chunksTo(net, x!).map((c) => c.offset);
    assert.ok(offsets.some((o, i) => offsets.indexOf(o) !== i), 'some chunk went twice');
  });

  it('while a snapshot is on its way, the follower keeps naming the leader (heartbeats at the snapshot\'s index), and a refusal of an older append does not start it over', () => {
    const { net, leader, x } = laggingFollower();
    // Chunks after the first are lost for a while: the transfer takes many heartbeats.
    net.drop((m) => m.to === x && m.message.type === 'SNAPSHOT' && m.message.offset > 0);
    assert.ok(net.advanceUntil(() => chunksTo(net, x!).length > 0 && net.summary(x!)!.leader === leader, 2000), 'a snapshot goes to x, and x names the leader');
    const lostUntil = net.nowMs + 3 * DEFAULT_RAFT_CONFIG.electionTimeoutMs;
    net.drop((m) => m.to === x && m.message.type === 'SNAPSHOT' && m.message.offset > 0 && net.nowMs < lostUntil);
    const appendsAt = net.sent.length;
    let lapses = 0;
    while (net.nowMs < lostUntil) {
      net.advance(net.tickMs);
      if (net.summary(x!)!.leader !== leader) lapses++;
    }
    assert.equal(lapses, 0, 'x named the leader all along');
    const heartbeats = net.sent.slice(appendsAt).filter((m) => m.to === x && m.message.type === 'APPEND' && m.message.entries.length === 0);
    assert.ok(heartbeats.length >= 5 && heartbeats.every((m) => m.message.type === 'APPEND' && m.message.leaseMs > 0), 'heartbeats with a lease reached it');
    // x refused each of those heartbeats (it lacks the snapshot's entry): that must not start the snapshot over.
    const refusals = net.sent.slice(appendsAt).filter((m) => m.from === x && m.message.type === 'APPEND_RESPONSE' && !m.message.success);
    const restarts = net.sent.slice(appendsAt).filter((m) => m.to === x && m.message.type === 'SNAPSHOT' && m.message.offset === 0 && m.atMs < lostUntil);
    assert.ok(refusals.length >= 5);
    assert.deepEqual(restarts, [], 'the snapshot went on from where x stood');
    net.drop(() => false);
    assert.ok(net.advanceUntil(() => effectsOf(net, x!, 'snapshot').some((e) => e.type === 'snapshot' && e.action === 'installed'), 3000), 'installed in the end');
  });

  it('duplicate and late answers never put a second chunk in flight beside the first (circling chunks would multiply)', () => {
    const { net, leader, x } = laggingFollower();
    // Every chunk to x is lost: the first stays in flight, and the test answers for x.
    net.drop((m) => m.to === x && m.message.type === 'SNAPSHOT');
    assert.ok(net.advanceUntil(() => chunksTo(net, x!).length > 0, 2000), 'a snapshot goes to x');
    const first = chunksTo(net, x!).at(-1)!;
    const chunks = (effects: RaftTestEffect[]) => sends(effects).filter((m) => m.type === 'SNAPSHOT');
    const answer = { type: 'SNAPSHOT_RESPONSE' as const, term: first.term, index: first.index, received: first.offset + first.chunk.length, installed: false, round: first.round };
    const next = chunks(net.inject(x!, leader, answer));
    assert.deepEqual(next.map((c) => c.type === 'SNAPSHOT' && c.offset), [answer.received], 'the answer to the chunk in flight sends the next');
    for (let i = 0; i < 3; i++) assert.deepEqual(chunks(net.inject(x!, leader, answer)), [], 'a duplicate of that answer sends nothing');
    assert.deepEqual(chunks(net.inject(x!, leader, { ...answer, received: 0, round: first.round - 1 })), [], 'a late answer from an older round sends nothing');
    const restarted = chunks(net.inject(x!, leader, { ...answer, received: 0, round: next[0]!.round }));
    assert.deepEqual(restarted.map((c) => c.type === 'SNAPSHOT' && c.offset), [0], 'an answer to the last chunk that holds nothing (x restarted): from the start');
    assert.deepEqual(chunks(net.inject(x!, leader, { ...answer, index: first.index - 1, installed: true })), [], 'an older snapshot\'s install sends nothing');
  });

  it('a malformed snapshot replaces nothing: refused, and the follower asks for it from the start', () => {
    const net = new RaftNet(IDS, CONFIG);
    const leader = net.elect();
    const [x] = IDS.filter((id) => id !== leader);
    const before = net.machine(x!).raftStatus();
    const term = before.term;
    const text = JSON.stringify({ v: 1, configuration: { voters: [], learners: [] }, leaderRecord: null });
    const effects = net.inject(leader, x!, { type: 'SNAPSHOT', term, index: 50, snapshotTerm: term, offset: 0, total: text.length, chunk: text, round: 1 });
    assert.ok(effects.some((e) => e.type === 'refused' && e.reason === 'malformed-snapshot'));
    assert.ok(effects.some((e) => e.type === 'send' && e.message.type === 'SNAPSHOT_RESPONSE' && e.message.received === 0 && !e.message.installed));
    assert.ok(!effects.some((e) => e.type === 'persist' && e.batch.snapshot), 'nothing written');
    assert.deepEqual(net.machine(x!).raftStatus().lastIndex, before.lastIndex);
  });

  it('a chunk that does not continue what the follower holds is answered with what it holds', () => {
    const net = new RaftNet(IDS, CONFIG);
    const leader = net.elect();
    const [x] = IDS.filter((id) => id !== leader);
    const term = net.machine(x!).raftStatus().term;
    const first = sends(net.inject(leader, x!, { type: 'SNAPSHOT', term, index: 50, snapshotTerm: term, offset: 0, total: 100, chunk: 'x'.repeat(10), round: 1 }));
    assert.deepEqual(first.map((m) => m.type === 'SNAPSHOT_RESPONSE' && m.received), [10]);
    const gap = sends(net.inject(leader, x!, { type: 'SNAPSHOT', term, index: 50, snapshotTerm: term, offset: 30, total: 100, chunk: 'y'.repeat(10), round: 1 }));
    assert.deepEqual(gap.map((m) => m.type === 'SNAPSHOT_RESPONSE' && m.received), [10]);
  });
});

describe('RaftLog.install', () => {
  const entries: RaftEntry[] = [
    { index: 1, term: 1, data: { kind: 'config', voters: ['a', 'b', 'c'], learners: [] } },
    { index: 2, term: 1, data: { kind: 'leader', leader: 'a', term: 1 } },
    { index: 3, term: 2, data: { kind: 'leader', leader: 'b', term: 2 } },
  ];
  const data = { v: 1 as const, configuration: { voters: ['a', 'b', 'c'], learners: [] }, leaderRecord: { leader: 'a', term: 1 } };

  it('"If the follower has an existing log entry with the same index and term as the snapshot\'s last included entry, then it retains log entries following that entry"', () => {
    const log = new RaftLog(null, entries, 1);
    assert.deepEqual(log.install({ index: 2, term: 1, data }), { keptSuffix: true });
    assert.deepEqual([log.snapshotIndex(), log.lastIndex(), log.committed], [2, 3, 2]);
  });

  it('"Usually the snapshot will contain new information not already in the recipient\'s log. In this case, the follower discards its entire log"', () => {
    const log = new RaftLog(null, entries, 1);
    assert.deepEqual(log.install({ index: 3, term: 5, data }), { keptSuffix: false });
    assert.deepEqual([log.snapshotIndex(), log.lastIndex(), log.lastTerm(), log.committed], [3, 3, 5, 3]);
    assert.deepEqual(log.leaderRecord(1), { index: 3, leader: 'a' }, 'the snapshot\'s leader record stands at its index');
  });
});

describe('chunkEnd', () => {
  it('fits the JSON encoding of a chunk in the budget, escapes and multi-byte characters included, and never splits a surrogate pair', () => {
    const text = 'ab"c\\d\n€😀'.repeat(20);
    for (const budget of [3, 8, 13, 40]) {
      for (let from = 0; from < text.length; ) {
        const end = chunkEnd(text, from, budget);
        assert.ok(end > from, 'every chunk moves');
        const chunk = text.slice(from, end);
        if (end - from > 1 && !(end - from === 2 && chunk.codePointAt(0)! > 0xffff)) assert.ok(Buffer.byteLength(JSON.stringify(chunk)) <= budget, `${JSON.stringify(chunk)} within ${budget}`);
        assert.ok(!/[\ud800-\udbff]$/.test(chunk), 'no lone high surrogate at a chunk end');
        from = end;
      }
    }
  });
});

function sends(effects: RaftTestEffect[]): RaftMessage[] {
  return effects.flatMap((e) => (e.type === 'send' ? [e.message] : []));
}
