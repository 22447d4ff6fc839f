/**
 * Durability (§5.1 Figure 2: "Persistent state on all servers, updated on stable storage before
 * responding to RPCs"), restarts, fencing tokens, and the deadline contract of the Election
 * interface.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_RAFT_CONFIG } from './config.js';
import type { RaftHardState } from './durable.js';
import type { RaftEntry } from './messages.js';
import { createRaft } from './raft.js';
import { createRng } from '../rng.js';
import { RaftNet, type RaftTestEffect } from './testing.js';

const T = DEFAULT_RAFT_CONFIG.electionTimeoutMs;
const IDS = ['a', 'b', 'c'];

/** Replays one node's effects onto an empty disk and reports any send that left before what it depends on was written. */
function orderViolations(effects: RaftTestEffect[]): string[] {
  let hard: RaftHardState | null = null;
  const log = new Map<number, number>();
  const problems: string[] = [];
  for (const e of effects) {
    if (e.type === 'persist') {
      if (e.batch.truncateAfter !== undefined) for (const i of [...log.keys()]) if (i > e.batch.truncateAfter) log.delete(i);
      for (const entry of e.batch.entries ?? []) log.set(entry.index, entry.term);
      if (e.batch.hardState) hard = e.batch.hardState;
      continue;
    }
    if (e.type !== 'send') continue;
    const m = e.message;
    if (m.type === 'VOTE_RESPONSE' && m.granted && !m.preVote && (hard?.term !== m.term || hard.votedFor !== e.to)) problems.push(`vote for ${e.to} at ${m.term} before it was durable`);
    if (m.type === 'VOTE' && !m.preVote && (hard?.term !== m.term || hard.votedFor === null)) problems.push(`vote request at ${m.term} before the term and own vote were durable`);
    if (m.type === 'APPEND_RESPONSE' && m.success) for (let i = 1; i <= m.index; i++) if (!log.has(i)) problems.push(`acknowledged index ${m.index} without entry ${i} on disk`);
    if ((m.type === 'APPEND_RESPONSE' || m.type === 'APPEND' || m.type === 'VOTE_RESPONSE') && (hard?.term ?? 0) < m.term && !(m.type === 'VOTE_RESPONSE' && m.preVote)) problems.push(`${m.type} at term ${m.term} before the term was durable`);
  }
  return problems;
}

describe('durability', () => {
  it('every vote, vote request and acknowledgement leaves after the write it depends on', () => {
    const net = new RaftNet(['a', 'b', 'c', 'd', 'e']);
    const leader = net.elect();
    net.isolate(leader);
    net.advance(3 * T);
    net.recover();
    net.advance(3 * T);
    net.crash('c');
    net.start('c');
    net.advance(3 * T);
    for (const id of ['a', 'b', 'c', 'd', 'e']) {
      const effects = net.effects.filter((e) => e.node === id).map((e) => e.effect);
      // A node's effects across its lives replay onto one disk: the disk survives the crash.
      assert.deepEqual(orderViolations(effects), [], id);
    }
    assert.ok(net.effects.some((e) => e.effect.type === 'send' && e.effect.message.type === 'VOTE_RESPONSE' && e.effect.message.granted));
  });

  it('a restart restores term, vote, log and the fencing token, and learns the commit index again from the leader', () => {
    const net = new RaftNet(IDS);
    const leader = net.elect();
    const [x] = IDS.filter((id) => id !== leader);
    const before = { status: net.machine(x!).raftStatus(), log: net.machine(x!).logEntries(), token: net.summary(x!)!.fencingToken };
    assert.ok(before.token > 0);
    // The commit index and token floor ride with other writes and are not waited for: the token
    // this node reported is not on its disk as a floor, and comes back from its log.
    assert.ok((net.node(x!).disk.hard?.fencingFloor ?? 0) < before.token, 'the stored floor lags the reported token');
    net.crash(x!);
    net.start(x!);
    const after = net.machine(x!);
    assert.equal(after.raftStatus().term, before.status.term);
    assert.equal(after.raftStatus().votedFor, before.status.votedFor);
    assert.ok(after.raftStatus().commitIndex <= before.status.commitIndex);
    assert.deepEqual(after.logEntries(), before.log);
    assert.equal(after.summary(net.nowMs).fencingToken, before.token);
    net.advance(2 * T);
    assert.equal(net.agreedLeader(), leader, 'the restarted node rejoins without an election');
    assert.equal(after.raftStatus().commitIndex, before.status.commitIndex);
  });

  it('the fencing token never falls below the persisted floor, whatever log a restart comes back with', () => {
    const entries: RaftEntry[] = [{ index: 1, term: 1, data: { kind: 'config', voters: IDS, learners: [] } }];
    const m = createRaft({ selfId: 'a', config: DEFAULT_RAFT_CONFIG, bootstrapExpect: 3, rng: createRng(1), persisted: { v: 1, term: 9, votedFor: null, commit: 5, fencingFloor: 7 }, log: { snapshot: null, entries }, nowMs: 0 });
    assert.equal(m.summary(0).fencingToken, 7);
    assert.equal(m.raftStatus().commitIndex, 1, 'a commit index beyond the log is clamped to it');
  });

  it('fencing tokens only grow across elections, transfers and restarts', () => {
    const net = new RaftNet(IDS);
    let leader = net.elect();
    const seen = new Map<string, number>();
    net.onStep = () => {
      for (const id of IDS) {
        const token = net.summary(id)?.fencingToken;
        if (token === undefined) continue;
        assert.ok(token >= (seen.get(id) ?? 0), `${id}: ${token} after ${seen.get(id)}`);
        seen.set(id, token);
      }
    };
    for (let round = 0; round < 3; round++) {
      const next = IDS.filter((id) => id !== leader)[round % 2]!;
      assert.equal(net.run(leader, { kind: 'transfer', to: next }).ok, true);
      net.crash(leader);
      net.start(leader);
      net.advanceUntil(() => net.agreedLeader() !== null, 3 * T);
      leader = net.agreedLeader()!;
      assert.equal(net.summary(leader)!.fencingToken, net.summary(leader)!.term, 'the token is the term of the committed leader record');
    }
  });
});

describe('deadline()', () => {
  it('ticks before a machine\'s deadline change nothing: no effect, the same summary and deadline', () => {
    const net = new RaftNet(['a', 'b', 'c', 'd', 'e'], DEFAULT_RAFT_CONFIG, 3);
    net.elect();
    const probe = createRng(9);
    let probed = 0;
    for (let step = 0; step < 300; step++) {
      if (step === 100) net.isolate('a');
      if (step === 200) net.recover();
      for (const id of ['a', 'b', 'c', 'd', 'e']) {
        const m = net.machine(id);
        const due = m.deadline();
        if (due <= net.nowMs + 1) continue;
        const at = net.nowMs + 1 + probe.int(0, Math.min(due - net.nowMs - 2, 5));
        const before = { summary: m.summary(at), deadline: due };
        m.step({ type: 'tick', nowMs: at });
        assert.deepEqual(m.drain(), [], `${id} acted at ${at}, before its deadline ${due}`);
        assert.deepEqual({ summary: m.summary(at), deadline: m.deadline() }, before, `${id} at ${at}`);
        probed++;
      }
      net.advance(net.tickMs);
    }
    assert.ok(probed > 500);
  });

  it('the same with configuration changes: learners joining and promoted, a dead voter replaced, a relayed command waiting for its bound', () => {
    const ids = ['a', 'b', 'c', 'd', 'e'];
    const config = { ...DEFAULT_RAFT_CONFIG, stabilizationMs: 1230, deadVoterRemoveMs: 2170 };
    const net = new RaftNet(ids, config, 5, 3);
    net.start('a', 'b', 'c');
    assert.ok(net.advanceUntil(() => net.agreedLeader() !== null, 3 * T));
    const probe = createRng(11);
    let probed = 0;
    for (let step = 0; step < 600; step++) {
      if (step === 20) net.start('d');
      if (step === 60) net.start('e');
      if (step === 250) net.crash(['a', 'b', 'c'].find((id) => id !== net.agreedLeader())!);
      if (step === 300) {
        net.drop((m) => m.message.type === 'COMMAND');
        const follower = ids.find((id) => net.node(id).machine && net.agreedLeader() !== id)!;
        net.command(follower, { kind: 'resign' });
      }
      for (const id of ids) {
        const m = net.node(id).machine;
        if (!m) continue;
        const due = m.deadline();
        if (due <= net.nowMs + 1) continue;
        const at = net.nowMs + 1 + probe.int(0, Math.min(due - net.nowMs - 2, 5));
        const before = { summary: m.summary(at), deadline: due };
        m.step({ type: 'tick', nowMs: at });
        assert.deepEqual(m.drain(), [], `${id} acted at ${at}, before its deadline ${due}`);
        assert.deepEqual({ summary: m.summary(at), deadline: m.deadline() }, before, `${id} at ${at}`);
        probed++;
      }
      net.advance(net.tickMs);
    }
    assert.ok(probed > 1000);
    const leader = net.agreedLeader()!;
    assert.equal(net.machine(leader).raftStatus().voters.length, 4, 'the learners were promoted and the dead voter replaced');
  });

  it('a node that is shutting down never leaves its deadline in the past (sim seed 72 spun on one instant)', () => {
    const net = new RaftNet(IDS);
    const leader = net.elect();
    const [x, y] = IDS.filter((id) => id !== leader);
    net.shutdown(x!);
    net.crash(leader);
    net.crash(y!);
    net.advance(3 * T);
    assert.ok(net.machine(x!).deadline() > net.nowMs);
    assert.notEqual(net.machine(x!).raftStatus().role, 'leader', 'and it never campaigns');
  });
});
