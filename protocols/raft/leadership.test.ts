/**
 * What the thesis adds to the paper's election, and the lease built on it: pre-vote (§9.6) with
 * etcd's fixes, check-quorum measured in time, leader stickiness (§4.2.3), leadership transfer
 * (§3.10), the forget-leader hint, the lease contract, shutdown, and bootstrap.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RAFT_COMMAND_ERRORS } from './commands.js';
import { DEFAULT_RAFT_CONFIG } from './config.js';
import { isHandoverRecord, type RaftMessage } from './messages.js';
import { RaftNet, type RaftTestEffect } from './testing.js';

const T = DEFAULT_RAFT_CONFIG.electionTimeoutMs;
const IDS = ['a', 'b', 'c'];

function sends(effects: RaftTestEffect[]): RaftMessage[] {
  return effects.flatMap((e) => (e.type === 'send' ? [e.message] : []));
}

/**
 * A follower `x` of three that hears nothing more, 0.9 T after the leader's last append reached
 * it: the stickiness that append gave runs out 0.1 T later. `y` is the other follower.
 */
function followerCutOffNearItsStickinessEnd() {
  const net = new RaftNet(IDS);
  const leader = net.elect();
  const term = net.machine(leader).raftStatus().term;
  const [x, y] = others(leader) as [string, string];
  net.drop((m) => m.to === x || m.from === x);
  net.advance(0.9 * T);
  return { net, leader, term, x, y, last: net.machine(x).raftStatus() };
}

function others(leader: string, ids = IDS): string[] {
  return ids.filter((id) => id !== leader);
}

describe('§9.6 pre-vote', () => {
  it('"a candidate would first ask other servers whether its log was up-to-date enough to get their vote": a partitioned node does not raise its term, and does not disrupt the leader when it returns', () => {
    const net = new RaftNet(IDS);
    const leader = net.elect();
    const term = net.machine(leader).raftStatus().term;
    const [x] = others(leader);
    net.isolate(x!);
    net.advance(10 * T);
    assert.equal(net.machine(x!).raftStatus().term, term, 'pre-votes change no term');
    assert.equal(net.machine(x!).raftStatus().role, 'pre-candidate');
    net.recover();
    net.advance(2 * T);
    assert.equal(net.agreedLeader(), leader);
    assert.equal(net.machine(leader).raftStatus().term, term);
  });

  it('a pre-vote of a lower term is refused with the responder\'s term (etcd #8243), and changes no term', () => {
    const net = new RaftNet(IDS);
    const leader = net.elect();
    const term = net.machine(leader).raftStatus().term;
    const [x] = others(leader);
    const reply = sends(net.inject(leader, x!, { type: 'VOTE', term: term - 1 || 1, preVote: true, lastLogIndex: 99, lastLogTerm: term, transfer: false }));
    if (term > 1) assert.deepEqual(reply, [{ type: 'VOTE_RESPONSE', term, preVote: true, granted: false }]);
    assert.equal(net.machine(x!).raftStatus().term, term);
  });

  it('a pre-candidate forgets its leader (etcd #9586): it no longer names it', () => {
    const net = new RaftNet(IDS);
    const leader = net.elect();
    const [x] = others(leader);
    net.isolate(x!);
    net.advanceUntil(() => net.machine(x!).raftStatus().role === 'pre-candidate', 3 * T);
    assert.equal(net.machine(x!).raftStatus().leader, null);
    assert.equal(net.summary(x!)!.leader, null);
  });
});

describe('check-quorum and leader stickiness', () => {
  it('a leader that has not heard from a majority within the election timeout steps down, measured in time (etcd #13527)', () => {
    const net = new RaftNet(IDS);
    const leader = net.elect();
    const cutAt = net.nowMs;
    net.isolate(leader);
    net.advanceUntil(() => net.machine(leader).raftStatus().role !== 'leader', 3 * T);
    assert.equal(net.machine(leader).raftStatus().role, 'follower');
    assert.ok(net.nowMs - cutAt <= T + DEFAULT_RAFT_CONFIG.heartbeatIntervalMs + net.tickMs, `stepped down after ${net.nowMs - cutAt} ms`);
  });

  it('a leader woken from a stall past its check-quorum deadline leads on if its followers answer a round it sends on waking, though its late tick comes first', () => {
    const net = new RaftNet(IDS);
    const leader = net.elect();
    const term = net.machine(leader).raftStatus().term;
    const pausedAt = net.nowMs;
    net.pause(leader);
    // Its check-quorum deadline passes while it is frozen: T after it last heard a majority.
    net.advance(T + net.tickMs);
    assert.deepEqual(net.sent.filter((m) => m.atMs > pausedAt && m.message.type === 'VOTE'), [], 'precondition: no follower campaigned yet (their timeouts are in [T, 2T))');
    net.resume(leader);
    // It wakes with a client's write waiting, and its late tick runs before its followers' answers arrive.
    net.hold = true;
    const put = net.kvAsk(leader, { kind: 'write', op: { kind: 'put', key: 'k', value: 'v' } });
    net.advance(net.tickMs);
    assert.equal(net.machine(leader).raftStatus().role, 'leader', 'on probation: its round is on its way');
    net.hold = false;
    net.pump();
    assert.ok(net.advanceUntil(() => net.kvAnswers.has(put), DEFAULT_RAFT_CONFIG.heartbeatIntervalMs));
    assert.equal(net.kvAnswers.get(put)!.ok, true);
    net.advance(2 * DEFAULT_RAFT_CONFIG.heartbeatIntervalMs);
    assert.equal(net.agreedLeader(), leader);
    assert.equal(net.machine(leader).raftStatus().term, term);
  });

  it('a leader woken from a stall past its check-quorum deadline does not count answers that waited through the stall, and steps down one heartbeat interval after waking when no other comes', () => {
    const net = new RaftNet(IDS);
    const leader = net.elect();
    // Its followers' answers to a round are on their way when it freezes.
    net.hold = true;
    net.advance(DEFAULT_RAFT_CONFIG.heartbeatIntervalMs);
    assert.ok(net.deliver((m) => m.from === leader && m.message.type === 'APPEND') > 0);
    net.pause(leader);
    net.hold = false;
    const pausedAt = net.nowMs;
    net.advance(T + net.tickMs);
    assert.ok(net.pending().some((m) => m.to === leader && m.message.type === 'APPEND_RESPONSE'), 'answers wait for it');
    assert.deepEqual(net.sent.filter((m) => m.atMs > pausedAt && m.message.type === 'VOTE'), [], 'precondition: no follower campaigned yet');
    // It wakes cut off: nothing it sends arrives, so only the old answers could vouch for it. Nor
    // can its followers elect (cut from each other), so nothing but check-quorum ends its reign.
    net.drop((m) => m.from === leader);
    const [x, y] = others(leader);
    net.cut(x!, y!);
    const wokeAt = net.nowMs;
    net.resume(leader);
    assert.ok(net.advanceUntil(() => net.machine(leader).raftStatus().role !== 'leader', T));
    const steppedDown = net.effects.filter((e) => e.node === leader && e.atMs >= wokeAt && e.effect.type === 'stepped-down').map((e) => e.effect);
    assert.deepEqual(steppedDown, [{ type: 'stepped-down', term: net.machine(leader).raftStatus().term, reason: 'check-quorum' }]);
    assert.ok(net.nowMs - wokeAt <= DEFAULT_RAFT_CONFIG.heartbeatIntervalMs + net.tickMs, `stepped down ${net.nowMs - wokeAt} ms after waking`);
  });

  it('§4.2.3: "if a server receives a RequestVote request within the minimum election timeout of hearing from a current leader, it does not update its term or grant its vote"', () => {
    const net = new RaftNet(IDS);
    const leader = net.elect();
    const term = net.machine(leader).raftStatus().term;
    const [x, y] = others(leader) as [string, string];
    const last = net.machine(y).raftStatus();
    for (const preVote of [true, false]) {
      const reply = net.inject(y, x, { type: 'VOTE', term: term + 1, preVote, lastLogIndex: last.lastIndex + 5, lastLogTerm: term, transfer: false });
      assert.deepEqual(sends(reply), [], 'ignored');
    }
    assert.equal(net.machine(x).raftStatus().term, term);
    // A transfer's campaign is the exception (thesis §3.10).
    const granted = sends(net.inject(y, x, { type: 'VOTE', term: term + 1, preVote: false, lastLogIndex: last.lastIndex, lastLogTerm: last.lastTerm, transfer: true }));
    assert.deepEqual(granted, [{ type: 'VOTE_RESPONSE', term: term + 1, preVote: false, granted: true, promise: true }]);
  });

  it('a grant to a transfer\'s vote request promises what an append would (`promise`): no other (pre-)vote but a transfer\'s for an election timeout from the grant', () => {
    const { net, leader, term, x, y, last } = followerCutOffNearItsStickinessEnd();
    const grant = sends(net.inject(y, x, { type: 'VOTE', term: term + 1, preVote: false, lastLogIndex: last.lastIndex, lastLogTerm: last.lastTerm, transfer: true }));
    assert.deepEqual(grant.map((m) => m.type === 'VOTE_RESPONSE' && m.granted && m.promise), [true]);
    net.advance(0.4 * T);
    // Past the leader's stickiness, within the grant's promise.
    const other = { type: 'VOTE', term: term + 2, lastLogIndex: last.lastIndex + 5, lastLogTerm: term, transfer: false } as const;
    assert.deepEqual(sends(net.inject(leader, x, { ...other, preVote: true })), [], 'a pre-vote is ignored');
    assert.deepEqual(sends(net.inject(leader, x, { ...other, preVote: false })), [], 'and so is a vote');
    net.advance(0.7 * T);
    assert.deepEqual(sends(net.inject(leader, x, { ...other, preVote: true })).map((m) => m.type === 'VOTE_RESPONSE' && m.granted), [true], 'the promise ends an election timeout after the grant');
  });

  it('a grant the leader asks for (TRANSFER_VOTE) with the successor\'s answer it received (`answered`) promises the same, from the grant, and says from which answer the successor may count it (`since`); without `answered` it promises nothing', () => {
    for (const answered of [12345, undefined]) {
      const { net, leader, term, x, y, last } = followerCutOffNearItsStickinessEnd();
      const vote: RaftMessage = { type: 'TRANSFER_VOTE', term, candidate: y, lastLogIndex: last.lastIndex, lastLogTerm: last.lastTerm, ...(answered !== undefined ? { answered } : {}) };
      const grant = sends(net.inject(leader, x, vote));
      assert.deepEqual(grant, [{ type: 'VOTE_RESPONSE', term: term + 1, preVote: false, granted: true, ...(answered !== undefined ? { promise: true, since: answered } : {}) }]);
      net.advance(0.4 * T);
      // Past the stickiness the leader's last append gave: only the grant's promise can refuse now.
      const other = { type: 'VOTE', term: term + 2, lastLogIndex: last.lastIndex + 5, lastLogTerm: term, preVote: true, transfer: false } as const;
      const answer = sends(net.inject(leader, x, other)).map((m) => m.type === 'VOTE_RESPONSE' && m.granted);
      assert.deepEqual(answer, answered !== undefined ? [] : [true], answered !== undefined ? 'promised: a pre-vote is ignored' : 'no promise: a pre-vote past the stickiness is granted');
    }
  });
});

describe('the lease (README "Leadership you can trust")', () => {
  it('summary(now) stops reporting leadership when the lease runs out, even with no step since', () => {
    const net = new RaftNet(IDS);
    const leader = net.elect();
    net.isolate(leader);
    const remaining = net.machine(leader).status(net.nowMs).leaseRemainingMs!;
    assert.ok(remaining > 0 && remaining < T);
    const m = net.machine(leader);
    assert.equal(m.summary(net.nowMs + remaining - 1).role, 'leader');
    assert.equal(m.summary(net.nowMs + remaining + 1).role, 'follower');
    assert.equal(m.status(net.nowMs + remaining + 1).leaseRemainingMs, null);
  });

  it('no new leader reports leadership while the old one\'s lease holds: the majority side elects only after it ran out', () => {
    const net = new RaftNet(['a', 'b', 'c', 'd', 'e']);
    const leader = net.elect();
    const leaseEnd = net.nowMs + net.machine(leader).status(net.nowMs).leaseRemainingMs!;
    const [x, ...rest] = others(leader, ['a', 'b', 'c', 'd', 'e']);
    // A silent partition: membership still shows everyone alive (no hint to forget the leader).
    const side = (id: string) => id === leader || id === x;
    net.drop((m) => side(m.from) !== side(m.to));
    net.onStep = () => assert.ok(net.leaders().length <= 1, `two leaders at ${net.nowMs}: ${net.leaders()}`);
    net.advance(4 * T);
    net.onStep = null;
    const now = net.leaders();
    assert.equal(now.length, 1);
    assert.ok(rest.includes(now[0]!));
    assert.ok(net.nowMs > leaseEnd);
  });

  it('a follower names the leader only once its record is committed, and never past the lease it was told of', () => {
    const net = new RaftNet(IDS);
    const leader = net.elect();
    const [x] = others(leader);
    net.cut(leader, x!);
    // x heard nothing since: it stops naming within one lease.
    const heardAt = net.nowMs;
    net.advanceUntil(() => net.summary(x!)!.leader === null, 2 * T);
    assert.ok(net.nowMs - heardAt <= T, `named ${net.nowMs - heardAt} ms after the last append`);
  });

  it('a leader whose lease ran out and comes back gives followers a lease only once its host can report it leading again (its writes of that step on disk)', () => {
    const net = new RaftNet(IDS);
    const leader = net.elect();
    // Followers' answers are held back: the leader keeps hearing nothing new, and its lease runs out.
    net.hold = true;
    const toFollowers = (m: { from: string; message: RaftMessage }) => m.from === leader && m.message.type === 'APPEND';
    assert.ok(net.advanceUntil(() => {
      net.deliver(toFollowers);
      return net.summary(leader)!.role !== 'leader';
    }, 2 * T), 'the lease ran out');
    assert.equal(net.machine(leader).raftStatus().role, 'leader', 'not yet stepped down (check-quorum comes later)');
    // A write of its own is on its way to disk when the answers arrive and the lease comes back.
    net.unannouncedWrites.add(leader);
    net.kvAsk(leader, { kind: 'write', op: { kind: 'put', key: 'k', value: 'v' } });
    const sentBefore = net.sent.length;
    net.deliver((m) => m.to === leader && m.message.type === 'APPEND_RESPONSE');
    net.advance(DEFAULT_RAFT_CONFIG.heartbeatIntervalMs);
    net.deliver(() => false);
    const lease = () => net.sent.slice(sentBefore).filter((m) => m.from === leader && m.message.type === 'APPEND').map((m) => (m.message as Extract<RaftMessage, { type: 'APPEND' }>).leaseMs);
    assert.ok(lease().length > 0);
    assert.ok(lease().every((ms) => ms === 0), `leases sent before its write is on disk: ${lease().join(', ')}`);
    // Its write on disk: the host reports it leading, and followers are given a lease again.
    net.machine(leader).step({ type: 'durable', nowMs: net.nowMs, persists: net.node(leader).persists });
    net.hold = false;
    net.unannouncedWrites.delete(leader);
    net.pump();
    net.advance(DEFAULT_RAFT_CONFIG.heartbeatIntervalMs);
    assert.ok(lease().some((ms) => ms > 0), 'a lease once the write is durable');
  });
});

describe('§3.10 leadership transfer', () => {
  it('transfer hands leadership to the named voter', () => {
    const net = new RaftNet(IDS);
    const leader = net.elect();
    const [to] = others(leader);
    const result = net.run(leader, { kind: 'transfer', to: to! });
    assert.equal(result.ok, true);
    net.advanceUntil(() => net.agreedLeader() === to, T);
    assert.equal(net.agreedLeader(), to);
  });

  it('resign hands leadership to the most caught-up voter', () => {
    const net = new RaftNet(IDS);
    const leader = net.elect();
    const [behind, ahead] = others(leader) as [string, string];
    // behind misses two leader records (two transfers while it is cut off).
    net.isolate(behind);
    assert.equal(net.run(leader, { kind: 'transfer', to: ahead }).ok, true);
    assert.equal(net.run(ahead, { kind: 'transfer', to: leader }).ok, true);
    net.recover();
    assert.equal(net.run(leader, { kind: 'resign' }).ok, true);
    net.advanceUntil(() => net.agreedLeader() !== null, 2 * T);
    assert.equal(net.agreedLeader(), ahead);
  });

  it('a transfer whose TimeoutNow and votes never arrive is abandoned after one election timeout, and the leader leads on', () => {
    const net = new RaftNet(IDS);
    const leader = net.elect();
    const [to] = others(leader);
    net.drop((m) => (m.to === to && m.message.type === 'TIMEOUT_NOW') || m.message.type === 'TRANSFER_VOTE');
    const result = net.run(leader, { kind: 'transfer', to: to! }, 3 * T);
    assert.deepEqual(result.ok ? null : result.code, RAFT_COMMAND_ERRORS.transferTimedOut);
    net.advance(2 * DEFAULT_RAFT_CONFIG.heartbeatIntervalMs);
    assert.equal(net.agreedLeader(), leader);
  });

  it('beside TimeoutNow the leader asks the other voters to vote for its successor: the successor wins on those votes, without asking anyone', () => {
    const net = new RaftNet(IDS);
    const leader = net.elect();
    const [to] = others(leader);
    const term = net.summary(leader)!.term;
    const sentBefore = net.sent.length;
    // The successor's own vote requests are lost: only the votes the leader asked for can elect it.
    net.drop((m) => m.from === to && m.message.type === 'VOTE');
    assert.equal(net.run(leader, { kind: 'transfer', to: to! }).ok, true);
    net.advanceUntil(() => net.agreedLeader() === to, T);
    assert.equal(net.agreedLeader(), to);
    assert.equal(net.summary(to)!.term, term + 1);
    const asks = net.sent.slice(sentBefore).filter((m) => m.message.type === 'TRANSFER_VOTE');
    assert.deepEqual(asks.map((m) => m.to).sort(), others(leader).filter((id) => id !== to).sort());
    assert.ok(asks.every((m) => m.from === leader && (m.message as { candidate: string }).candidate === to));
  });

  it('the successor does not ask again for the votes the leader asked for it, nor, of five voters, the old leader (those grants elect it with one of them missing)', () => {
    const five = ['a', 'b', 'c', 'd', 'e'];
    const net = new RaftNet(five);
    const leader = net.elect();
    const [to] = others(leader, five) as [string];
    const sentBefore = net.sent.length;
    assert.equal(net.run(leader, { kind: 'transfer', to }).ok, true);
    net.advanceUntil(() => net.agreedLeader() === to, T);
    assert.equal(net.agreedLeader(), to);
    assert.deepEqual(net.sent.slice(sentBefore).filter((m) => m.message.type === 'VOTE').map((m) => [m.from, m.to]), []);
  });

  it('a successor whose asked-for votes do not come asks the voters that have not answered, a heartbeat interval after its TimeoutNow', () => {
    const five = ['a', 'b', 'c', 'd', 'e'];
    const net = new RaftNet(five);
    const leader = net.elect();
    const [to, lost1, lost2, granting] = others(leader, five) as [string, string, string, string];
    // Two of the three TRANSFER_VOTEs are lost, and the old leader's answer: one grant and the successor's own make no majority of five.
    net.drop((m) => (m.message.type === 'TRANSFER_VOTE' && (m.to === lost1 || m.to === lost2)) || (m.from === leader && m.message.type === 'VOTE_RESPONSE'));
    const sentBefore = net.sent.length;
    net.command(leader, { kind: 'transfer', to });
    net.advanceUntil(() => net.summary(to)?.role === 'leader', T);
    assert.equal(net.summary(to)?.role, 'leader');
    const sent = net.sent.slice(sentBefore);
    const timeoutNowAt = sent.find((m) => m.message.type === 'TIMEOUT_NOW')!.atMs;
    const votes = sent.filter((m) => m.from === to && m.message.type === 'VOTE');
    const held = votes.filter((m) => m.atMs >= timeoutNowAt + DEFAULT_RAFT_CONFIG.heartbeatIntervalMs);
    assert.deepEqual(votes.filter((m) => !held.includes(m)).map((m) => m.to), [], 'none at once');
    assert.deepEqual(held.map((m) => m.to).sort(), [leader, lost1, lost2].sort(), `then those that have not answered, not ${granting}, whose grant came`);
  });

  it('of three voters with one frozen (membership still shows it alive), the successor wins at once on the old leader\'s vote', () => {
    const net = new RaftNet(IDS);
    const leader = net.elect();
    const [to, frozen] = others(leader) as [string, string];
    net.drop((m) => m.to === frozen || m.from === frozen);
    const start = net.nowMs;
    net.command(leader, { kind: 'transfer', to });
    net.advanceUntil(() => net.summary(to)?.role === 'leader', T);
    assert.equal(net.summary(to)?.role, 'leader');
    assert.ok(net.nowMs - start < DEFAULT_RAFT_CONFIG.heartbeatIntervalMs, `took ${net.nowMs - start} ms: it waited for the frozen voter`);
  });

  it('resign hands over to a voter that answered lately, not to one silent for two heartbeat intervals that membership still shows alive', () => {
    const five = ['a', 'b', 'c', 'd', 'e'];
    const net = new RaftNet(five);
    const leader = net.elect();
    // The lowest id, the one a tie would pick, goes silent (frozen: its messages are lost, membership has not noticed yet).
    const [silent] = others(leader, five) as [string];
    net.drop((m) => m.to === silent || m.from === silent);
    net.advance(3 * DEFAULT_RAFT_CONFIG.heartbeatIntervalMs);
    assert.equal(net.run(leader, { kind: 'resign' }).ok, true);
    const sent = net.sent.filter((m) => m.message.type === 'TIMEOUT_NOW');
    assert.deepEqual(sent.map((m) => m.to), [others(leader, five)[1]]);
  });

  it('resign hands over to the caught-up voter in contact the longest, not to one restarted a moment ago with the lowest id (etcd: longestConnected)', () => {
    const five = ['a', 'b', 'c', 'd', 'e'];
    const H = DEFAULT_RAFT_CONFIG.heartbeatIntervalMs;
    const net = new RaftNet(five);
    const leader = net.elect();
    const [restarted, steady] = others(leader, five) as [string, string];
    net.crash(restarted);
    net.advance(3 * H);
    net.start(restarted);
    // Back, caught up and answering every heartbeat: only its contact is shorter than the others'.
    net.advance(3 * H);
    const progress = net.machine(leader).status(net.nowMs).log!.peers;
    assert.ok(progress.every((p) => p.lag === 0 && p.lastContactMs !== null && p.lastContactMs <= 2 * H), JSON.stringify(progress));
    assert.equal(net.run(leader, { kind: 'resign' }).ok, true);
    const sent = net.sent.filter((m) => m.message.type === 'TIMEOUT_NOW');
    assert.deepEqual(sent.map((m) => m.to), [steady]);
  });

  it('a lost TimeoutNow does not stop the transfer: the successor campaigns once the voters asked for it gave it a majority', () => {
    const net = new RaftNet(IDS);
    const leader = net.elect();
    const [to] = others(leader);
    net.drop((m) => m.to === to && m.message.type === 'TIMEOUT_NOW');
    net.command(leader, { kind: 'transfer', to: to! });
    net.advanceUntil(() => net.agreedLeader() === to, T);
    assert.equal(net.agreedLeader(), to);
  });

  it('a voter gives its early vote only to a log as up to date as its own, only at the leader of its term, only for a voter', () => {
    const net = new RaftNet(IDS);
    const leader = net.elect();
    const [voter, candidate] = others(leader) as [string, string];
    const term = net.summary(voter)!.term;
    const last = net.machine(voter).raftStatus().lastIndex;
    const ask = (from: string, m: Partial<Extract<RaftMessage, { type: 'TRANSFER_VOTE' }>>) =>
      net.inject(from, voter, { type: 'TRANSFER_VOTE', term, candidate, lastLogIndex: last, lastLogTerm: term, ...m });
    const sentBefore = net.sent.length;
    const granted = () => net.sent.slice(sentBefore).filter((m) => m.from === voter && m.message.type === 'VOTE_RESPONSE' && m.message.granted).length;
    ask(leader, { lastLogIndex: last - 1 });
    ask(leader, { lastLogTerm: term - 1, lastLogIndex: last + 5 });
    ask(candidate, {});
    ask(leader, { candidate: 'not-a-voter' });
    ask(leader, { term: term - 1 });
    assert.equal(granted(), 0);
    assert.equal(net.summary(voter)!.term, term, 'no refused request moves its term');
    ask(leader, {});
    const grant = net.sent.slice(sentBefore).find((m) => m.from === voter && m.message.type === 'VOTE_RESPONSE');
    assert.deepEqual([grant?.to, grant?.message], [candidate, { type: 'VOTE_RESPONSE', term: term + 1, preVote: false, granted: true }]);
    assert.equal(net.summary(voter)!.term, term + 1);
  });

  it('once TimeoutNow left, the leader tells followers of no lease, so none names it past the hand-off (sim seed 82)', () => {
    const net = new RaftNet(IDS);
    const leader = net.elect();
    const [to] = others(leader);
    net.drop((m) => (m.to === to && m.message.type === 'TIMEOUT_NOW') || m.message.type === 'TRANSFER_VOTE');
    const sentBefore = net.sent.length;
    net.command(leader, { kind: 'transfer', to: to! });
    net.advance(T / 2);
    const appends = net.sent.slice(sentBefore).flatMap((m) => (m.from === leader && m.message.type === 'APPEND' ? [m.message.leaseMs] : []));
    assert.ok(appends.length > 0);
    assert.deepEqual([...new Set(appends)], [0]);
    assert.equal(net.summary(leader)!.role, 'follower', 'nor does it report leadership itself');
    for (const id of others(leader)) assert.equal(net.summary(id)!.leader, null);
  });

  it('a transfer cut short by check-quorum answers leadership-lost, not success', () => {
    const net = new RaftNet(IDS);
    const leader = net.elect();
    const [to] = others(leader);
    net.isolate(leader);
    net.advance(T / 2);
    const result = net.run(leader, { kind: 'transfer', to: to! }, 2 * T);
    assert.equal(result.ok ? 'ok' : result.code, RAFT_COMMAND_ERRORS.leadershipLost);
  });

  it('TimeoutNow waits until the leadership was announced: a round sent since the record committed was answered (sim seed 464)', () => {
    const net = new RaftNet(IDS);
    const first = net.elect();
    const [y] = others(first);
    const established = () => {
      const s = net.machine(y!).raftStatus();
      return s.role === 'leader' && s.commitIndex === s.lastIndex;
    };
    // Once y's record commits, nothing y sent since is answered.
    net.drop((m) => m.to === y && m.message.type === 'APPEND_RESPONSE' && established());
    assert.equal(net.run(first, { kind: 'transfer', to: y! }).ok, true);
    assert.ok(established());
    const sentBefore = net.sent.length;
    const result = net.run(y!, { kind: 'transfer', to: first }, 3 * T);
    assert.equal(result.ok, false);
    assert.ok(!net.sent.slice(sentBefore).some((m) => m.message.type === 'TIMEOUT_NOW'));
  });

  it('thesis §10.2.1: "the leader can write to its disk in parallel with replicating to the followers"; so do a candidate\'s vote requests, and each counts itself only once its write is durable', () => {
    const net = new RaftNet(IDS);
    const first = net.elect();
    const [next, away] = others(first);
    net.isolate(away!);
    // From here `next` hears of none of its writes being durable unless the test says so.
    net.unannouncedWrites.add(next!);
    const sentBefore = net.sent.length;
    const status = () => net.machine(next!).raftStatus();
    const from = (type: RaftMessage['type']) => net.sent.slice(sentBefore).filter((m) => m.from === next && m.message.type === type).map((m) => m.message);
    const durable = () => {
      net.machine(next!).step({ type: 'durable', nowMs: net.nowMs, persists: net.node(next!).persists });
      net.pump();
    };
    assert.equal(net.run(first, { kind: 'transfer', to: next! }).ok, true);
    assert.ok(from('VOTE').length > 0, 'the vote requests left before the new term was durable');
    assert.equal(status().role, 'candidate', 'granted by the old leader, but its own vote is not on disk: no majority of three');
    durable();
    assert.equal(status().role, 'leader');
    const record = status().lastIndex;
    const appends = () => from('APPEND') as Extract<RaftMessage, { type: 'APPEND' }>[];
    assert.ok(appends().some((a) => a.entries.some((e) => e.index === record)), 'the record went out before its write was durable');
    assert.equal(net.node(first).disk.entries.at(-1)?.index, record, 'and the old leader holds it');
    assert.ok(status().commitIndex < record, 'not committed on its own write still in flight');
    assert.ok(appends().every((a) => a.leaderCommit < record && a.leaseMs === 0), 'followers are not told before the host can report this leader (no ghost leader: sim seeds 322, 464, 14)');
    const sentBeforeCommit = appends().length;
    durable();
    assert.equal(status().commitIndex, record, 'committed once its own write is durable');
    assert.equal(net.summary(next!)!.role, 'leader', 'and reported at once: nothing of the commit is written first');
    const told = appends().slice(sentBeforeCommit).filter((a) => a.leaderCommit >= record);
    assert.ok(told.length > 0 && told.every((a) => a.leaseMs > 0), 'followers are told in the same step, with a lease');
    assert.equal(net.summary(first)!.leader, next);
  });

  it('a candidate granted by a majority of the others still leads only once its new term and vote are durable (else a crash could bring it back in the old term, free to lead this one again with another log)', () => {
    const ids = ['a', 'b', 'c', 'd', 'e'];
    const net = new RaftNet(ids);
    const first = net.elect();
    const [next] = others(first, ids);
    net.unannouncedWrites.add(next!);
    const sentBefore = net.sent.length;
    const status = () => net.machine(next!).raftStatus();
    assert.equal(net.run(first, { kind: 'transfer', to: next! }).ok, true);
    const term = status().term;
    const grants = net.sent.slice(sentBefore).filter((m) => m.to === next && m.message.type === 'VOTE_RESPONSE' && m.message.granted && m.message.term === term);
    assert.ok(grants.length >= 3, `a majority of five without its own vote granted (${grants.length})`);
    assert.equal(status().role, 'candidate', 'not leading a term its disk does not hold');
    assert.ok(!net.sent.slice(sentBefore).some((m) => m.from === next && m.message.type === 'APPEND'), 'nothing sent as leader of that term');
    net.machine(next!).step({ type: 'durable', nowMs: net.nowMs, persists: net.node(next!).persists });
    net.pump();
    assert.equal(status().role, 'leader', 'leads as soon as the write is durable');
    assert.ok(net.sent.slice(sentBefore).some((m) => m.from === next && m.message.type === 'APPEND' && m.message.term === term));
  });

  it('commands answer with clear error codes; a follower relays transfer to the leader', () => {
    const net = new RaftNet(IDS);
    const leader = net.elect();
    const [x] = others(leader);
    const code = (r: ReturnType<RaftNet['run']>) => (r.ok ? 'ok' : r.code);
    assert.equal(code(net.run(x!, { kind: 'transfer', to: leader })), 'ok', 'relayed: the leader already leads');
    assert.equal(code(net.run(x!, { kind: 'transfer', to: 'stranger' })), RAFT_COMMAND_ERRORS.notAVoter, "relayed: the leader's refusal comes back");
    assert.equal(code(net.run(leader, { kind: 'transfer', to: 'stranger' })), RAFT_COMMAND_ERRORS.notAVoter);
    assert.equal(code(net.run(leader, { kind: 'transfer', to: leader })), 'ok');
    assert.equal(code(net.run(leader, { kind: 'forget', id: x! })), RAFT_COMMAND_ERRORS.memberAlive);
    assert.equal(code(net.run(leader, { kind: 'elect' })), 'ok');
    assert.equal(net.agreedLeader(), leader);
  });

  it('elect on a follower asks its leader to hand over (a campaign could not pass stickiness); with no leader it campaigns through pre-vote', () => {
    const net = new RaftNet(IDS);
    const leader = net.elect();
    const [x] = others(leader);
    const result = net.run(x!, { kind: 'elect' });
    assert.equal(result.ok, true, JSON.stringify(result));
    assert.ok(net.advanceUntil(() => net.agreedLeader() === x, T));
    net.crash(x!);
    net.advance(10);
    net.run(leader, { kind: 'elect' });
    net.advanceUntil(() => net.agreedLeader() !== null, T);
    assert.notEqual(net.agreedLeader(), null);
  });
});

describe('fail-over hints and shutdown', () => {
  it('a dead leader is forgotten at once and a new one elected well within one election timeout', () => {
    const net = new RaftNet(['a', 'b', 'c', 'd', 'e']);
    const leader = net.elect();
    const crashedAt = net.nowMs;
    net.crash(leader);
    assert.ok(net.advanceUntil(() => net.agreedLeader() !== null, T));
    assert.ok(net.nowMs - crashedAt < T / 2, `fail-over took ${net.nowMs - crashedAt} ms`);
  });

  it('after a dead leader the survivors pre-vote one at a time in id order, so the first wins the next term without a split vote', () => {
    const ids = ['a', 'b', 'c', 'd', 'e'];
    const net = new RaftNet(ids);
    const leader = net.elect();
    const term = net.machine(leader).raftStatus().term;
    const from = net.sent.length;
    net.crash(leader);
    assert.ok(net.advanceUntil(() => net.agreedLeader() !== null, T));
    const first = others(leader, ids).sort()[0]!;
    assert.equal(net.agreedLeader(), first, 'the first in id order leads');
    assert.equal(net.machine(first).raftStatus().term, term + 1, 'in the next term: no split vote, no second round');
    const campaigners = new Set(net.sent.slice(from).filter((m) => m.message.type === 'VOTE').map((m) => m.from));
    assert.deepEqual([...campaigners], [first], 'the others granted it before their turn came');
  });

  it('followers name a new leader one round trip after it reports itself leader, not a heartbeat later', () => {
    const ids = ['a', 'b', 'c', 'd', 'e'];
    const net = new RaftNet(ids);
    const old = net.elect();
    net.crash(old);
    const survivors = others(old, ids);
    assert.ok(net.advanceUntil(() => survivors.some((id) => net.summary(id)?.role === 'leader'), T));
    const leader = survivors.find((id) => net.summary(id)?.role === 'leader')!;
    const reportedAt = net.nowMs;
    assert.ok(net.advanceUntil(() => survivors.every((id) => net.summary(id)?.leader === leader), T));
    assert.ok(net.nowMs - reportedAt < DEFAULT_RAFT_CONFIG.heartbeatIntervalMs / 2, `named ${net.nowMs - reportedAt} ms after it led`);
  });

  it('a leader whose connection was lost (suspect) is forgotten by its followers; the leader itself is unaffected', () => {
    const net = new RaftNet(IDS);
    const leader = net.elect();
    const term = net.machine(leader).raftStatus().term;
    net.connectionLost(leader);
    for (const id of others(leader)) {
      assert.equal(net.machine(id).raftStatus().leader, null, `${id} forgot the leader`);
      assert.equal(net.machine(id).raftStatus().term, term, 'and stays in its term');
    }
    // The leader keeps talking to them: a quorum decides, and it still has one.
    net.advance(2 * T);
    assert.ok(net.machine(leader).raftStatus().term >= term);
    assert.equal(net.leaders().length, 1);
  });

  it('a leader shutting down hands off to a live voter, not to a dead one that looks as caught up', () => {
    const net = new RaftNet(['a', 'b', 'c', 'd', 'e']);
    const leader = net.elect();
    const [dead, ...rest] = others(leader, ['a', 'b', 'c', 'd', 'e']).sort();
    net.crash(dead!);
    net.shutdown(leader);
    net.advanceUntil(() => net.effects.some((e) => e.node === leader && e.effect.type === 'shutdown-ready'), 3 * T);
    const timeoutNow = net.sent.find((m) => m.from === leader && m.message.type === 'TIMEOUT_NOW');
    assert.ok(timeoutNow && rest.includes(timeoutNow.to), `sent to ${timeoutNow?.to}`);
  });

  it('a leader shutting down hands off to the most caught-up voter, then is ready; a follower is ready at once', () => {
    const followerNet = new RaftNet(IDS);
    const [x] = others(followerNet.elect());
    followerNet.shutdown(x!);
    assert.ok(followerNet.effects.some((e) => e.node === x && e.effect.type === 'shutdown-ready'));
    const net = new RaftNet(IDS);
    const leader = net.elect();
    net.shutdown(leader);
    net.advanceUntil(() => net.effects.some((e) => e.node === leader && e.effect.type === 'shutdown-ready'), 3 * T);
    const mine = net.effects.filter((e) => e.node === leader).map((e) => e.effect);
    const handOff = mine.findIndex((e) => e.type === 'send' && e.message.type === 'TIMEOUT_NOW');
    const ready = mine.findIndex((e) => e.type === 'shutdown-ready');
    assert.ok(handOff >= 0 && ready > handOff, 'ready only after the hand-off');
    assert.notEqual(net.machine(leader).raftStatus().role, 'leader');
    net.advanceUntil(() => net.agreedLeader() !== null, T);
    assert.ok(others(leader).includes(net.agreedLeader()!));
  });

  it('a leader shutting down hands over with a record naming its successor for the next term: elected by voters that hold it, the successor appends no record of its own, and survivors name it with no follower write between the votes and the naming', () => {
    const ids = ['a', 'b', 'c', 'd', 'e'];
    const net = new RaftNet(ids);
    const leader = net.elect();
    const term = net.summary(leader)!.term;
    const survivors = others(leader, ids);
    // When each first led the next term (effects so far), and first reported leading it (messages sent so far).
    const wonAt = new Map<string, number>();
    const reportedAt = new Map<string, number>();
    net.onStep = () => {
      for (const id of survivors) {
        if (!wonAt.has(id) && net.machine(id).raftStatus().role === 'leader') wonAt.set(id, net.effects.length);
        if (!reportedAt.has(id) && net.summary(id)?.role === 'leader' && net.summary(id)?.term === term + 1) reportedAt.set(id, net.sent.length);
      }
    };
    net.shutdown(leader);
    const timeoutNow = net.sent.find((m) => m.from === leader && m.message.type === 'TIMEOUT_NOW');
    assert.ok(timeoutNow, 'TimeoutNow left');
    const to = timeoutNow.to;
    assert.ok(net.advanceUntil(() => survivors.every((id) => net.summary(id)?.leader === to), T));
    const log = net.machine(to).logEntries();
    const handover = log.find((e) => e.data.kind === 'leader' && e.data.leader === to);
    assert.deepEqual(handover && { term: handover.term, data: handover.data }, { term, data: { kind: 'leader', leader: to, term: term + 1 } }, 'the record is an entry of the old term naming the successor for the next');
    assert.deepEqual(log.filter((e) => e.term === term + 1), [], 'the successor appended nothing of its own');
    assert.equal(net.summary(to)!.fencingToken, term + 1);
    assert.ok(survivors.every((id) => net.summary(id)!.fencingToken === term + 1), 'every survivor names it with its token');
    assert.ok(wonAt.has(to));
    const followerWrites = net.effects.slice(wonAt.get(to)).filter((e) => e.node !== to && e.effect.type === 'persist' && (e.effect.batch.entries?.length ?? 0) > 0);
    assert.deepEqual(followerWrites, [], 'no follower wrote an entry after the successor won');
    const reported = reportedAt.get(to) ?? -1;
    const answers = net.sent.slice(0, reported).filter((m) => m.to === to && m.message.type === 'APPEND_RESPONSE' && m.message.term === term + 1);
    assert.ok(reported > 0 && answers.length === 0, 'it reported leading on the promises its vote requests were answered with, before any answer to its first round');
  });

  it('a successor handed over on shutdown leads with a lease on the grants the old leader asked for: they promise from its own last answer the old leader received, so it asks no voter for a vote (in five, not the old leader either), and reports before any answer to its first round', () => {
    const ids = ['a', 'b', 'c', 'd', 'e'];
    const net = new RaftNet(ids);
    const leader = net.elect();
    const term = net.summary(leader)!.term;
    const survivors = others(leader, ids);
    let reportedAt = -1;
    net.onStep = () => {
      if (reportedAt < 0 && survivors.some((id) => net.summary(id)?.role === 'leader' && net.summary(id)?.term === term + 1)) reportedAt = net.sent.length;
    };
    net.shutdown(leader);
    const to = net.sent.find((m) => m.from === leader && m.message.type === 'TIMEOUT_NOW')?.to;
    assert.ok(to !== undefined, 'TimeoutNow left');
    assert.ok(net.advanceUntil(() => survivors.every((id) => net.summary(id)?.leader === to), T), 'every survivor names the successor');
    const asked = net.sent.filter((m) => m.from === to && m.message.type === 'VOTE').map((m) => m.to);
    assert.deepEqual(asked, [], 'no vote requests');
    const before = net.sent.slice(0, reportedAt).filter((m) => m.to === to);
    assert.ok(reportedAt > 0, 'it reported leading');
    assert.deepEqual(before.filter((m) => m.message.type === 'APPEND_RESPONSE' && m.message.term === term + 1), [], 'before any answer to its first round');
    const promised = before.filter((m) => m.message.type === 'VOTE_RESPONSE' && m.message.promise === true && m.message.since !== undefined);
    assert.ok(promised.length >= 2, `on the promises of the grants the old leader asked for (${promised.length})`);
  });

  it('the successor campaigns on the handover record naming it, in the step that appends it (one write for the record and its vote), before the TimeoutNow comes', () => {
    const ids = ['a', 'b', 'c', 'd', 'e'];
    const net = new RaftNet(ids);
    const leader = net.elect();
    const term = net.summary(leader)!.term;
    net.hold = true;
    net.shutdown(leader);
    const to = net.pending().find((m) => m.message.type === 'TIMEOUT_NOW')?.to;
    assert.ok(to !== undefined, 'TimeoutNow queued');
    const effectsBefore = net.effects.length;
    assert.equal(net.deliver((m) => m.to === to && m.message.type === 'APPEND' && m.message.entries.some(isHandoverRecord)), 1);
    const status = net.machine(to).raftStatus();
    assert.deepEqual([status.role, status.term], ['candidate', term + 1], 'campaigning on the record alone');
    const persists = net.effects.slice(effectsBefore).filter((e) => e.node === to && e.effect.type === 'persist');
    assert.ok(persists.some((e) => e.effect.type === 'persist' && (e.effect.batch.entries?.length ?? 0) > 0), 'the record written');
    assert.ok(persists.some((e) => e.effect.type === 'persist' && e.effect.batch.hardState?.votedFor === to && e.effect.batch.hardState.term === term + 1), 'and the vote, in the same step');
    net.hold = false;
    net.pump();
    assert.ok(net.advanceUntil(() => others(leader, ids).every((id) => net.summary(id)?.leader === to), T), 'every survivor names it');
  });

  it('a leaving leader sends its successor the record and TimeoutNow before any other follower its record; the successor leaves the old leader out of the round that names it, and sends it later rounds last (each send wakes its receiver, which on a host shared by the members may run before the next send leaves)', () => {
    const ids = ['a', 'b', 'c', 'd', 'e'];
    const net = new RaftNet(ids);
    const leader = net.elect();
    const term = net.summary(leader)!.term;
    // The lowest id behind the leader goes silent, so the successor is not the first follower in the leader's order.
    const [silent] = others(leader, ids);
    net.drop((m) => m.to === silent || m.from === silent);
    net.advance(3 * DEFAULT_RAFT_CONFIG.heartbeatIntervalMs);
    net.hold = true;
    net.shutdown(leader);
    const fromLeader = net.pending().filter((m) => m.from === leader);
    const to = fromLeader.find((m) => m.message.type === 'TIMEOUT_NOW')?.to;
    assert.ok(to !== undefined && to !== silent, `TimeoutNow queued, not to the silent ${silent}`);
    assert.deepEqual(
      fromLeader.slice(0, 2).map((m) => [m.to, m.message.type]),
      [
        [to, 'APPEND'],
        [to, 'TIMEOUT_NOW'],
      ],
      'the successor\'s record and TimeoutNow leave first',
    );
    assert.ok(fromLeader.some((m) => m.to === silent && m.message.type === 'APPEND'), 'every follower gets the record');
    net.hold = false;
    net.pump();
    assert.ok(net.advanceUntil(() => others(leader, ids).filter((id) => id !== silent).every((id) => net.summary(id)?.leader === to), T), 'the survivors name the successor');
    const round = (n: number) => net.sent.filter((m) => m.from === to && m.message.type === 'APPEND' && m.message.term === term + 1 && m.message.round === n).map((m) => m.to);
    assert.deepEqual(round(1).slice().sort(), others(to, ids).filter((id) => id !== leader), 'the round that names it goes to every follower but the old leader');
    assert.equal(net.summary(leader)?.leader, null, 'the old leader has not heard of its successor yet');
    assert.ok(net.advanceUntil(() => round(2).length > 0, DEFAULT_RAFT_CONFIG.heartbeatIntervalMs + 1), 'a second round within a heartbeat interval');
    assert.deepEqual(round(2).slice().sort(), others(to, ids), 'the second round goes to every follower');
    assert.equal(round(2).at(-1), leader, `the old leader hears last (${round(2).join(', ')})`);
    assert.equal(net.summary(leader)?.leader, to, 'and then names its successor');
  });

  it('once its TimeoutNow is out a leader sends no commit notices (the successor\'s first append carries the commit), and followers do not answer a leaving leader\'s handover record', () => {
    const ids = ['a', 'b', 'c', 'd', 'e'];
    // A transfer with a write committed after the TimeoutNow left: the origin is the leader, so every follower would get a delayed notice.
    const net = new RaftNet(ids);
    const leader = net.elect();
    const [to, ...rest] = others(leader, ids) as [string, ...string[]];
    net.hold = true;
    net.kvAsk(leader, { kind: 'write', op: { kind: 'put', key: 'k', value: 'v' } });
    net.deliver((m) => m.from === leader && m.to === to && m.message.type === 'APPEND');
    net.deliver((m) => m.from === to && m.message.type === 'APPEND_RESPONSE');
    net.command(leader, { kind: 'transfer', to });
    const timeoutNow = net.sent.findIndex((m) => m.from === leader && m.message.type === 'TIMEOUT_NOW');
    assert.ok(timeoutNow >= 0, 'TimeoutNow left: the target holds the whole log');
    net.deliver((m) => m.from === leader && rest.includes(m.to) && m.message.type === 'APPEND');
    net.deliver((m) => rest.includes(m.from) && m.to === leader && m.message.type === 'APPEND_RESPONSE');
    assert.ok(net.machine(leader).raftStatus().commitIndex >= net.machine(leader).raftStatus().lastIndex, 'the write committed after the TimeoutNow');
    net.advance(2 * DEFAULT_RAFT_CONFIG.commitNoticeDelayMs);
    const after = net.sent.slice(timeoutNow + 1).filter((m) => m.from === leader && m.message.type === 'APPEND');
    assert.deepEqual(after.map((m) => m.to), [], 'no commit notice');

    // A leader shutting down: its handover record goes to every follower, and none answers it.
    const net2 = new RaftNet(ids);
    const leader2 = net2.elect();
    const term = net2.summary(leader2)!.term;
    const sentBefore = net2.sent.length;
    net2.shutdown(leader2);
    net2.advanceUntil(() => others(leader2, ids).every((id) => net2.summary(id)?.term === term + 1 && net2.summary(id)?.leader !== null), T);
    const handoverAppends = net2.sent.slice(sentBefore).filter((m) => m.from === leader2 && m.message.type === 'APPEND' && m.message.entries.some(isHandoverRecord));
    assert.equal(handoverAppends.length, 4, 'the record went to every follower');
    const answers = net2.sent.slice(sentBefore).filter((m) => m.to === leader2 && m.message.type === 'APPEND_RESPONSE' && m.message.term === term);
    assert.deepEqual(answers.map((m) => m.from), [], 'answered by none');
  });

  it('a grant whose promise names an answer the successor did not make (`since`: another life\'s, or forged) counts as a vote, not for the lease: it reports only once its first round is answered', () => {
    const ids = ['a', 'b', 'c', 'd', 'e'];
    const net = new RaftNet(ids);
    const leader = net.elect();
    const term = net.summary(leader)!.term;
    const survivors = others(leader, ids);
    // The old leader's grant and TRANSFER_VOTEs are lost; copies naming an answer the successor never made are delivered instead.
    net.drop((m) => m.from === leader && (m.message.type === 'VOTE_RESPONSE' || m.message.type === 'TRANSFER_VOTE'));
    net.hold = true;
    net.shutdown(leader);
    const transferVotes = net.sent.filter((m) => m.from === leader && m.message.type === 'TRANSFER_VOTE');
    assert.ok(transferVotes.length === 3 && transferVotes.every((m) => m.message.type === 'TRANSFER_VOTE' && m.message.answered !== undefined), 'the leader asked three voters, naming an answer');
    net.deliver((m) => m.from === leader && m.message.type !== 'TRANSFER_VOTE' && m.message.type !== 'VOTE_RESPONSE');
    for (const m of transferVotes) net.inject(m.from, m.to, { ...(m.message as Extract<RaftMessage, { type: 'TRANSFER_VOTE' }>), answered: 1 });
    net.hold = false;
    const to = transferVotes[0]!.message.type === 'TRANSFER_VOTE' ? transferVotes[0]!.message.candidate : '';
    let reportedAt = -1;
    net.onStep = () => {
      if (reportedAt < 0 && net.summary(to)?.role === 'leader' && net.summary(to)?.term === term + 1) reportedAt = net.sent.length;
    };
    assert.ok(net.advanceUntil(() => survivors.every((id) => net.summary(id)?.leader === to), T), 'every survivor names the successor');
    const bogus = net.sent.filter((m) => m.to === to && m.message.type === 'VOTE_RESPONSE' && m.message.since === 1);
    assert.ok(bogus.length >= 2, `grants naming the answer 1 (${bogus.length})`);
    const answersBefore = net.sent.slice(0, reportedAt).filter((m) => m.to === to && m.message.type === 'APPEND_RESPONSE' && m.message.term === term + 1);
    assert.ok(reportedAt > 0 && answersBefore.length > 0, 'it reported leading only after an answer to a round of its own');
  });

  it('with a member gossiping the older Raft dialect (a rolling upgrade), a leader shutting down hands over without a handover record, and nothing sent to that member carries a field its build would refuse', () => {
    const ids = ['a', 'b', 'c', 'd', 'e'];
    // The older member as the successor (the lowest id: all are caught up), then as a voter asked to vote.
    for (const role of ['successor', 'voter'] as const) {
      const net = new RaftNet(ids);
      const leader = net.elect();
      const term = net.summary(leader)!.term;
      const survivors = others(leader, ids);
      const older = role === 'successor' ? survivors[0]! : survivors[1]!;
      net.olderDialect.add(older);
      net.advance(net.tickMs);
      net.shutdown(leader);
      const to = net.sent.find((m) => m.from === leader && m.message.type === 'TIMEOUT_NOW')?.to;
      assert.ok(to !== undefined, `${role}: TimeoutNow left`);
      assert.equal(to === older, role === 'successor');
      assert.ok(net.advanceUntil(() => survivors.every((id) => net.summary(id)?.leader === to), 3 * T), `${role}: every survivor names ${to}`);
      assert.deepEqual(survivors.flatMap((id) => net.machine(id).logEntries().filter(isHandoverRecord)), [], `${role}: no handover record anywhere`);
      assert.ok(net.machine(to).logEntries().some((e) => e.term === term + 1 && e.data.kind === 'leader' && e.data.leader === to), `${role}: the successor appended its own record`);
      const refused = net.sent.filter((m) => m.to === older && ('holds' in m.message || 'promise' in m.message || 'handover' in m.message));
      assert.deepEqual(refused, [], `${role}: messages to the older member with dialect-2 fields`);
    }
  });

  it('a successor that never got the handover record does not count the grants that rest on it (they were given to a log it does not hold), and does not lead that term', () => {
    const ids = ['a', 'b', 'c', 'd', 'e'];
    const net = new RaftNet(ids);
    const leader = net.elect();
    const term = net.summary(leader)!.term;
    const isHandover = (m: RaftMessage) => m.type === 'APPEND' && m.entries.some(isHandoverRecord);
    const successor = () => net.sent.find((s) => s.from === leader && s.message.type === 'TIMEOUT_NOW')?.to ?? null;
    // The record's append to the successor is lost (TimeoutNow, sent in the same step, is queued by the time it is delivered).
    net.drop((m) => m.from === leader && isHandover(m.message) && m.to === successor());
    const ledNext: string[] = [];
    net.onStep = () => {
      for (const id of ids) if (net.machine(id).raftStatus().role === 'leader' && net.machine(id).raftStatus().term === term + 1 && !ledNext.includes(id)) ledNext.push(id);
    };
    net.shutdown(leader);
    const to = successor();
    assert.ok(to !== null, 'TimeoutNow left');
    assert.ok(!net.machine(to).logEntries().some((e) => e.term === term && e.data.kind === 'leader' && e.data.term === term + 1), 'the successor lacks the record');
    const grants = net.sent.filter((m) => m.to === to && m.message.type === 'VOTE_RESPONSE' && m.message.granted && m.message.holds !== undefined);
    assert.ok(grants.length >= 2, `grants resting on the record reached it (${grants.length})`);
    net.advance(3 * T);
    assert.ok(!ledNext.includes(to), `${to} led term ${term + 1} on grants given to a log it does not hold`);
    const next = net.agreedLeader();
    assert.ok(next !== null, 'a leader is elected after all');
    assert.ok(net.machine(next).logEntries().some((e) => e.data.kind === 'leader' && e.data.leader === to && e.data.term === term + 1), 'and its log holds the handover record (it may be committed)');
  });

  it('a leader shutting down with no voter to hand over to stops leading before it is ready (members release their promises to one that left)', () => {
    const net = new RaftNet(['a']);
    const leader = net.elect();
    net.shutdown(leader);
    net.advanceUntil(() => net.effects.some((e) => e.node === leader && e.effect.type === 'shutdown-ready'), 5 * T);
    const mine = net.effects.filter((e) => e.node === leader).map((e) => e.effect);
    const steppedDown = mine.findIndex((e) => e.type === 'stepped-down' && e.reason === 'shutdown');
    const ready = mine.findIndex((e) => e.type === 'shutdown-ready');
    assert.ok(steppedDown >= 0 && ready > steppedDown, `stepped down (${steppedDown}) before ready (${ready})`);
    assert.notEqual(net.summary(leader)?.role, 'leader');
  });
});

describe('bootstrap and voters', () => {
  it('no leader before bootstrapExpect members are alive; then the configuration is their sorted ids', () => {
    const net = new RaftNet(['c', 'a', 'b']);
    net.start('a', 'b');
    net.advance(5 * T);
    assert.deepEqual(net.leaders(), []);
    assert.deepEqual(net.machine('a').status(net.nowMs).bootstrap, { expect: 3, seen: 2, complete: false });
    net.start('c');
    net.advanceUntil(() => net.agreedLeader() !== null, 3 * T);
    assert.notEqual(net.agreedLeader(), null);
    for (const id of IDS) assert.deepEqual(net.machine(id).raftStatus().voters, ['a', 'b', 'c']);
    assert.deepEqual(net.machine('b').status(net.nowMs).bootstrap, { expect: 3, seen: 3, complete: true });
    assert.deepEqual(net.machine('a').logEntries()[0], { index: 1, term: 1, data: { kind: 'config', voters: ['a', 'b', 'c'], learners: [] } });
  });

  it('five nodes that all see each other at once with bootstrapExpect 3 form one cluster of five voters (they used to wait for exactly three, forever)', () => {
    const five = ['a', 'b', 'c', 'd', 'e'];
    const net = new RaftNet(five, DEFAULT_RAFT_CONFIG, 1, 3);
    net.start();
    net.advanceUntil(() => net.agreedLeader() !== null, 3 * T);
    assert.notEqual(net.agreedLeader(), null);
    for (const id of five) assert.deepEqual(net.machine(id).raftStatus().voters, five);
    assert.deepEqual(net.machine('e').status(net.nowMs).bootstrap, { expect: 3, seen: 5, complete: true });
  });

  it('a node that joins later is no voter: it never campaigns, follows the leader, and its vote requests are refused as not-a-member', () => {
    const { net, leader } = withLateJoiner();
    assert.equal(net.summary('d')!.leader, leader);
    assert.deepEqual(net.machine('d').raftStatus().voters, ['a', 'b', 'c']);
    assert.ok(!net.sent.some((m) => m.from === 'd' && m.message.type === 'VOTE'));
    const { term, lastIndex } = net.machine(leader).raftStatus();
    // Its log no further than the leader's: a learner, not a voter of a configuration the leader lacks.
    const refused = net.inject('d', leader, { type: 'VOTE', term: term + 1, preVote: true, lastLogIndex: lastIndex, lastLogTerm: term, transfer: false });
    assert.deepEqual(refused.map((e) => (e.type === 'refused' ? e.reason : e.type)), ['not-a-member']);
  });

  it('a live member whose log is ahead may be a voter of a configuration this node lacks: its vote request is answered, and the leader it became appends', () => {
    const { net, leader } = withLateJoiner();
    const { term, lastIndex } = net.machine(leader).raftStatus();
    const answered = net.inject('d', leader, { type: 'VOTE', term: term + 1, preVote: true, lastLogIndex: lastIndex + 1, lastLogTerm: term, transfer: false });
    assert.ok(!answered.some((e) => e.type === 'refused'), JSON.stringify(answered));
  });
});

/** a, b and c bootstrap (expect 3) and elect; d starts once they have, and has had time to follow. */
function withLateJoiner(): { net: RaftNet; leader: string } {
  const net = new RaftNet(['a', 'b', 'c', 'd'], DEFAULT_RAFT_CONFIG, 1, 3);
  net.start('a', 'b', 'c');
  net.advanceUntil(() => net.agreedLeader() !== null, 3 * T);
  const leader = net.agreedLeader()!;
  net.start('d');
  net.advance(5 * T);
  return { net, leader };
}
