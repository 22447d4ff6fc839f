/**
 * Switching protocols on 5 real daemons (issue 13, README "Switching protocols"): Bully → Raft and
 * back by `conclave protocol switch`, by editing the config file and reloading each node (SIGHUP),
 * and by rolling restart (each node in turn stopped and started with `--protocol`). Every node is
 * sampled throughout: at no sample do two nodes report leading, no node's fencing token ever goes
 * back, and each new reign's token is above the last one's, across the protocols.
 */
import '../../daemon/polyfill.js';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import type { ProtocolName } from '../../protocols/types.js';
import type { LeadershipHistoryReport } from '../../protocols/sim/leadership-history.js';
import { LeadershipSampler } from '../support/leadership-sampler.js';
import { LocalCluster, sleep, type ClusterOptions } from '../support/local-cluster.js';

const SIZE = 5;
const clusters: LocalCluster[] = [];
after(async () => {
  await Promise.all(clusters.map((c) => c.stop()));
});

/** A bully cluster of SIZE with an agreed leader, every node sampled every `intervalMs` from then on. */
async function sampledCluster(intervalMs: number, options: Partial<ClusterOptions> = {}) {
  const cluster = await LocalCluster.start({ size: SIZE, protocol: 'bully', preset: 'lan', ...options });
  clusters.push(cluster);
  const all = cluster.nodes.map((n) => n.index);
  const leaders: string[] = [await cluster.agreedLeader(all, 30_000)];
  const sampler = new LeadershipSampler(() => cluster.nodes.map((n) => ({ name: n.name, api: `unix:${n.socket}` })), intervalMs);
  return { cluster, all, leaders, sampler };
}

/** What every switch keeps: never two leaders at a sample, no node's token ever going back, each reign's token above the last. */
function assertSafeSwitches(report: LeadershipHistoryReport, leaders: readonly string[]): void {
  const context = `reigns ${JSON.stringify(report.reigns)}; leaders at the end of each switch ${leaders.join(', ')}`;
  assert.ok(report.rounds > 100, `sampled throughout (${report.rounds} rounds)`);
  assert.deepEqual(report.roundsWithTwoLeaders, [], `never two leaders at once; ${context}`);
  assert.deepEqual(report.tokenRegressions, [], `no node's token goes back, across protocols; ${context}`);
  const terms = report.reigns.map((r) => r.term);
  assert.deepEqual(terms, [...terms].sort((a, b) => a - b), `each reign's token above the last one's, across protocols; ${context}`);
  assert.equal(new Set(terms).size, terms.length, context);
}

/** Every node runs `to` and asks for it (an unchanged config then does not ask to switch back). */
async function assertAllRun(cluster: LocalCluster, all: readonly number[], to: ProtocolName): Promise<void> {
  for (const i of all) {
    const status = await cluster.client(i).status();
    assert.equal(status.protocol, to, `n${i} runs ${to}`);
    assert.equal(status.era?.requested, to, `n${i} asks for ${to} now`);
  }
}

/**
 * Bully → Raft → Bully on a sampled cluster, each switch asked by `ask`; then every node runs
 * the new protocol naming one leader, the aftermath is sampled too (a switch takes tens of
 * milliseconds), and the whole history is checked: the same leader throughout.
 */
async function thereAndBack(label: string, sampled: Awaited<ReturnType<typeof sampledCluster>>, ask: (from: ProtocolName, to: ProtocolName) => Promise<void>): Promise<void> {
  const { cluster, all, leaders, sampler } = sampled;
  try {
    for (const [from, to] of [['bully', 'raft'], ['raft', 'bully']] as const) {
      await ask(from, to);
      await cluster.waitFor(`every node on ${to}`, 30_000, async () => (await Promise.all(all.map((i) => cluster.client(i).status()))).every((s) => s.protocol === to));
      leaders.push(await cluster.agreedLeader(all, 30_000));
      await sleep(1000);
      await assertAllRun(cluster, all, to);
    }
  } finally {
    const report = await sampler.stop();
    assertSafeSwitches(report, leaders);
    console.log(`# ${label}: leaders ${leaders.join(' -> ')}; reigns ${report.reigns.map((r) => `${r.leader}@${r.term}`).join(', ')}; ${report.rounds} rounds`);
  }
  assert.deepEqual(new Set(leaders).size, 1, `the leader stays leader across both switches (${leaders.join(', ')})`);
}

describe('switching protocols live', { timeout: 120_000 }, () => {
  it('`conclave protocol switch` on a follower: bully → raft → bully, the leader stays leader, never two leaders, tokens only grow', async () => {
    const sampled = await sampledCluster(10);
    await thereAndBack('live switch', sampled, async (_from, to) => {
      const follower = sampled.cluster.nodes.find((n) => n.name !== sampled.leaders.at(-1))!;
      const answer = await sampled.cluster.client(follower.index).switchProtocol(to);
      assert.match(answer.detail, new RegExp(`switched to ${to}`));
    });
  });
});

describe('switching protocols by reload', { timeout: 120_000 }, () => {
  it('the config file edited, then SIGHUP to each node in turn: bully → raft → bully once most ask, the leader stays, never two leaders, tokens only grow', async () => {
    const sampled = await sampledCluster(10, { protocol: null, yaml: 'protocol: bully\n' });
    const { cluster, all } = sampled;
    await thereAndBack('reload switch', sampled, async (from, to) => {
      writeFileSync(cluster.configPath, readFileSync(cluster.configPath, 'utf8').replace(`protocol: ${from}`, `protocol: ${to}`));
      for (const i of all) {
        cluster.signal(i, 'SIGHUP');
        await sleep(300);
      }
    });
  });
});

describe('switching protocols by rolling restart', { timeout: 240_000 }, () => {
  it('bully → raft → bully, one node at a time: never two leaders, tokens only grow, one leader at the end of each switch', async () => {
    const protocolOf = new Map<number, ProtocolName>();
    // The later --protocol wins over the cluster's.
    const { cluster, all, leaders, sampler } = await sampledCluster(25, { extraArgs: (i) => ['--protocol', protocolOf.get(i) ?? 'bully'] });
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
