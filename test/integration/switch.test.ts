/**
 * Switching protocols by rolling restart on 5 real daemons (issue 13, README "Switching
 * protocols"): each node in turn is stopped and started again with `--protocol raft`, then back
 * with `--protocol bully`. Every node is sampled throughout: at no sample do two nodes report
 * leading, no node's fencing token goes back, and each new reign's token is above the last one's,
 * across the protocols (a Raft term starts above the Bully epochs, and back).
 */
import '../../daemon/polyfill.js';
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { ProtocolName } from '../../protocols/types.js';
import type { LeadershipHistoryReport } from '../../protocols/sim/leadership-history.js';
import { LeadershipSampler } from '../support/leadership-sampler.js';
import { LocalCluster } from '../support/local-cluster.js';

const SIZE = 5;
const clusters: LocalCluster[] = [];
after(async () => {
  await Promise.all(clusters.map((c) => c.stop()));
});

/** A bully cluster of SIZE with an agreed leader, every node sampled every `intervalMs` from then on. */
async function sampledCluster(intervalMs: number, extraArgs?: (i: number) => string[]) {
  const cluster = await LocalCluster.start({ size: SIZE, protocol: 'bully', preset: 'lan', ...(extraArgs ? { extraArgs } : {}) });
  clusters.push(cluster);
  const all = cluster.nodes.map((n) => n.index);
  const leaders: string[] = [await cluster.agreedLeader(all, 30_000)];
  const sampler = new LeadershipSampler(() => cluster.nodes.map((n) => ({ name: n.name, api: `unix:${n.socket}` })), intervalMs);
  return { cluster, all, leaders, sampler };
}

/**
 * What every switch keeps: never two leaders at a sample, no token going back (but the one gap
 * left, issue 13 and README "Switching protocols": a node that starts Raft with an empty log
 * reports token 0 until the first Raft leader record commits), each reign's token above the last.
 */
function assertSafeSwitches(report: LeadershipHistoryReport, leaders: readonly string[]): void {
  const context = `reigns ${JSON.stringify(report.reigns)}; leaders at the end of each switch ${leaders.join(', ')}`;
  assert.ok(report.rounds > 100, `sampled throughout (${report.rounds} rounds)`);
  assert.deepEqual(report.roundsWithTwoLeaders, [], `never two leaders at once; ${context}`);
  assert.deepEqual(report.tokenRegressions.filter((r) => r.to !== 0), [], `no node's token goes back but to 0 before its first Raft leader; ${context}`);
  const terms = report.reigns.map((r) => r.term);
  assert.deepEqual(terms, [...terms].sort((a, b) => a - b), `each reign's token above the last one's, across protocols; ${context}`);
  assert.equal(new Set(terms).size, terms.length, context);
}

describe('switching protocols live', { timeout: 120_000 }, () => {
  it('`conclave protocol switch` on a follower: bully → raft → bully, the leader stays leader, never two leaders, tokens only grow', async () => {
    const { cluster, all, leaders, sampler } = await sampledCluster(10);
    try {
      for (const to of ['raft', 'bully'] as const) {
        const follower = cluster.nodes.find((n) => n.name !== leaders.at(-1))!;
        const answer = await cluster.client(follower.index).switchProtocol(to);
        assert.match(answer.detail, new RegExp(`switched to ${to}`));
        leaders.push(await cluster.agreedLeader(all, 30_000));
        for (const i of all) {
          const status = await cluster.client(i).status();
          assert.equal(status.protocol, to, `n${i} runs ${to}`);
          assert.equal(status.era?.requested, to, `n${i} asks for ${to} now: its unchanged config does not ask to switch back`);
        }
      }
    } finally {
      const report = await sampler.stop();
      assertSafeSwitches(report, leaders);
      console.log(`# live switch: leaders ${leaders.join(' -> ')}; reigns ${report.reigns.map((r) => `${r.leader}@${r.term}`).join(', ')}; ${report.rounds} rounds`);
    }
    assert.deepEqual(new Set(leaders).size, 1, `the leader stays leader across both switches (${leaders.join(', ')})`);
  });
});

describe('switching protocols by rolling restart', { timeout: 240_000 }, () => {
  it('bully → raft → bully, one node at a time: never two leaders, tokens only grow, one leader at the end of each switch', async () => {
    const protocolOf = new Map<number, ProtocolName>();
    // The later --protocol wins over the cluster's.
    const { cluster, all, leaders, sampler } = await sampledCluster(25, (i) => ['--protocol', protocolOf.get(i) ?? 'bully']);
    try {
      for (const to of ['raft', 'bully'] as const) {
        for (const i of all) {
          cluster.signal(i, 'SIGTERM');
          await cluster.waitExit(i, 10_000);
          protocolOf.set(i, to);
          cluster.startNode(i);
          await cluster.waitForApi(i);
        }
        leaders.push(await cluster.agreedLeader(all, 60_000));
        for (const i of all) assert.equal((await cluster.client(i).status()).protocol, to, `n${i} runs ${to}`);
      }
    } finally {
      assertSafeSwitches(await sampler.stop(), leaders);
    }
  });
});
