/**
 * Bully ticked only when its deadline() falls due, as a host with one timer per machine drives
 * it (no periodic tick): a cluster still elects, renews and fails over, timers fire at their
 * instant rather than at the next step of a fixed tick, and no running node goes long enough
 * without a tick to mistake the gap for a stall of its own (bully.ts LIVENESS_TICK_DIVISOR).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { NodeId } from '../types.js';
import { BullyNet, specs, TEST_BULLY_CONFIG } from './testing.js';

const { leaseMs, settleMs } = TEST_BULLY_CONFIG;
const settled = settleMs + 3000;

/** A deadline-driven cluster, recording every node's longest gap between ticks in this life. */
function deadlineCluster(count: number): { net: BullyNet; maxTickGapMs: () => number; ticks: () => number; forget: (id: NodeId) => void } {
  const net = new BullyNet(specs(count));
  net.tickMode = 'deadline';
  const lastTickMs = new Map<NodeId, number>();
  let maxGapMs = 0;
  let ticks = 0;
  net.onTick = (id, nowMs) => {
    ticks += 1;
    maxGapMs = Math.max(maxGapMs, nowMs - (lastTickMs.get(id) ?? nowMs));
    lastTickMs.set(id, nowMs);
  };
  net.start();
  for (const id of net.up()) lastTickMs.set(id, net.nowMs);
  return { net, maxTickGapMs: () => maxGapMs, ticks: () => ticks, forget: (id) => lastTickMs.delete(id) };
}

function renewalsFrom(net: BullyNet, id: NodeId): number {
  return net.sent.filter((m) => m.from === id && m.message.type === 'COORDINATOR' && m.message.kind === 'renew').length;
}

describe('bully ticked only at its deadlines', () => {
  it('elects the highest rank, keeps it by renewals through many leases, and fails over when it crashes', () => {
    const { net, maxTickGapMs, ticks, forget } = deadlineCluster(5);
    net.advance(settled);
    assert.equal(net.agreedLeader(), 'n5');
    const epoch = net.summary('n5')!.term;

    const renewalsBefore = renewalsFrom(net, 'n5');
    const ticksBefore = ticks();
    net.advance(5 * leaseMs);
    assert.equal(net.agreedLeader(), 'n5', 'the leader keeps its lease with nothing but deadline ticks');
    assert.equal(net.summary('n5')!.term, epoch);
    // One round every leaseMs/4 to each of the four followers.
    assert.ok(renewalsFrom(net, 'n5') - renewalsBefore >= 4 * (5 * 4 - 1), `only ${renewalsFrom(net, 'n5') - renewalsBefore} renewals`);
    // A fixed 25 ms step would tick the five nodes 5 * 5 * leaseMs / 25 times.
    assert.ok(ticks() - ticksBefore < (5 * 5 * leaseMs) / 25 / 4, `${ticks() - ticksBefore} ticks: not driven by deadlines`);

    net.crash('n5');
    forget('n5');
    assert.ok(net.advanceUntil(() => net.agreedLeader() === 'n4', 3 * leaseMs), `after the crash: ${JSON.stringify(net.up().map((id) => net.summary(id)))}`);
    assert.ok(net.summary('n4')!.term > epoch);
    assert.ok(maxTickGapMs() <= leaseMs / 10, `a running node went ${maxTickGapMs()} ms without a tick`);
  });

  it('a leader cut off from its majority steps down at the instant its lease ends, not at a later tick', () => {
    const { net } = deadlineCluster(5);
    net.advance(settled);
    assert.equal(net.agreedLeader(), 'n5');
    const cutAtMs = net.nowMs;
    net.partition(['n4', 'n5'], ['n1', 'n2', 'n3']);
    const remainingMs = net.machine('n5').status(net.nowMs).leaseRemainingMs!;
    net.advance(leaseMs);
    const release = net.sent.find((m) => m.from === 'n5' && m.message.type === 'RELEASE' && m.atMs > cutAtMs);
    assert.ok(release, 'n5 released n4 when it stepped down');
    // leaseRemainingMs is floored: the lease ends within the millisecond after it.
    assert.ok(release.atMs >= cutAtMs + remainingMs && release.atMs < cutAtMs + remainingMs + 1, `stepped down at ${release.atMs} ms, lease ended at ${cutAtMs + remainingMs} ms`);
    assert.ok(net.advanceUntil(() => net.agreedLeader(['n1', 'n2', 'n3']) === 'n3', 3 * leaseMs), 'the majority side elects');
  });

  it('with pre-emption on, a returning higher node takes over once it has been stable preemptDelayMs', () => {
    const config = { ...TEST_BULLY_CONFIG, preempt: true, preemptDelayMs: 2000 };
    const net = new BullyNet(specs(3), config);
    net.tickMode = 'deadline';
    net.start();
    net.advance(settled);
    assert.equal(net.agreedLeader(), 'n3');
    net.crash('n3');
    assert.ok(net.advanceUntil(() => net.agreedLeader() === 'n2', 3 * leaseMs));
    net.start('n3');
    assert.ok(net.advanceUntil(() => net.agreedLeader() === 'n3', settleMs + config.preemptDelayMs + 2 * leaseMs), 'the higher node asked for, and got, leadership');
  });
});
