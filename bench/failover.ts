/**
 * Fail-over figures of one election protocol with 5 real daemons (bench/bully.ts, bench/raft.ts):
 * kill -9, SIGTERM and SIGSTOP of the leader until every survivor names the same new leader, the
 * leader cut off with one other node (2 | 3, namespace LAN only), what keeping leadership costs,
 * and the measured overlap: every node's /v1/status sampled throughout, checked for two leaders
 * at once (target 0). Where etcd 3.4 is installed, the same kill -9, SIGTERM and SIGSTOP
 * fail-overs of a 5-member etcd cluster run in the same bench run, and the ratios are printed,
 * as each bench sees the agreement and by each survivor's own record (etcd-compare.ts). For Raft,
 * the SIGTERM hand-off's chain also runs in five bare processes, over Node's TCP and over the p2p
 * layer (handoff-floor.ts): what of the hand-off is Node, the transport and the daemon.
 */
import { spawnSync } from 'node:child_process';
import type { ProtocolName } from '../protocols/types.js';
import { join } from 'node:path';
import type { LeadershipHistoryReport } from '../protocols/sim/leadership-history.js';
import { LeadershipSampler } from '../test/support/leadership-sampler.js';
import { LocalCluster, canUseNamespaces, sleep, type ReceivedEvent } from '../test/support/local-cluster.js';
import { compareWithEtcd } from './etcd-compare.js';
import { handOffFloor } from './handoff-floor.js';
import { idleWindow } from './membership.js';
import { parseNumberOptions, percentile, summarize } from './stats.js';

const SIZE = 5;
/** Sampling every node this often throughout the fail-over trials. */
const SAMPLE_INTERVAL_MS = 20;
type Watcher = ReturnType<LocalCluster['watchEvents']>;
type Signal = 'SIGKILL' | 'SIGTERM' | 'SIGSTOP';

/**
 * Per trial, ms from just before the signal until every survivor names the new leader: `seen`,
 * when the last survivor's event reached this process (the figure the targets are for), and
 * `ownClock`, when the last survivor recorded it (its event's `at`, on this host's clock), which
 * leaves out the event's way here and compares with etcd's log lines (etcd-compare.ts).
 */
export interface FailoverTimes {
  seen: number[];
  ownClock: number[];
}

/** What differs between the protocols' benches. */
export interface FailoverBench {
  protocol: ProtocolName;
  /** Node priorities (Bully ranks by them); default: all equal. */
  priorities?: number[];
  targets: { SIGKILL: { p50?: number; p99?: number }; SIGTERM: { p50?: number; p99?: number } };
  /** How the SIGTERM trial hands over, for its label. */
  handOff: string;
  /** What keeping leadership costs an idle cluster, from /metrics: the messages the leader sends and receives. */
  leaseMessages: { sent: string; received: string; label: string };
}

export async function runFailoverBench(bench: FailoverBench, args: string[]): Promise<void> {
  // --partition 0 and --etcd 0 skip those parts; --soak-ms 0 the stable run; --sigkill 0,
  // --sigterm 0 and --sigstop 0 those fail-over trials (e.g. the SIGTERM hand-off alone);
  // --floor 0 the Raft hand-off's chain without the daemons (handoff-floor.ts).
  const opts = parseNumberOptions(args, { trials: 10, soakMs: 600_000, stallEveryMs: 20_000, stallMs: 300, partition: 1, etcd: 1, sigkill: 1, sigterm: 1, sigstop: 1, floor: 1 });
  console.log(`${bench.protocol} bench: ${SIZE} daemons, preset lan, ${canUseNamespaces() ? 'real mDNS in a private network namespace' : 'loopback, static bootstrap'}; ${opts.trials} trials each`);
  const results: Partial<Record<Signal, FailoverTimes>> = {};
  const cluster = await LocalCluster.start({ size: SIZE, preset: 'lan', protocol: bench.protocol, ...(bench.priorities ? { priorities: bench.priorities } : {}) });
  try {
    await agreedLeader(cluster, cluster.nodes.map((n) => n.index), 30_000);
    const sampler = new LeadershipSampler(
      () => cluster.nodes.map((n) => ({ name: n.name, api: `unix:${n.socket}` })),
      SAMPLE_INTERVAL_MS,
    );
    let report: LeadershipHistoryReport;
    const leaseAtStop: number[] = [];
    try {
      if (opts.sigkill) {
        results.SIGKILL = await failover(cluster, 'SIGKILL', opts.trials);
        console.log(summarize('kill -9 of the leader → every survivor names the same new leader', results.SIGKILL.seen, bench.targets.SIGKILL));
        console.log(ownClockLine(results.SIGKILL));
      }
      if (opts.sigterm) {
        results.SIGTERM = await failover(cluster, 'SIGTERM', opts.trials);
        console.log(summarize(`SIGTERM of the leader (${bench.handOff}) → every survivor names the new leader`, results.SIGTERM.seen, bench.targets.SIGTERM));
        console.log(ownClockLine(results.SIGTERM));
      }
      if (opts.sigstop) {
        results.SIGSTOP = await failover(cluster, 'SIGSTOP', opts.trials, leaseAtStop);
        const stopped = results.SIGSTOP.seen;
        console.log(summarize('SIGSTOP of the leader → every survivor names the same new leader (the lease must run out first)', stopped));
        console.log(ownClockLine(results.SIGSTOP));
        console.log(`  the stopped leader's lease still ran for p50 ${Math.round(percentile(leaseAtStop, 50))} ms (max ${Math.max(...leaseAtStop)}) when it stopped: fail-over minus that is the election itself, p50 ${Math.round(percentile(stopped.map((t, i) => t - leaseAtStop[i]!), 50))} ms`);
      }
    } finally {
      report = await sampler.stop();
    }
    printOverlap('during the kill -9, SIGTERM and SIGSTOP trials', report);
    await leaseCost(cluster, bench.leaseMessages);
    await footprint(cluster);
    if (opts.soakMs > 0) await stableRun(cluster, opts.soakMs, opts.stallEveryMs, opts.stallMs);
  } finally {
    await cluster.stop();
  }
  if (!opts.partition) console.log('partition (2 | 3): skipped (--partition 0)');
  else if (canUseNamespaces()) await partitionTrials(bench.protocol, opts.trials);
  else console.log('partition (2 | 3): skipped, needs root and ip for a namespace LAN');
  if (opts.floor && results.SIGTERM && bench.protocol === 'raft') await printHandOffFloor(results.SIGTERM, opts.trials);
  if (opts.etcd) await compareWithEtcd(results, opts.trials);
}

/**
 * The SIGTERM hand-off's chain run by bare processes (handoff-floor.ts), once the daemons are
 * stopped: what Node costs, what the p2p layer adds (on its direct links, as the daemons send,
 * and on its libp2p streams alone), and what the daemon adds above that.
 */
async function printHandOffFloor(sigterm: FailoverTimes, trials: number): Promise<void> {
  process.stderr.write(`  hand-off floor: the same chain in 5 bare processes, ${trials} trials each over Node's TCP, the p2p layer's direct links, and its libp2p streams\n`);
  const bare = await handOffFloor('bare', trials);
  const link = await handOffFloor('link', trials);
  const p2p = await handOffFloor('p2p', trials);
  const p50 = (v: readonly number[]) => percentile(v, 50);
  const own = p50(sigterm.ownClock);
  const at = (v: readonly number[]) => `p50 ${p50(v).toFixed(1)} ms (p99 ${percentile(v, 99).toFixed(1)})`;
  console.log(
    `SIGTERM hand-off's chain without the daemons (5 bare processes: TimeoutNow and votes, an O_DSYNC write, grants, the append; handoff-floor.ts): ` +
      `over Node's TCP ${at(bare)}, over Conclave's p2p layer on its direct links ${at(link)}, on its libp2p streams alone ${at(p2p)}; ` +
      `the daemons' own records p50 ${Math.round(own)} ms: ${(own / p50(link)).toFixed(1)}× the direct links' chain, which is ${(p50(link) / p50(bare)).toFixed(1)}× Node's`,
  );
}

/** Waits until every listed node follows the same leader; returns that leader's index. */
async function agreedLeader(cluster: LocalCluster, nodes: number[], timeoutMs: number): Promise<number> {
  const name = await cluster.agreedLeader(nodes, timeoutMs);
  return cluster.nodes.find((n) => n.name === name)!.index;
}

/** The same trials timed by the survivors' own records. */
function ownClockLine(times: FailoverTimes): string {
  const v = times.ownClock;
  return `  by the survivors' own records (each event's \`at\`): p50 ${Math.round(percentile(v, 50))} ms, p99 ${Math.round(percentile(v, 99))} ms`;
}

async function failover(cluster: LocalCluster, signal: Signal, trials: number, leaseAtStop: number[] = []): Promise<FailoverTimes> {
  const times: FailoverTimes = { seen: [], ownClock: [] };
  for (let t = 0; t < trials; t++) {
    const all = cluster.nodes.map((n) => n.index);
    // Trials are independent: a node paused in the last trial doubts its own timing (Lifeguard)
    // for a few seconds after it resumes; start from a healthy cluster, whose membership has
    // converged (just after a start, a new leader may not know a member yet and claim without it).
    await cluster.waitHealthy();
    await cluster.waitAllSeeAll();
    const leader = await agreedLeader(cluster, all, 30_000);
    const leaderName = cluster.node(leader).name;
    const survivors = all.filter((i) => i !== leader);
    // Only the events timed: the others (term, role, election, membership) would each cost this
    // process and the daemon CPU on the two cores the hand-off runs on (1-2 ms of a 20 ms one).
    const watchers: Watcher[] = survivors.map((i) => cluster.watchEvents(i, ['leader-changed']));
    await Promise.all(watchers.map((w) => w.ready));
    const lease = signal === 'SIGSTOP' ? (await cluster.client(leader).leader()).leaseRemainingMs : null;
    const t0 = Date.now();
    cluster.signal(leader, signal);
    if (lease !== null) leaseAtStop.push(lease);
    const { agreedAt, recordedAt } = await cluster.waitFor('survivors agree on a new leader', 30_000, async () => {
      const last = watchers.map((w) => [...w.events].reverse().find((e): e is Extract<ReceivedEvent, { type: 'leader-changed' }> => e.type === 'leader-changed'));
      if (!last.every((e) => e?.to && e.to.name !== leaderName)) return null;
      const names = new Set(last.map((e) => e!.to!.name));
      return names.size === 1 ? { agreedAt: Math.max(...last.map((e) => e!.receivedAtMs)), recordedAt: Math.max(...last.map((e) => Date.parse(e!.at))) } : null;
    });
    times.seen.push(agreedAt - t0);
    times.ownClock.push(recordedAt - t0);
    for (const w of watchers) w.stop();
    process.stderr.write(`  ${signal} trial ${t + 1}/${trials}: ${agreedAt - t0} ms (recorded by the survivors at ${recordedAt - t0})${lease !== null ? ` (its lease had ${lease} ms left)` : ''}\n`);
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

function printOverlap(when: string, report: LeadershipHistoryReport): void {
  console.log(
    `measured overlap ${when}: ${report.rounds} sampling rounds of every node (every ${SAMPLE_INTERVAL_MS} ms), ` +
      `${report.roundsWithTwoLeaders.length} with two leaders (target 0), ${report.ghostLeaders.length} answers naming a node that never led that term, ` +
      `${report.tokenRegressions.length} fencing-token regressions; ${report.reigns.length} reigns`,
  );
  for (const r of report.roundsWithTwoLeaders.slice(0, 5)) console.log(`  two leaders in round ${r.round}: ${r.leaders.join(', ')}`);
}

/** What keeping the lease costs an idle cluster: renewals and grants per second, from /metrics. */
async function leaseCost(cluster: LocalCluster, messages: FailoverBench['leaseMessages']): Promise<void> {
  const leader = await agreedLeader(cluster, cluster.nodes.map((n) => n.index), 30_000);
  const count = async (index: number, metric: string, type: string) => {
    const match = new RegExp(`^conclave_${metric}\\{type="${type}"\\} (\\S+)`, 'm').exec(await cluster.metricsText(index));
    return match ? Number(match[1]) : 0;
  };
  const windowMs = 10_000;
  const before = [await count(leader, 'messages_sent_total', messages.sent), await count(leader, 'messages_received_total', messages.received)];
  await sleep(windowMs);
  const after = [await count(leader, 'messages_sent_total', messages.sent), await count(leader, 'messages_received_total', messages.received)];
  const rate = (i: number) => ((after[i]! - before[i]!) * 1000) / windowMs;
  const lease = await cluster.client(leader).leader();
  console.log(
    `lease cost, idle: the leader sends ${rate(0).toFixed(1)} ${messages.sent}/s and receives ${rate(1).toFixed(1)} ${messages.received}/s (${SIZE - 1} followers; ${messages.label}); ` +
      `its lease had ${lease.leaseRemainingMs} ms left when asked`,
  );
}

/**
 * What the cluster costs idle after the trials (a window of 20 s): CPU and RSS per daemon, and the
 * log store's fsync time over its last 1024 fsyncs (conclave_wal_fsync_seconds) at each node.
 */
async function footprint(cluster: LocalCluster): Promise<void> {
  const idle = await idleWindow(cluster, 20_000);
  const fsync = async (index: number, q: string) => {
    const match = new RegExp(`^conclave_wal_fsync_seconds\\{quantile="${q}"\\} (\\S+)`, 'm').exec(await cluster.metricsText(index));
    return match ? Number(match[1]) * 1000 : NaN;
  };
  const nodes = cluster.nodes.map((n) => n.index);
  const p50 = await Promise.all(nodes.map((i) => fsync(i, '0.5')));
  const p99 = await Promise.all(nodes.map((i) => fsync(i, '0.99')));
  console.log(
    `idle footprint per daemon (20 s window): CPU % of one core median ${percentile(idle.cpuPercent, 50).toFixed(2)}, max ${Math.max(...idle.cpuPercent).toFixed(2)}; ` +
      `RSS MB median ${percentile(idle.rssMb, 50).toFixed(1)}; WAL fsync ms p50 ${percentile(p50, 50).toFixed(1)} (nodes ${p50.map((x) => x.toFixed(1)).join(', ')}), p99 ${percentile(p99, 50).toFixed(1)} (max ${Math.max(...p99).toFixed(1)})`,
  );
}

async function stableRun(cluster: LocalCluster, durationMs: number, everyMs: number, stallMs: number): Promise<void> {
  const all = cluster.nodes.map((n) => n.index);
  const leader = await agreedLeader(cluster, all, 30_000);
  const watchers = all.map((i) => cluster.watchEvents(i, ['leader-changed']));
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

/**
 * The leader and one other node cut off from the rest (blackhole routes on the namespace LAN of
 * scripts/cluster.sh): the majority names a new leader once the old lease ran out; heal; repeat.
 */
async function partitionTrials(protocol: ProtocolName, trials: number): Promise<void> {
  const root = new URL('../../', import.meta.url).pathname;
  const name = `bp${process.pid % 1000}`;
  const sh = (...args: string[]) => spawnSync('bash', [join(root, 'scripts/cluster.sh'), ...args, '--name', name], { encoding: 'utf8', env: { ...process.env, CONCLAVE_CLUSTER_NAME: undefined } });
  const up = sh('up', String(SIZE), '--protocol', protocol);
  if (up.status !== 0) throw new Error(`cluster.sh up failed:\n${up.stdout}\n${up.stderr}`);
  const nodes = [1, 2, 3, 4, 5].map((i) => ({ index: i, name: `n${i}`, api: `unix:${sh('sock', String(i)).stdout.trim()}` }));
  const sampler = new LeadershipSampler(() => nodes, SAMPLE_INTERVAL_MS);
  const times: number[] = [];
  try {
    const lastRound = () => sampler.samples.filter((s) => s.round === sampler.rounds - 1);
    const waitAgreed = async (among: string[], notName?: string): Promise<string> => {
      const deadline = Date.now() + 30_000;
      for (;;) {
        const answers = lastRound().filter((s) => among.includes(s.node));
        const leader = answers[0]?.leader;
        if (answers.length === among.length && leader && leader !== notName && answers.every((s) => s.leader === leader)) return leader;
        if (Date.now() > deadline) throw new Error(`no agreement among ${among.join(',')}: ${JSON.stringify(answers)}`);
        await sleep(5);
      }
    };
    for (let t = 0; t < trials; t++) {
      const leader = await waitAgreed(nodes.map((n) => n.name));
      const leaderIndex = Number(leader.slice(1));
      const partner = leaderIndex === 1 ? 2 : leaderIndex - 1;
      const minority = [leaderIndex, partner];
      const majority = nodes.map((n) => n.index).filter((i) => !minority.includes(i));
      const t0 = Date.now();
      sh('partition', minority.join(','), majority.join(','));
      await waitAgreed(majority.map((i) => `n${i}`), leader);
      times.push(Date.now() - t0);
      process.stderr.write(`  partition trial ${t + 1}/${trials}: ${times[times.length - 1]} ms\n`);
      sh('heal');
      await sleep(3000);
    }
  } finally {
    const report = await sampler.stop();
    sh('down');
    printOverlap('during the partition trials', report);
  }
  console.log(summarize('the leader cut off with one other node (2 | 3) → the majority names a new leader (the lease must run out first)', times));
}
