/**
 * Bully machine behaviour, driven through BullyNet (no sockets). Each test cites the sentence of
 * issue 3 it checks.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ElectionMember } from '../election.js';
import { createRng } from '../rng.js';
import { createBully } from './bully.js';
import type { BullyMessage, BullyPersisted } from './messages.js';
import { BullyNet, specs, startedCluster, TEST_BULLY_CONFIG, TEST_SETTLED_MS } from './testing.js';

const settled = TEST_SETTLED_MS;

describe('bully: who leads', () => {
  it('"Rank = node.priority (higher wins), ties broken by node id": equal priorities elect the greatest id', () => {
    const net = startedCluster(5);
    assert.equal(net.agreedLeader(), 'n5');
  });

  it('"Rank = node.priority (higher wins)": a higher priority beats a greater id', () => {
    const net = startedCluster(5, TEST_BULLY_CONFIG, [0, 7, 0, 3, 0]);
    assert.equal(net.agreedLeader(), 'n2');
  });

  it('highest rank wins even when nodes start one by one within the settle period', () => {
    const net = new BullyNet(specs(5));
    for (const id of ['n1', 'n2', 'n3', 'n4', 'n5']) {
      net.start(id);
      net.advance(200);
    }
    net.advance(settled);
    assert.equal(net.agreedLeader(), 'n5');
  });

  it('"A starting node never claims leadership before it has had the chance to learn the current leader"', () => {
    const net = startedCluster(3);
    const epoch = net.summary('n3')!.term;
    net.nodes.set('n9', { spec: { id: 'n9', priority: 5, protocol: 'bully', puppet: false }, machine: null, disk: null, known: false, lastView: '', persists: 0 });
    net.start('n9');
    net.advance(settled);
    assert.equal(net.agreedLeader(), 'n3', 'the higher-priority newcomer follows the working leader');
    assert.equal(net.summary('n9')!.term, epoch);
    assert.equal(net.effectsOf('n9', 'election-started').length, 0);
  });

  it('a cluster starting for the first time elects once bootstrapExpect members are seen, without waiting out settleMs', () => {
    const config = TEST_BULLY_CONFIG;
    const m = createBully({ selfId: 'n3', config, bootstrapExpect: 3, rng: createRng(1), persisted: null, nowMs: 0 });
    m.step({ type: 'members', nowMs: 100, members: liveView(['n2', 'n3'], 'n3') });
    assert.deepEqual(m.drain().filter((e) => e.type === 'election-started'), [], 'two of three seen: it waits');
    m.step({ type: 'members', nowMs: 200, members: liveView(['n1', 'n2', 'n3'], 'n3') });
    assert.ok(200 < config.settleMs);
    const started = m.drain().filter((e) => e.type === 'election-started');
    assert.equal(started.length, 1, 'all three seen, none with a token or a leader: it elects at once');
  });

  it('a node whose peers report a token or a leader settles its whole settleMs, to learn the leader first', () => {
    const config = TEST_BULLY_CONFIG;
    for (const formed of [{ fencingToken: 4 }, { leader: 'n2' }, { role: 'leader' as const }]) {
      const m = createBully({ selfId: 'n3', config, bootstrapExpect: 3, rng: createRng(1), persisted: null, nowMs: 0 });
      const view = liveView(['n1', 'n2', 'n3'], 'n3').map((member) => (member.id === 'n2' ? { ...member, ...formed } : member));
      m.step({ type: 'members', nowMs: 200, members: view });
      assert.deepEqual(m.drain().filter((e) => e.type === 'election-started'), [], JSON.stringify(formed));
    }
  });

  it('"Epoch = fencing token": term and fencingToken report the epoch, and every member agrees on it', () => {
    const net = startedCluster(3);
    const leader = net.summary('n3')!;
    assert.ok(leader.term >= 1);
    for (const id of net.up()) assert.deepEqual(net.summary(id), { ...leader, role: id === 'n3' ? 'leader' : 'follower' });
  });
});

describe('bully: failover', () => {
  it('"An election starts when membership reports the leader gone": leader dead → next-ranked leads at a higher epoch', () => {
    const net = startedCluster(5);
    const before = net.summary('n5')!.term;
    net.crash('n5');
    net.advance(3000);
    assert.equal(net.agreedLeader(), 'n4');
    assert.ok(net.summary('n4')!.term > before);
  });

  it('reacts to `suspect` (the connection-closed hint) at once: no ELECTION to, and no wait for, the gone leader', () => {
    const net = startedCluster(5);
    net.crashedShowAs = 'suspect';
    const crashedAt = net.nowMs;
    net.crash('n5');
    assert.ok(net.advanceUntil(() => net.agreedLeader() === 'n4', 3000));
    // Virtual time: n4 claimed straight away instead of waiting answerTimeoutMs for n5.
    assert.ok(net.nowMs - crashedAt <= net.tickMs, `took ${net.nowMs - crashedAt} ms`);
    assert.deepEqual(net.sent.filter((m) => m.atMs >= crashedAt && m.to === 'n5' && m.message.type === 'ELECTION'), []);
  });

  it('a claim refused while the old leader still looked alive is accepted the moment it looks gone, with no resend', () => {
    const net = startedCluster(5);
    net.crashedShowAs = 'suspect';
    // n4 hears n5's connection close first and claims; the others still see n5 and refuse.
    const at = net.nowMs;
    net.suspect('n4', 'n5', 'connection-closed');
    assert.ok(net.sent.some((m) => m.atMs >= at && m.from === 'n1' && m.to === 'n4' && m.message.type === 'REJECT'));
    // A moment later they see it too.
    net.crash('n5');
    assert.ok(net.advanceUntil(() => net.agreedLeader() === 'n4', 3000));
    assert.ok(net.nowMs - at < TEST_BULLY_CONFIG.answerTimeoutMs, `took ${net.nowMs - at} ms`);
    const claimsToN1 = net.sent.filter((m) => m.atMs >= at && m.from === 'n4' && m.to === 'n1' && m.message.type === 'COORDINATOR' && m.message.kind !== 'renew');
    assert.equal(claimsToN1.length, 1, 'accepted without a resend');
  });

  it('a node that restarted a moment ago and learned the leader from gossip takes over at once when that leader dies', () => {
    const net = startedCluster(5);
    net.crashedShowAs = 'suspect';
    net.crash('n4');
    net.advance(1000);
    net.start('n4');
    net.advance(100);
    assert.equal(net.summary('n4')!.leader, 'n5', 'n4 follows n5, learned from gossip while settling');
    const at = net.nowMs;
    net.crash('n5');
    assert.ok(net.advanceUntil(() => net.agreedLeader() === 'n4', 3000));
    assert.ok(net.nowMs - at <= net.tickMs, `took ${net.nowMs - at} ms (settle window is ${TEST_BULLY_CONFIG.settleMs} ms)`);
  });

  it('a leader suspected from silence (maybe only slow) keeps leading: silence is no proof, the grant runs on', () => {
    const net = startedCluster(5);
    const epoch = net.summary('n5')!.term;
    const at = net.nowMs;
    net.suspect('n4', 'n5', 'silence');
    net.advance(2000);
    assert.deepEqual(net.effects.filter((e) => e.atMs >= at && e.effect.type === 'election-started'), []);
    assert.equal(net.agreedLeader(), 'n5');
    assert.equal(net.summary('n5')!.term, epoch);
  });

  it('a closed connection to a live leader at one follower deposes nobody: the others refuse its claim', () => {
    const net = startedCluster(5);
    const epoch = net.summary('n5')!.term;
    net.suspect('n4', 'n5', 'connection-closed');
    net.advance(3000);
    assert.deepEqual(net.leaders(), ['n5']);
    assert.equal(net.summary('n5')!.term, epoch);
    net.recover();
    net.advance(2000);
    assert.equal(net.agreedLeader(), 'n5');
  });

  it('a false suspicion at one follower causes no leader change (others still see the leader)', () => {
    const net = startedCluster(5);
    const epoch = net.summary('n5')!.term;
    net.suspect('n4', 'n5');
    net.advance(3000);
    assert.equal(net.agreedLeader(), 'n5');
    assert.equal(net.summary('n5')!.term, epoch);
  });

  it('a false suspicion whose ELECTION cannot reach the leader still deposes nobody', () => {
    const net = startedCluster(5);
    const epoch = net.summary('n5')!.term;
    // n4 loses its own link to n5 only: it will claim, but the others still follow a live n5.
    net.drop((m) => (m.from === 'n4' && m.to === 'n5') || (m.from === 'n5' && m.to === 'n4'));
    net.suspect('n4', 'n5');
    net.advance(2000);
    assert.deepEqual(net.leaders(), ['n5']);
    assert.equal(net.summary('n5')!.term, epoch);
    net.recover();
    net.advance(2000);
    assert.equal(net.agreedLeader(), 'n5');
    assert.equal(net.summary('n5')!.term, epoch, 'n5 never lost its epoch');
  });
});

describe('bully: no flapping', () => {
  it('"A higher-ranked node that joins or returns does not depose a working leader unless preempt: true"', () => {
    const net = startedCluster(5);
    net.crash('n5');
    net.advance(3000);
    const epoch = net.summary('n4')!.term;
    net.start('n5');
    net.advance(20_000);
    assert.equal(net.agreedLeader(), 'n4');
    assert.equal(net.summary('n5')!.term, epoch);
  });

  it('"with preempt: true, only after preemptDelayMs of stable membership"', () => {
    const config = { ...TEST_BULLY_CONFIG, preempt: true };
    const net = startedCluster(5, config);
    net.crash('n5');
    net.advance(3000);
    const returnedAt = net.nowMs;
    net.start('n5');
    assert.ok(net.advanceUntil(() => net.agreedLeader() === 'n5', 20_000));
    assert.ok(net.nowMs - returnedAt >= config.preemptDelayMs, 'not before the delay');
    assert.ok(net.nowMs - returnedAt <= config.preemptDelayMs + 1000, 'soon after it');
  });

  it('with preempt, membership churn restarts the stability clock', () => {
    const config = { ...TEST_BULLY_CONFIG, preempt: true };
    const net = startedCluster(5, config);
    net.crash('n5');
    net.advance(3000);
    net.start('n5');
    net.advance(config.preemptDelayMs - 1000);
    net.crash('n1');
    net.advance(config.preemptDelayMs - 500);
    assert.equal(net.agreedLeader(), 'n4', 'a member died 4.5 s ago: not stable long enough');
    net.advance(1500);
    assert.equal(net.agreedLeader(), 'n5');
  });

  it('"the old leader, if it returns while its leadership is already replaced, follows the newer epoch"', () => {
    const net = startedCluster(5);
    net.isolate('n5');
    assert.ok(net.advanceUntil(() => net.agreedLeader(['n1', 'n2', 'n3', 'n4']) === 'n4', 10_000));
    assert.equal(net.summary('n5')!.role, 'follower', 'its lease ran out before anyone else could lead');
    const epoch = net.summary('n4')!.term;
    net.recover();
    assert.ok(net.advanceUntil(() => net.agreedLeader() === 'n4', TEST_BULLY_CONFIG.leaseMs), 'n5 follows at the next renewal');
    assert.equal(net.summary('n5')!.term, epoch);
    net.advance(10_000);
    assert.equal(net.agreedLeader(), 'n4');
    assert.equal(net.summary('n4')!.term, epoch, 'no second leader change');
  });

  it('"a leader that receives ELECTION answers and re-asserts its current epoch instead of starting a new one"', () => {
    const net = startedCluster(3);
    const epoch = net.summary('n3')!.term;
    const m = net.machine('n3');
    m.step({ type: 'message', nowMs: net.nowMs, from: 'n1', message: { type: 'ELECTION', epoch, forced: false } });
    const sends = m.drain().filter((e) => e.type === 'send');
    assert.deepEqual(
      sends.map((e) => e.type === 'send' && { type: e.message.type, epoch: e.message.epoch, kind: e.message.type === 'COORDINATOR' ? e.message.kind : undefined }),
      [
        { type: 'ANSWER', epoch, kind: undefined },
        { type: 'COORDINATOR', epoch, kind: 'renew' },
      ],
    );
    assert.equal(net.summary('n3')!.term, epoch);
  });
});

describe('bully: quorum guard', () => {
  it('partition 2|3: the minority never has a leader, the majority has one', () => {
    const net = startedCluster(5);
    const minority = ['n4', 'n5'];
    const majority = ['n1', 'n2', 'n3'];
    net.partition(minority, majority);
    let minorityLeaderAfterLease = false;
    const cutAt = net.nowMs;
    net.onStep = () => {
      if (net.nowMs - cutAt > TEST_BULLY_CONFIG.leaseMs + net.tickMs && minority.some((id) => net.summary(id)?.role === 'leader')) minorityLeaderAfterLease = true;
    };
    net.advance(15_000);
    assert.equal(minorityLeaderAfterLease, false);
    assert.deepEqual(minority.map((id) => net.summary(id)!.leader), [null, null]);
    assert.equal(net.agreedLeader(majority), 'n3');
  });

  it('"a node becomes leader for epoch E only once a majority of the cluster has accepted its COORDINATOR(E)"', () => {
    const net = startedCluster(5);
    net.partition(['n4', 'n5'], ['n1', 'n2', 'n3']);
    net.advance(15_000);
    const claims = net.sent.filter((m) => m.message.type === 'COORDINATOR' && m.message.kind !== 'renew' && ['n4', 'n5'].includes(m.from) && m.atMs > 5000);
    assert.equal(claims.length, 0, 'the minority does not even claim (no epoch inflation)');
  });

  it('heal → one leader; the lower (epoch, rank) yields within one gossip round', () => {
    const net = startedCluster(5, { ...TEST_BULLY_CONFIG, quorum: 'none' });
    net.partition(['n4', 'n5'], ['n1', 'n2', 'n3']);
    net.advance(3000);
    assert.deepEqual(net.leaders().sort(), ['n3', 'n5'], 'without the guard each side elects');
    const higher = net.summary('n3')!.term > net.summary('n5')!.term ? 'n3' : 'n5';
    net.recover();
    assert.equal(net.agreedLeader(), higher, 'resolved in the healing step itself');
  });

  it('a renewal from a member whose connection we saw close is refused: two such nodes do not trade epochs for ever (quorum none)', () => {
    const net = startedCluster(2, { ...TEST_BULLY_CONFIG, quorum: 'none' });
    assert.equal(net.agreedLeader(), 'n2');
    net.suspect('n1', 'n2', 'connection-closed');
    // Before the fix, n2 followed n1's renewal, dropped it at once for the closed connection,
    // claimed, and n1 did the same: the pump never went quiet.
    net.suspect('n2', 'n1', 'connection-closed');
    assert.deepEqual(net.leaders().sort(), ['n1', 'n2'], 'each leads its side, as quorum none does');
    const terms = () => [net.summary('n1')!.term, net.summary('n2')!.term];
    const before = terms();
    net.advance(2 * TEST_BULLY_CONFIG.leaseMs);
    assert.deepEqual(terms(), before, 'renewals keep coming and are refused: no epoch climbs');
    net.recover();
    net.advance(1000);
    assert.ok(net.agreedLeader() !== null, 'healed: one leader');
  });

  it('"A leader that cannot reach a majority for leaseMs steps down"', () => {
    const net = startedCluster(5);
    // Cut off right after a renewal round, so the lease runs its whole length from here.
    const lastAcceptMs = () => net.sent.filter((m) => m.to === 'n5' && m.message.type === 'ACCEPT').at(-1)?.atMs ?? -1;
    const before = lastAcceptMs();
    while (lastAcceptMs() === before) net.advance(net.tickMs);
    net.isolate('n5');
    net.advance(TEST_BULLY_CONFIG.leaseMs - 200);
    assert.equal(net.summary('n5')!.role, 'leader', 'still within its lease');
    net.advance(400);
    assert.equal(net.summary('n5')!.role, 'follower');
    assert.equal(net.summary('n5')!.leader, null);
  });

  it('a renewal that names no lease neither extends nor ends the naming of its leader', () => {
    const config = TEST_BULLY_CONFIG;
    const m = createBully({ selfId: 'n1', config, bootstrapExpect: 3, rng: createRng(1), persisted: null, nowMs: 0 });
    m.step({ type: 'members', nowMs: 0, members: liveView(['n1', 'n2', 'n3'], 'n1') });
    m.step({ type: 'message', nowMs: 0, from: 'n2', message: { type: 'COORDINATOR', epoch: 5, kind: 'claim', round: 1, leaseMs: 0 } });
    m.step({ type: 'message', nowMs: 0, from: 'n2', message: { type: 'COORDINATOR', epoch: 5, kind: 'renew', round: 2, leaseMs: 1000 } });
    m.drain();
    const namedFor = (lease: number) => (lease * 0.98) / 1.02;
    const tickTo = (toMs: number) => {
      for (let t = 0; t <= toMs; t += 50) m.step({ type: 'tick', nowMs: t });
      m.step({ type: 'tick', nowMs: toMs });
    };
    tickTo(500);
    assert.equal(m.summary(500).leader, 'n2');
    m.step({ type: 'message', nowMs: 500, from: 'n2', message: { type: 'COORDINATOR', epoch: 5, kind: 'renew', round: 3, leaseMs: 0 } });
    assert.equal(m.summary(501).leader, 'n2', 'not ended');
    assert.equal(m.summary(Math.floor(namedFor(1000)) - 1).leader, 'n2');
    assert.equal(m.summary(Math.ceil(namedFor(1000)) + 1).leader, null, 'not extended: named as the last leased round said');
  });

  it('a leader whose followers keep accepting its renewals keeps its lease indefinitely', () => {
    const net = startedCluster(5);
    const epoch = net.summary('n5')!.term;
    net.advance(TEST_BULLY_CONFIG.leaseMs * 10);
    assert.equal(net.agreedLeader(), 'n5');
    assert.equal(net.summary('n5')!.term, epoch);
  });

  it('"a member accepts at most one coordinator per epoch (persisted, survives restart)"', () => {
    const config = TEST_BULLY_CONFIG;
    const first = createBully({ selfId: 'n1', config, bootstrapExpect: 3, rng: createRng(1), persisted: null, nowMs: 0 });
    const coordinator = (epoch: number): BullyMessage => ({ type: 'COORDINATOR', epoch, kind: 'claim', round: 1, leaseMs: 0 });
    const members = liveView(['n1', 'n2', 'n3'], 'n1');
    first.step({ type: 'members', nowMs: 0, members });
    first.drain();
    first.step({ type: 'message', nowMs: 0, from: 'n2', message: coordinator(5) });
    const effects = first.drain();
    const persisted = effects.filter((e) => e.type === 'persist').pop();
    assert.ok(persisted && persisted.type === 'persist');
    assert.deepEqual(persisted.batch.hardState, { v: 1, acceptedEpoch: 5, acceptedLeader: 'n2', leaseTo: 'n2', highestEpochSeen: 5, members: ['n1', 'n2', 'n3'], bootstrapped: true });
    assert.ok(effects.indexOf(persisted) < effects.findIndex((e) => e.type === 'send'), 'persisted before the reply');
    first.step({ type: 'message', nowMs: 0, from: 'n3', message: coordinator(5) });
    // n2 has only claimed: a follower names no leader before a renewal proves it leads.
    assert.deepEqual(sendsOf(first.drain()), [{ to: 'n3', message: { type: 'REJECT', epoch: 5, leader: null } }]);

    const restarted = createBully({ selfId: 'n1', config, bootstrapExpect: 3, rng: createRng(2), persisted: persisted.batch.hardState as BullyPersisted, nowMs: 10 });
    restarted.step({ type: 'members', nowMs: 10, members });
    restarted.drain();
    restarted.step({ type: 'message', nowMs: 10, from: 'n3', message: coordinator(5) });
    assert.equal(sendsOf(restarted.drain())[0]!.message.type, 'REJECT');
    restarted.step({ type: 'message', nowMs: 10, from: 'n2', message: coordinator(5) });
    assert.equal(sendsOf(restarted.drain())[0]!.message.type, 'ACCEPT');
    restarted.step({ type: 'message', nowMs: 10, from: 'n3', message: coordinator(4) });
    assert.deepEqual(sendsOf(restarted.drain())[0]!.message, { type: 'REJECT', epoch: 5, leader: null });
  });

  it('"persist the epoch before announcing it, so a restarted node never announces an older one"', () => {
    const net = startedCluster(3);
    const firstEpoch = net.summary('n3')!.term;
    net.crash('n3');
    net.advance(3000);
    assert.equal(net.agreedLeader(), 'n2');
    const secondEpoch = net.summary('n2')!.term;
    net.crash('n2');
    net.crash('n1');
    const restartedAt = net.nowMs;
    net.start('n3');
    net.start('n2');
    net.advance(settled);
    const claims = net.sent.filter((m) => m.from === 'n3' && m.atMs >= restartedAt && m.message.type === 'COORDINATOR');
    assert.ok(claims.length > 0);
    for (const c of claims) assert.ok(c.message.epoch > secondEpoch && secondEpoch > firstEpoch, JSON.stringify(c));
    assert.equal(net.agreedLeader(), 'n3');
    // The restarted node's disk already held the epoch when its summary first showed it.
    assert.equal(net.disk('n3')!.acceptedEpoch, net.summary('n3')!.term);
  });

  it('a node that restarts alone is no majority of one: it remembers the members it knew', () => {
    const net = startedCluster(3);
    net.crash('n1');
    net.isolate('n1');
    net.start('n1');
    net.advance(10_000);
    assert.equal(net.summary('n1')!.role, 'follower');
    assert.equal(net.summary('n1')!.leader, null);
    assert.deepEqual(net.disk('n1')!.members, ['n1', 'n2', 'n3']);
  });

  it('"Members running another protocol count in the cluster size, and are never messaged or obeyed"', () => {
    // Half of six is no majority: three Bully nodes beside three Raft nodes (a rolling switch) never lead.
    const even = new BullyNet([...specs(3), { id: 'r1', protocol: 'raft' }, { id: 'r2', protocol: 'raft' }, { id: 'r3', protocol: 'raft' }]);
    even.start();
    even.advance(settled);
    assert.equal(even.agreedLeader(), null, 'three Bully nodes of six members are not a majority');
    assert.ok(['n1', 'n2', 'n3'].every((id) => even.machine(id).summary(even.nowMs).role !== 'leader'));
    assert.deepEqual(even.disk('n1')!.members, ['n1', 'n2', 'n3', 'r1', 'r2', 'r3'], 'remembered durably, so a restart counts them too');
    const net = new BullyNet([...specs(3), { id: 'r1', protocol: 'raft' }, { id: 'r2', protocol: 'raft' }]);
    net.start();
    net.advance(settled);
    assert.equal(net.agreedLeader(), 'n3', 'three Bully nodes of five members are a majority');
    assert.equal(net.sent.filter((m) => m.to.startsWith('r')).length, 0);
    const forged: BullyMessage = { type: 'COORDINATOR', epoch: 99, kind: 'takeover', round: 1, leaseMs: 0 };
    net.machine('n1').step({ type: 'message', nowMs: net.nowMs, from: 'r1', message: forged });
    assert.deepEqual(net.machine('n1').drain(), []);
  });
});

describe('bully: members remembered from before a restart', () => {
  /**
   * n1 restarts remembering five live members and `x`, a member that died just before the
   * restart and that the others have since forgotten, then follows n5 (a renewal every 500 ms)
   * for `followMs`, or hears no leader at all. Returns the member list as last persisted.
   */
  const restartRemembering = (opts: { memberForgetAfterMs?: number; followMs: number; follow: boolean }): string[] => {
    const persisted: BullyPersisted = { v: 1, acceptedEpoch: 7, acceptedLeader: 'n5', leaseTo: 'n5', highestEpochSeen: 7, members: ['n1', 'n2', 'n3', 'n4', 'n5', 'x'], bootstrapped: true };
    const m = createBully({ selfId: 'n1', config: TEST_BULLY_CONFIG, bootstrapExpect: 3, rng: createRng(1), persisted, nowMs: 0, ...(opts.memberForgetAfterMs === undefined ? {} : { memberForgetAfterMs: opts.memberForgetAfterMs }) });
    m.step({ type: 'members', nowMs: 0, members: liveView(['n1', 'n2', 'n3', 'n4', 'n5'], 'n1') });
    let members = persisted.members as string[];
    const note = () => {
      for (const e of m.drain()) if (e.type === 'persist' && e.batch.hardState) members = (e.batch.hardState as BullyPersisted).members as string[];
    };
    let round = 1;
    // Ticks every 50 ms, as a host ticks at least at deadline(): a longer gap reads as a stall of ours.
    for (let t = 0; t <= opts.followMs; t += 50) {
      if (opts.follow && t % 500 === 0) m.step({ type: 'message', nowMs: t, from: 'n5', message: { type: 'COORDINATOR', epoch: 7, kind: 'renew', round: round++, leaseMs: TEST_BULLY_CONFIG.leaseMs } });
      m.step({ type: 'tick', nowMs: t });
      note();
    }
    return members;
  };

  it('one the view never lists stops counting once this node has followed a live leader for memberForgetAfterMs', () => {
    assert.ok(restartRemembering({ memberForgetAfterMs: 60_000, follow: true, followMs: 55_000 }).includes('x'), 'before: a restarted node does not shrink its majority at once');
    assert.deepEqual(restartRemembering({ memberForgetAfterMs: 60_000, follow: true, followMs: 62_000 }), ['n1', 'n2', 'n3', 'n4', 'n5']);
  });

  it('a highest-ranked node that cannot win by its count stays silent to ELECTIONs, so a lower node that can leads', () => {
    // n1 and n3 crash (n3 led); n3 comes back remembering x and y, two members the others had
    // forgotten: it counts 5, and 2 alive are no majority of 5. n2 counts 3 (n1 is dead, not
    // forgotten), and n2 with n3's grant is a majority of 3. n3 must not promise a claim it cannot
    // make: answering, it held n2 waiting for a COORDINATOR that never came, for ever.
    const net = startedCluster(3);
    assert.equal(net.agreedLeader(), 'n3');
    net.crash('n1');
    net.crash('n3');
    const disk = net.nodes.get('n3')!.disk!;
    net.nodes.get('n3')!.disk = { ...disk, members: [...disk.members, 'x', 'y'] };
    const restartedAtMs = net.nowMs;
    net.start('n3');
    net.advance(TEST_SETTLED_MS * 2);
    assert.equal(net.agreedLeader(), 'n2', JSON.stringify([net.summary('n2'), net.summary('n3')]));
    const late = net.sent.filter((m) => m.from === 'n3' && m.message.type === 'ANSWER' && m.atMs >= restartedAtMs + TEST_BULLY_CONFIG.settleMs);
    assert.deepEqual(late, [], 'no ANSWER once settled');
  });

  it('is kept while this node is not part of a working cluster, and for ever without memberForgetAfterMs', () => {
    assert.ok(restartRemembering({ memberForgetAfterMs: 60_000, follow: false, followMs: 120_000 }).includes('x'), 'no leader: a minority must not shrink the cluster to itself');
    assert.ok(restartRemembering({ follow: true, followMs: 120_000 }).includes('x'));
  });
});

describe('bully: a renewal behind a write', () => {
  it('a renewal that waits behind a write not yet durable grants no lease (0), and a leased one goes the moment the write is durable', () => {
    // A lease counted by the member from when a held renewal arrives would outlast the leader's
    // own count by however long the write took (sim seed 1529).
    const net = startedCluster(3);
    const leader = net.agreedLeader()!;
    net.holdDisk(leader);
    // A newcomer earns its place in the cluster size: the leader remembers it durably (a write).
    net.nodes.set('n0', { spec: { id: 'n0', priority: 0, protocol: 'bully', puppet: false }, machine: null, disk: null, known: false, lastView: '', persists: 0 });
    net.start('n0');
    const renewals = (sent: readonly { message: BullyMessage }[]) =>
      sent.flatMap((s) => (s.message.type === 'COORDINATOR' && s.message.kind === 'renew' ? [s.message] : []));
    for (let i = 0; i < 400 && renewals(net.heldSendsOf(leader)).length === 0; i++) net.advance(50);
    const held = renewals(net.heldSendsOf(leader));
    assert.ok(held.length > 0, 'a renewal waited behind the write');
    assert.ok(held.every((m) => m.leaseMs === 0), `held renewals grant nothing: ${JSON.stringify(held)}`);
    const before = net.sent.length;
    net.releaseDisk(leader);
    const after = renewals(net.sent.slice(before).filter((s) => s.from === leader));
    const leased = after.filter((m) => m.leaseMs > 0);
    assert.ok(leased.length >= 2, 'a leased round to every member at once');
    assert.ok(leased[0]!.round > held[0]!.round, 'in a round of its own');
    assert.equal(net.agreedLeader(), leader);
  });
});

describe('bully: metrics effects', () => {
  it('"election-started (term, reason) and election-finished (result, durationMs)" bracket every election', () => {
    const net = startedCluster(3);
    net.crash('n3');
    net.advance(3000);
    const started = net.effectsOf('n2', 'election-started');
    const finished = net.effectsOf('n2', 'election-finished');
    assert.ok(started.length >= 1);
    assert.equal(started.length, finished.length);
    const last = finished[finished.length - 1]!;
    assert.ok(last.type === 'election-finished' && last.result === 'won' && last.durationMs >= 0);
  });
});

function sendsOf(effects: ReturnType<ReturnType<typeof createBully>['drain']>): { to: string; message: BullyMessage }[] {
  return effects.flatMap((e) => (e.type === 'send' ? [{ to: e.to, message: e.message }] : []));
}

/** A view in which every id is a live Bully member (self marked), as membership reports it. */
function liveView(ids: string[], self: string): ElectionMember[] {
  return ids.map((id) => ({ id, name: id, state: 'alive', priority: 0, protocol: 'bully', self: id === self, role: 'follower', term: 0, leader: null, fencingToken: 0 }));
}
