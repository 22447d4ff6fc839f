/**
 * Bully fail-over figures with 5 real daemons (issue 3): kill -9, SIGTERM and SIGSTOP of the
 * leader until every survivor names the same new leader, and leader changes during a stable run
 * with 300 ms stalls of one node.
 */
import type { ApiEvent } from '../daemon/api/types.js';
import { LocalCluster, canUseNamespaces, sleep } from '../test/support/local-cluster.js';
import { parseNumberOptions, summarize } from './stats.js';

const SIZE = 5;
type Watcher = ReturnType<LocalCluster['watchEvents']>;

export async function run(args: string[]): Promise<void> {
  const opts = parseNumberOptions(args, { trials: 10, soakMs: 600_000, stallEveryMs: 20_000, stallMs: 300 });
  console.log(`bully bench: ${SIZE} daemons, preset lan, ${canUseNamespaces() ? 'real mDNS in a private network namespace' : 'loopback, static bootstrap'}; ${opts.trials} trials each`);
  const cluster = await LocalCluster.start({ size: SIZE, preset: 'lan', protocol: 'bully', priorities: [1, 2, 3, 4, 5] });
  try {
    await agreedLeader(cluster, cluster.nodes.map((n) => n.index), 30_000);
    const kill = await failover(cluster, 'SIGKILL', opts.trials);
    console.log(summarize('kill -9 of the leader → every survivor names the same new leader', kill, { p50: 300, p99: 1000 }));
    const term = await failover(cluster, 'SIGTERM', opts.trials);
    console.log(summarize('SIGTERM of the leader (graceful hand-off) → every survivor names the new leader', term, { p50: 50 }));
    const stop = await failover(cluster, 'SIGSTOP', opts.trials);
    console.log(summarize('SIGSTOP of the leader → every survivor names the same new leader (target: membership dead time + 300 ms)', stop));
    if (opts.soakMs > 0) await stableRun(cluster, opts.soakMs, opts.stallEveryMs, opts.stallMs);
  } finally {
    await cluster.stop();
  }
}

/** Waits until every listed node follows the same leader; returns that leader's index. */
async function agreedLeader(cluster: LocalCluster, nodes: number[], timeoutMs: number): Promise<number> {
  const name = await cluster.agreedLeader(nodes, timeoutMs);
  return cluster.nodes.find((n) => n.name === name)!.index;
}

async function failover(cluster: LocalCluster, signal: 'SIGKILL' | 'SIGTERM' | 'SIGSTOP', trials: number): Promise<number[]> {
  const times: number[] = [];
  for (let t = 0; t < trials; t++) {
    const all = cluster.nodes.map((n) => n.index);
    // Trials are independent: a node paused in the last trial doubts its own timing (Lifeguard)
    // for a few seconds after it resumes; start from a healthy cluster.
    await cluster.waitHealthy();
    const leader = await agreedLeader(cluster, all, 30_000);
    const leaderName = cluster.node(leader).name;
    const survivors = all.filter((i) => i !== leader);
    const watchers: Watcher[] = survivors.map((i) => cluster.watchEvents(i));
    await Promise.all(watchers.map((w) => w.ready));
    const t0 = Date.now();
    cluster.signal(leader, signal);
    const agreedAt = await cluster.waitFor('survivors agree on a new leader', 30_000, async () => {
      const last = watchers.map((w) => [...w.events].reverse().find((e) => e.type === 'leader-changed') as (ApiEvent & { receivedAtMs: number; to: { name: string } | null }) | undefined);
      if (!last.every((e) => e?.to && e.to.name !== leaderName)) return null;
      const names = new Set(last.map((e) => e!.to!.name));
      return names.size === 1 ? Math.max(...last.map((e) => e!.receivedAtMs)) : null;
    });
    times.push(agreedAt - t0);
    for (const w of watchers) w.stop();
    process.stderr.write(`  ${signal} trial ${t + 1}/${trials}: ${agreedAt - t0} ms\n`);
    if (signal === 'SIGSTOP') {
      cluster.signal(leader, 'SIGCONT');
    } else {
      await cluster.waitExit(leader, 5000).catch(() => cluster.signal(leader, 'SIGKILL'));
      cluster.startNode(leader);
      await cluster.waitForApi(leader);
    }
    // Let the returning node rejoin and settle before the next trial.
    await agreedLeader(cluster, all, 30_000);
    await sleep(500);
  }
  return times;
}

async function stableRun(cluster: LocalCluster, durationMs: number, everyMs: number, stallMs: number): Promise<void> {
  const all = cluster.nodes.map((n) => n.index);
  const leader = await agreedLeader(cluster, all, 30_000);
  const watchers = all.map((i) => cluster.watchEvents(i));
  await Promise.all(watchers.map((w) => w.ready));
  const end = Date.now() + durationMs;
  let stalls = 0;
  process.stderr.write(`  stable run: ${durationMs / 1000} s, the leader (node ${leader}) paused ${stallMs} ms every ${everyMs / 1000} s\n`);
  while (Date.now() < end) {
    await sleep(Math.min(everyMs, Math.max(0, end - Date.now())));
    if (Date.now() >= end) break;
    cluster.signal(leader, 'SIGSTOP');
    await sleep(stallMs);
    cluster.signal(leader, 'SIGCONT');
    stalls++;
    if (stalls % 5 === 0) process.stderr.write(`  stable run: ${stalls} stalls, ${Math.round((end - Date.now()) / 1000)} s left\n`);
  }
  await sleep(2000);
  const changes = watchers.map((w) => w.events.filter((e) => e.type === 'leader-changed').length);
  for (const w of watchers) w.stop();
  console.log(`stable run ${Math.round(durationMs / 60000)} min, ${stalls} stalls of ${stallMs} ms on the leader: leader changes seen per node ${JSON.stringify(changes)} (target 0)`);
}
