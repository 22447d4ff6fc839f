/**
 * Membership figures for the `lan` preset with 5 real daemons (issue 2, section 5): convergence,
 * failure detection after kill -9 and SIGSTOP, SIGCONT before the verdict, false verdicts under
 * periodic 300 ms stalls, and idle cost (CPU, RSS, gossip bytes).
 */
import { LocalCluster, canUseNamespaces, sleep } from '../test/support/local-cluster.js';
import { MDNS_SEARCH_PHASE_MS } from '../daemon/p2p/constants.js';
import { etcdAvailable, etcdIdle, procCpuMs, procPssMb, procRssMb } from './etcd.js';
import { parseNumberOptions, percentile, sum, summarize } from './stats.js';

const SIZE = 5;

export async function run(args: string[]): Promise<void> {
  const opts = parseNumberOptions(args, { trials: 10, soakMs: 600_000, stallEveryMs: 20_000, stallMs: 300, idleMs: 20_000, settledAfterMs: 120_000 });
  console.log(`membership bench: ${SIZE} daemons, preset lan, ${canUseNamespaces() ? 'real mDNS in a private network namespace' : 'loopback, static bootstrap'}; ${opts.trials} trials each`);
  // `--trials 0 --soak-ms 0`: the idle figures alone (with `--settled-after-ms` to shorten the wait).
  if (opts.trials > 0) await convergence(opts.trials);
  const cluster = await LocalCluster.start({ size: SIZE, preset: 'lan' });
  try {
    await allAlive(cluster, 20_000);
    await idleCost(cluster, opts.idleMs, opts.settledAfterMs);
    if (opts.trials > 0) {
      await detection(cluster, 'SIGKILL', opts.trials);
      await detection(cluster, 'SIGSTOP', opts.trials);
      await contBeforeVerdict(cluster, opts.trials);
    }
    if (opts.soakMs > 0) await stallSoak(cluster, opts.soakMs, opts.stallEveryMs, opts.stallMs);
  } finally {
    await cluster.stop();
  }
}

/** Waits (polling every 50 ms) until each of `nodes` lists all of them `alive`. */
export async function allAlive(cluster: LocalCluster, timeoutMs: number, nodes = cluster.nodes.map((n) => n.index)): Promise<void> {
  await cluster.waitFor('every node to see every node alive', timeoutMs, async () => {
    for (const i of nodes) {
      const members = await cluster.members(i).catch(() => []);
      if (members.filter((m) => m.state === 'alive').length !== nodes.length) return false;
    }
    return true;
  });
}

async function convergence(trials: number): Promise<void> {
  const fromSpawn: number[] = [];
  const fromApi: number[] = [];
  for (let t = 0; t < trials; t++) {
    const cluster = await LocalCluster.start({ size: SIZE, preset: 'lan', initial: SIZE - 1 });
    try {
      await allAlive(cluster, 20_000, [1, 2, 3, 4]);
      const spawnedAt = Date.now();
      cluster.startNode(SIZE);
      await cluster.waitForApi(SIZE);
      const apiAt = Date.now();
      await allAlive(cluster, 20_000);
      const doneAt = Date.now();
      fromSpawn.push(doneAt - spawnedAt);
      fromApi.push(doneAt - apiAt);
      process.stderr.write(`  convergence trial ${t + 1}/${trials}: ${doneAt - apiAt} ms\n`);
    } finally {
      await cluster.stop();
    }
  }
  console.log(summarize('all 5 see all 5 alive, after the last daemon is up (API answering)', fromApi, { p50: 1000 }));
  console.log(summarize('  same, from the last daemon\'s process spawn (includes Node + libp2p start-up)', fromSpawn));
}

/** Time from the signal until every survivor has emitted member-dead for the victim. */
async function detection(cluster: LocalCluster, signal: 'SIGKILL' | 'SIGSTOP', trials: number): Promise<void> {
  const everySurvivor: number[] = [];
  const perSurvivor: number[] = [];
  for (let t = 0; t < trials; t++) {
    const victim = 2 + (t % (SIZE - 1));
    const victimName = cluster.node(victim).name;
    const survivors = cluster.nodes.map((n) => n.index).filter((i) => i !== victim);
    // Trials are independent: last trial's victim, just resumed, stretches its own timeouts for a
    // few seconds (Lifeguard). Start once every node is back to full confidence.
    await cluster.waitHealthy();
    const watchers = survivors.map((i) => cluster.watchEvents(i));
    await Promise.all(watchers.map((w) => w.ready));
    const t0 = Date.now();
    cluster.signal(victim, signal);
    const deadAt = await cluster.waitFor(`${victimName} dead at every survivor`, 20_000, async () => {
      const times = watchers.map((w) => w.events.find((e) => e.type === 'member-dead' && e.name === victimName));
      return times.every(Boolean) ? times.map((e) => e!.receivedAtMs - t0) : null;
    });
    everySurvivor.push(Math.max(...deadAt));
    perSurvivor.push(...deadAt);
    for (const w of watchers) w.stop();
    process.stderr.write(`  ${signal} trial ${t + 1}/${trials}: dead at every survivor after ${Math.max(...deadAt)} ms\n`);
    if (signal === 'SIGKILL') {
      await cluster.waitExit(victim);
      cluster.startNode(victim);
      await cluster.waitForApi(victim);
    } else {
      cluster.signal(victim, 'SIGCONT');
    }
    await allAlive(cluster, 20_000);
  }
  const targets = signal === 'SIGKILL' ? { p50: 1000, p99: 2000 } : { p50: 3000 };
  console.log(summarize(`${signal === 'SIGKILL' ? 'kill -9' : 'SIGSTOP'} of one → dead at every survivor`, everySurvivor, targets));
  console.log(summarize('  per survivor', perSurvivor));
}

/** SIGSTOP until suspected, SIGCONT at once: back to alive with no dead verdict anywhere. */
async function contBeforeVerdict(cluster: LocalCluster, trials: number): Promise<void> {
  let deadVerdicts = 0;
  let recovered = 0;
  const suspectToAlive: number[] = [];
  for (let t = 0; t < trials; t++) {
    const victim = 2 + (t % (SIZE - 1));
    const victimName = cluster.node(victim).name;
    const watchers = cluster.nodes.map((n) => cluster.watchEvents(n.index));
    await Promise.all(watchers.map((w) => w.ready));
    cluster.signal(victim, 'SIGSTOP');
    await cluster.waitFor(`${victimName} suspected`, 20_000, async () => watchers.some((w) => w.events.some((e) => e.type === 'member-suspect' && e.name === victimName)));
    const contAt = Date.now();
    cluster.signal(victim, 'SIGCONT');
    await allAlive(cluster, 10_000);
    suspectToAlive.push(Date.now() - contAt);
    await sleep(2000);
    const dead = watchers.flatMap((w) => w.events.filter((e) => e.type === 'member-dead'));
    deadVerdicts += dead.length;
    if (dead.length === 0) recovered++;
    for (const w of watchers) w.stop();
  }
  console.log(`SIGSTOP until suspected, then SIGCONT: ${recovered}/${trials} trials back to alive with no dead verdict; dead verdicts recorded: ${deadVerdicts} (target 0)`);
  console.log(summarize('  SIGCONT → alive everywhere', suspectToAlive));
}

/** One node paused for `stallMs` every `everyMs` (SIGSTOP/SIGCONT): count false dead verdicts. */
async function stallSoak(cluster: LocalCluster, durationMs: number, everyMs: number, stallMs: number): Promise<void> {
  const watchers = cluster.nodes.map((n) => cluster.watchEvents(n.index));
  await Promise.all(watchers.map((w) => w.ready));
  const victim = 3;
  const end = Date.now() + durationMs;
  let stalls = 0;
  process.stderr.write(`  stall soak: ${durationMs / 1000} s, node ${victim} paused ${stallMs} ms every ${everyMs / 1000} s\n`);
  while (Date.now() < end) {
    await sleep(Math.min(everyMs, Math.max(0, end - Date.now())));
    if (Date.now() >= end) break;
    cluster.signal(victim, 'SIGSTOP');
    await sleep(stallMs);
    cluster.signal(victim, 'SIGCONT');
    stalls++;
    if (stalls % 5 === 0) process.stderr.write(`  stall soak: ${stalls} stalls, ${Math.round((end - Date.now()) / 1000)} s left\n`);
  }
  await sleep(3000);
  const dead = watchers.flatMap((w) => w.events.filter((e) => e.type === 'member-dead'));
  const suspect = watchers.flatMap((w) => w.events.filter((e) => e.type === 'member-suspect'));
  for (const w of watchers) w.stop();
  console.log(`stall soak ${Math.round(durationMs / 60000)} min, ${stalls} stalls of ${stallMs} ms: false dead verdicts ${dead.length} (target 0), suspicions ${suspect.length}`);
}

/** CPU % of one core, RSS, PSS and gossip bytes/s of every daemon over `windowMs` from now. */
export async function idleWindow(cluster: LocalCluster, windowMs: number): Promise<{ cpuPercent: number[]; rssMb: number[]; pssMb: number[]; bytesPerSec: number[] }> {
  const pids = cluster.nodes.map((n) => n.process!.pid!);
  const cpuBefore = pids.map(procCpuMs);
  const bytesBefore = await Promise.all(cluster.nodes.map((n) => gossipBytesSent(cluster, n.index)));
  await sleep(windowMs);
  const cpuAfter = pids.map(procCpuMs);
  const bytesAfter = await Promise.all(cluster.nodes.map((n) => gossipBytesSent(cluster, n.index)));
  return {
    cpuPercent: pids.map((_, i) => ((cpuAfter[i]! - cpuBefore[i]!) / windowMs) * 100),
    rssMb: pids.map(procRssMb),
    pssMb: pids.map(procPssMb),
    bytesPerSec: bytesAfter.map((b, i) => (b - bytesBefore[i]!) / (windowMs / 1000)),
  };
}

/**
 * Two windows: right after the first seconds of fast mDNS queries, and once V8 has finished
 * optimising the hot paths. A daemon's first minute or two costs about twice its settled CPU
 * (TurboFan compiling on background threads); the target is about the settled daemon, and both
 * figures are printed so the warm-up stays visible.
 */
async function idleCost(cluster: LocalCluster, windowMs: number, settledAfterMs: number): Promise<void> {
  const formedAt = Date.now();
  await sleep(MDNS_SEARCH_PHASE_MS + 2000);
  const warming = await idleWindow(cluster, windowMs);
  console.log(`idle, ${windowMs / 1000} s windows, per daemon:`);
  console.log(`  warming up (from ${(MDNS_SEARCH_PHASE_MS + 2000) / 1000} s after the cluster formed): CPU % of one core median ${percentile(warming.cpuPercent, 50).toFixed(2)}, max ${Math.max(...warming.cpuPercent).toFixed(2)}`);
  await sleep(Math.max(0, formedAt + settledAfterMs - Date.now()));
  const settled = await idleWindow(cluster, windowMs);
  const cpu = settled.cpuPercent;
  console.log(`  settled (from ${settledAfterMs / 1000} s after the cluster formed): CPU % of one core median ${percentile(cpu, 50).toFixed(2)}, max ${Math.max(...cpu).toFixed(2)} (target ≤ 1.5)`);
  console.log(`  RSS MB: median ${percentile(settled.rssMb, 50).toFixed(1)}, max ${Math.max(...settled.rssMb).toFixed(1)} (target ≤ 60)`);
  console.log(`  PSS MB (pages the daemons share, the node binary's most of all, divided among them): median ${percentile(settled.pssMb, 50).toFixed(1)}, all ${cluster.nodes.length} together ${sum(settled.pssMb).toFixed(0)}`);
  console.log(`  gossip bytes sent per second: median ${Math.round(percentile(settled.bytesPerSec, 50))}, max ${Math.round(Math.max(...settled.bytesPerSec))}`);
  await idleEtcd(windowMs, cpu, settled.rssMb, settled.pssMb);
}

/** The same window on an idle 5-member etcd at its defaults, with the ratios; skipped (and said so) without etcd. */
async function idleEtcd(windowMs: number, cpuPercent: number[], rssMb: number[], pssMb: number[]): Promise<void> {
  const etcd = etcdAvailable();
  if (!etcd.ok) {
    console.log(`  idle etcd comparison: skipped (${etcd.reason}; apt-get install -y etcd-server to include it)`);
    return;
  }
  const e = await etcdIdle(windowMs, { heartbeatIntervalMs: 100, electionTimeoutMs: 1000 });
  const cpu = percentile(e.cpuPercent, 50);
  const rss = percentile(e.rssMb, 50);
  const pss = percentile(e.pssMb, 50);
  console.log(`  idle etcd ${etcd.version}, 5 members at its defaults, same window: CPU % median ${cpu.toFixed(2)}, RSS MB median ${rss.toFixed(1)}, PSS MB median ${pss.toFixed(1)}`);
  console.log(`  ratio conclave / etcd: CPU ${(percentile(cpuPercent, 50) / cpu).toFixed(2)}, RSS ${(percentile(rssMb, 50) / rss).toFixed(2)}, PSS ${(percentile(pssMb, 50) / pss).toFixed(2)}`);
}

async function gossipBytesSent(cluster: LocalCluster, index: number): Promise<number> {
  const text = await cluster.metricsText(index);
  const match = /^conclave_gossip_bytes_sent_total(?:\{[^}]*\})? (\d+(?:\.\d+)?(?:e\+\d+)?)/m.exec(text);
  return match ? Number(match[1]) : 0;
}
