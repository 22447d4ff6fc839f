/**
 * `npm run bench -- switch`: switching the election protocol of 5 real daemons (README
 * "Switching protocols"), every node's /v1/status sampled throughout. Prints:
 * - coordinated switches (`conclave protocol switch` on a follower), bully → raft → bully …: the
 *   longest leaderless stretch of each (target p50 ≤ 200 ms), the hand-over between the two
 *   protocols' reigns, the request to its answer and to every node on the new protocol naming
 *   one leader, whether the leader stayed, rounds with two leaders (target 0);
 * - rolling restarts (each node in turn stopped and started with `--protocol <to>`), both ways:
 *   leaderless time in all and its longest stretch, the time until every node runs the new
 *   protocol naming one leader, rounds with two leaders.
 * Each part runs on a fresh cluster that starts as bully.
 */
import type { LeadershipHistoryReport } from '../protocols/sim/leadership-history.js';
import { checkLeadershipHistory } from '../protocols/sim/leadership-history.js';
import type { ProtocolName } from '../protocols/types.js';
import { LeadershipSampler, type SampledStatus } from '../test/support/leadership-sampler.js';
import { LocalCluster, canUseNamespaces, sleep, type ReceivedEvent } from '../test/support/local-cluster.js';
import { parseNumberOptions, percentile, summarize } from './stats.js';
import { firstConverged, firstMajorityOn, handOverMs, leaderlessStretches, longest, roundPeriods, roundsBetween, type Leaderless, type Round } from './switch-timeline.js';

const SIZE = 5;
/** Each switch's window runs on this long after it converged: a late step-down or gap counts in it, and the next switch starts from a settled cluster. */
const SETTLE_MS = 1000;
const LEADERLESS_TARGET = { p50: 200 };

type Watcher = ReturnType<LocalCluster['watchEvents']>;

/** What one switch looked like, read from the rounds of its window (request or first SIGTERM, to SETTLE_MS after it converged). */
interface SwitchFigures {
  from: ProtocolName;
  to: ProtocolName;
  startMs: number;
  rounds: Round[];
  /** Start → the first round with every node on `to` naming one leader. */
  convergedMs: number;
  leaderBefore: string;
  leaderAfter: string;
  leaderless: Leaderless[];
  longest: Leaderless;
  handOverMs: number | null;
  twoLeaderRounds: number;
}

/** One node's turn in a rolling restart, on this process's clock. */
interface Restart {
  node: string;
  /** It answered leader in the last round before its SIGTERM. */
  led: boolean;
  termMs: number;
  apiMs: number;
}

export async function run(args: string[]): Promise<void> {
  // --switches 0 or --rolling 0 skips that part.
  const opts = parseNumberOptions(args, { switches: 10, rolling: 1, sampleMs: 5 });
  console.log(
    `switch bench: ${SIZE} daemons, preset lan, ${canUseNamespaces() ? 'real mDNS in a private network namespace' : 'loopback, static bootstrap'}; ` +
      `${opts.switches} coordinated switches, ${opts.rolling} rolling restart(s) each way; each part on a fresh cluster started as bully`,
  );
  printMethod(opts.sampleMs);
  if (opts.switches > 0) await coordinated(opts.switches, opts.sampleMs);
  if (opts.rolling > 0) await rolling(opts.rolling, opts.sampleMs);
}

function printMethod(sampleMs: number): void {
  console.log(
    [
      `method: every node's /v1/status asked at once every ${sampleMs} ms (a round; the next starts when the last answer is in, so a round can take longer; a node that does not answer is missing from it). Times are this process's clock at each round's start.`,
      `  leaderless stretch: from the start of the first round in which no node answered role leader to the start of the next round in which one did (± one round).`,
      `  a switch's window: from its request (coordinated) or the first SIGTERM (rolling) to ${SETTLE_MS} ms after it converged.`,
      `  converged: the first round in which all ${SIZE} nodes answer, run the new protocol and name one and the same leader.`,
      `  hand-over: from the last round in which a node running the old protocol answered leader to the first in which one running the new protocol did (one round when the leader carries its reign straight over).`,
      `  two leaders: rounds in which two nodes answered leader (protocols/sim/leadership-history.ts; target 0).`,
    ].join('\n'),
  );
}

/** `conclave protocol switch` on a follower, `switches` times, alternating from bully. */
async function coordinated(switches: number, sampleMs: number): Promise<void> {
  const figures: SwitchFigures[] = [];
  const answeredMs: number[] = [];
  const sampled = await withSampledCluster(sampleMs, undefined, async (cluster, sampler) => {
    const watchers = cluster.nodes.map((n) => cluster.watchEvents(n.index));
    try {
      await Promise.all(watchers.map((w) => w.ready));
      let from: ProtocolName = 'bully';
      for (let k = 1; k <= switches; k++) {
        const to = other(from);
        const leaderBefore = await cluster.agreedLeader(undefined, 30_000);
        const asked = cluster.nodes.find((n) => n.name !== leaderBefore)!;
        const fromIndex = sampler.samples.length;
        const startMs = Date.now();
        const failure = await cluster.client(asked.index).switchProtocol(to).then(() => null, (error: Error) => error.message);
        answeredMs.push(Date.now() - startMs);
        const converged = await waitConverged(sampler, fromIndex, startMs, to, 30_000);
        await sleep(SETTLE_MS);
        const f = readSwitch(sampler, fromIndex, { from, to, startMs, endMs: Date.now(), leaderBefore, converged });
        figures.push(f);
        process.stderr.write(
          `  switch ${k}/${switches} ${from}→${to} (asked ${asked.name}): answer ${answeredMs.at(-1)} ms${failure ? ` (failed: ${failure})` : ''}, converged ${f.convergedMs} ms; ` +
            `longest leaderless ${f.longest.ms} ms at +${f.longest.fromMs - startMs}; ${switchPhases(watchers, f)}; leader ${f.leaderBefore} → ${f.leaderAfter}; two-leader rounds ${f.twoLeaderRounds}\n`,
        );
        from = to;
      }
    } finally {
      for (const w of watchers) w.stop();
    }
  });
  const longestMs = figures.map((f) => f.longest.ms);
  console.log(summarize('coordinated switch: longest leaderless stretch per switch', longestMs, LEADERLESS_TARGET));
  for (const [from, to] of [['bully', 'raft'], ['raft', 'bully']] as const) {
    const these = figures.filter((f) => f.from === from).map((f) => f.longest.ms);
    if (these.length > 0) console.log(`  ${from} → ${to}: n=${these.length}, p50 ${Math.round(percentile(these, 50))} ms, max ${Math.max(...these)} ms`);
  }
  console.log(summarize('coordinated switch: hand-over from the old protocol\'s leader to the new one\'s', figures.flatMap((f) => (f.handOverMs === null ? [] : [f.handOverMs]))));
  console.log(summarize('coordinated switch: request → its answer', answeredMs));
  console.log(summarize('coordinated switch: request → every node on the new protocol naming one leader', figures.map((f) => f.convergedMs)));
  console.log(`coordinated switch: the leader stayed the same node in ${figures.filter((f) => f.leaderBefore === f.leaderAfter).length} of ${figures.length} switches`);
  printSafety('during the coordinated switches', sampled, figures);
}

/** Every node in turn stopped and started with `--protocol <to>`, bully → raft then raft → bully, `rounds` times. */
async function rolling(rounds: number, sampleMs: number): Promise<void> {
  const figures: SwitchFigures[] = [];
  // The later --protocol wins over the cluster's (LocalCluster puts extraArgs last).
  const protocolOf = new Map<number, ProtocolName>();
  const sampled = await withSampledCluster(sampleMs, (i) => ['--protocol', protocolOf.get(i) ?? 'bully'], async (cluster, sampler) => {
    let from: ProtocolName = 'bully';
    for (let k = 1; k <= 2 * rounds; k++) {
      const to = other(from);
      const leaderBefore = await cluster.agreedLeader(undefined, 60_000);
      const fromIndex = sampler.samples.length;
      const startMs = Date.now();
      const restarts: Restart[] = [];
      for (const n of cluster.nodes) {
        const led = lastLeader(sampler) === n.name;
        const termMs = Date.now();
        cluster.signal(n.index, 'SIGTERM');
        await cluster.waitExit(n.index, 10_000);
        protocolOf.set(n.index, to);
        cluster.startNode(n.index);
        await cluster.waitForApi(n.index);
        restarts.push({ node: n.name, led, termMs, apiMs: Date.now() });
        process.stderr.write(`  rolling ${k}/${2 * rounds} ${from}→${to}: ${n.name} restarted (${Date.now() - termMs} ms)\n`);
      }
      // Not before the last node is back: a node about to stop still answers.
      const converged = await waitConverged(sampler, fromIndex, restarts.at(-1)!.apiMs, to, 60_000);
      await sleep(SETTLE_MS);
      const f = readSwitch(sampler, fromIndex, { from, to, startMs, endMs: Date.now(), leaderBefore, converged });
      figures.push(f);
      console.log(describeRolling(k, 2 * rounds, f, restarts));
      from = to;
    }
  });
  console.log(summarize('rolling restart: leaderless time in all per switch', figures.map((f) => f.leaderless.reduce((sum, s) => sum + s.ms, 0))));
  console.log(summarize('rolling restart: longest leaderless stretch per switch', figures.map((f) => f.longest.ms)));
  console.log(summarize('rolling restart: first SIGTERM → every node on the new protocol naming one leader', figures.map((f) => f.convergedMs)));
  printSafety('during the rolling restarts', sampled, figures);
}

/** Everything sampled during one part, and its history check. */
interface Sampled {
  report: LeadershipHistoryReport;
  samples: readonly SampledStatus[];
}

/**
 * A fresh bully cluster with an agreed leader, every node sampled from then on while `body`
 * runs; the sampler and every daemon are stopped however `body` ends.
 */
async function withSampledCluster(
  sampleMs: number,
  extraArgs: ((index: number) => string[]) | undefined,
  body: (cluster: LocalCluster, sampler: LeadershipSampler) => Promise<void>,
): Promise<Sampled> {
  const cluster = await LocalCluster.start({ size: SIZE, protocol: 'bully', preset: 'lan', ...(extraArgs ? { extraArgs } : {}) });
  try {
    await cluster.agreedLeader(undefined, 30_000);
    // Until a node has seen the first leader settle era 1 it is at era 0 and would run its config's protocol on a restart.
    await cluster.waitFor('every node at era 1', 30_000, async () => {
      const eras = await Promise.all(cluster.nodes.map((n) => cluster.client(n.index).status().then((s) => s.era?.era ?? 0, () => 0)));
      return eras.every((era) => era >= 1);
    });
    const sampler = new LeadershipSampler(() => cluster.nodes.map((n) => ({ name: n.name, api: `unix:${n.socket}` })), sampleMs);
    let report: LeadershipHistoryReport;
    try {
      // Who leads is read from the last complete round (lastLeader): have one before the first switch.
      await cluster.waitFor('a complete sampling round', 10_000, async () => sampler.rounds >= 2);
      await body(cluster, sampler);
    } finally {
      report = await sampler.stop();
    }
    return { report, samples: sampler.samples };
  } finally {
    await cluster.stop();
  }
}

function other(protocol: ProtocolName): ProtocolName {
  return protocol === 'bully' ? 'raft' : 'bully';
}

/** The samples recorded since `fromIndex` of rounds already over (a round under way may still lack answers). */
function completeSamples(sampler: LeadershipSampler, fromIndex: number): SampledStatus[] {
  const current = sampler.rounds;
  return sampler.samples.slice(fromIndex).filter((s) => s.round < current);
}

/** Waits for the first round since `sinceMs` with every node on `to` naming one leader. */
async function waitConverged(sampler: LeadershipSampler, fromIndex: number, sinceMs: number, to: ProtocolName, timeoutMs: number): Promise<{ atMs: number; leader: string }> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = firstConverged(roundsBetween(completeSamples(sampler, fromIndex), sinceMs, Infinity), SIZE, to);
    if (found) return found;
    if (Date.now() > deadline) throw new Error(`no round with every node on ${to} naming one leader within ${timeoutMs} ms of the switch`);
    await sleep(20);
  }
}

function readSwitch(
  sampler: LeadershipSampler,
  fromIndex: number,
  w: { from: ProtocolName; to: ProtocolName; startMs: number; endMs: number; leaderBefore: string; converged: { atMs: number; leader: string } },
): SwitchFigures {
  const samples = completeSamples(sampler, fromIndex).filter((s) => s.atMs >= w.startMs && s.atMs < w.endMs);
  const rounds = roundsBetween(samples, w.startMs, w.endMs);
  const leaderless = leaderlessStretches(rounds, w.endMs);
  return {
    from: w.from,
    to: w.to,
    startMs: w.startMs,
    rounds,
    convergedMs: w.converged.atMs - w.startMs,
    leaderBefore: w.leaderBefore,
    leaderAfter: w.converged.leader,
    leaderless,
    longest: longest(leaderless, w.startMs),
    handOverMs: handOverMs(rounds, w.from, w.to),
    twoLeaderRounds: checkLeadershipHistory(samples).roundsWithTwoLeaders.length,
  };
}

/**
 * Where the time of a coordinated switch went, from the daemons' own event stamps (ms after the
 * request): the leader's announcement and commit, when a majority and when the last node ran
 * `to`, and every change into or out of candidate or leader in the window.
 */
function switchPhases(watchers: readonly Watcher[], f: SwitchFigures): string {
  const inWindow = watchers.map((w) => w.events.filter((e) => e.receivedAtMs >= f.startMs));
  const after = (e: ReceivedEvent) => Date.parse(e.at) - f.startMs;
  const announced = inWindow.flat().find((e) => e.type === 'protocol-switch-started' && e.to === f.to);
  const switched = inWindow.map((events) => events.find((e) => e.type === 'protocol-switched' && e.to === f.to));
  const committed = switched.find((e) => e?.type === 'protocol-switched' && e.how === 'agreed');
  const switchedMs = switched.flatMap((e) => (e ? [after(e)] : [])).sort((a, b) => a - b);
  const roles = inWindow.flatMap((events, i) =>
    events.flatMap((e) => (e.type === 'role-changed' && [e.from, e.to].some((r) => r === 'leader' || r === 'candidate') ? [`n${i + 1} ${e.from}→${e.to} +${after(e)}`] : [])),
  );
  const mark = (label: string, ms: number | undefined) => `${label} ${ms === undefined ? 'not seen' : `+${ms}`}`;
  return [
    mark('announced', announced && after(announced)),
    mark('committed', committed && after(committed)),
    mark(`majority on ${f.to}`, switchedMs[Math.floor(SIZE / 2)]),
    mark(`all on ${f.to}`, switchedMs.length === SIZE ? switchedMs.at(-1) : undefined),
    `roles: ${roles.join(', ') || 'no change'}`,
  ].join(', ');
}

function describeRolling(k: number, of: number, f: SwitchFigures, restarts: readonly Restart[]): string {
  const rel = (ms: number) => `+${((ms - f.startMs) / 1000).toFixed(2)} s`;
  const total = f.leaderless.reduce((sum, s) => sum + s.ms, 0);
  const switched = firstMajorityOn(f.rounds, SIZE, f.to);
  const convergedAtMs = f.startMs + f.convergedMs;
  const stretches = f.leaderless.map((s) => `${s.ms} ms from ${rel(s.fromMs)} (${duringRestart(restarts, s.fromMs)})`);
  return (
    `rolling restart ${k}/${of} ${f.from}→${f.to}: leaderless ${total} ms in all, longest ${f.longest.ms} ms; stretches: ${stretches.join(', ') || 'none'}; ` +
    `a majority on ${f.to} ${switched ? `${rel(switched.atMs)}, after ${restarts.filter((r) => r.apiMs <= switched.atMs).length} of ${SIZE} restarts` : 'never seen'}; ` +
    `every node on ${f.to} naming one leader ${rel(convergedAtMs)} (${convergedAtMs - restarts.at(-1)!.apiMs} ms after the last node's API); ` +
    `leader ${f.leaderBefore} → ${f.leaderAfter}; hand-over ${f.handOverMs ?? 'n/a'} ms; two-leader rounds ${f.twoLeaderRounds}`
  );
}

/** Which node's turn `atMs` fell in, and whether that node led when it got SIGTERM. */
function duringRestart(restarts: readonly Restart[], atMs: number): string {
  const turn = [...restarts].reverse().find((r) => r.termMs <= atMs);
  if (!turn) return 'before the first SIGTERM';
  const led = turn.led ? ', which led' : '';
  return atMs <= turn.apiMs ? `${turn.node}'s turn${led}` : `after ${turn.node}'s turn${led}`;
}

/** The node that answered leader in the last complete round, if any. */
function lastLeader(sampler: LeadershipSampler): string | null {
  const last = sampler.rounds - 1;
  for (let i = sampler.samples.length - 1; i >= 0; i--) {
    const s = sampler.samples[i]!;
    if (s.round < last) break;
    if (s.round === last && s.role === 'leader') return s.node;
  }
  return null;
}

/** Two leaders at once (loudly: a bench does not assert), ghosts and token regressions over the whole part, and the sampling's resolution. */
function printSafety(when: string, { report, samples }: Sampled, figures: readonly SwitchFigures[]): void {
  const periods = figures.flatMap((f) => roundPeriods(f.rounds));
  console.log(
    `measured overlap ${when}: ${report.rounds} sampling rounds (period p50 ${percentile(periods, 50)} ms, p99 ${percentile(periods, 99)} ms, max ${Math.max(...periods)} ms), ` +
      `${report.roundsWithTwoLeaders.length} with two leaders (target 0), ${report.ghostLeaders.length} answers naming a node that never led that term, ` +
      `${report.tokenRegressions.length} answers with a fencing token below one the same node gave before (target 0); ${report.reigns.length} reigns`,
  );
  if (report.roundsWithTwoLeaders.length > 0) console.log(`VIOLATION: ${report.roundsWithTwoLeaders.length} sampling rounds with two leaders ${when}`);
  for (const r of report.roundsWithTwoLeaders.slice(0, 5)) console.log(`VIOLATION: two leaders in round ${r.round}: ${r.leaders.join(', ')}`);
  const regressions = regressionGroups(report.tokenRegressions, samples);
  if (regressions.length > 0) console.log(`VIOLATION: fencing tokens went back: ${regressions.join('; ')}`);
}

/** Token regressions by node and step (`n1 3 → 2`), each with how many answers showed it, under which protocol and role. */
function regressionGroups(regressions: LeadershipHistoryReport['tokenRegressions'], samples: readonly SampledStatus[]): string[] {
  const answer = new Map(samples.map((s) => [`${s.round}/${s.node}`, s]));
  const groups = new Map<string, Map<string, number>>();
  for (const r of regressions) {
    const s = answer.get(`${r.round}/${r.node}`);
    const key = `${r.node} ${r.from} → ${r.to}`;
    const how = `${s?.protocol ?? '?'} ${s?.role ?? '?'}`;
    const counts = groups.get(key) ?? new Map<string, number>();
    counts.set(how, (counts.get(how) ?? 0) + 1);
    groups.set(key, counts);
  }
  return [...groups].map(([key, counts]) => `${key} (${[...counts].map(([how, n]) => `${n} answers as ${how}`).join(', ')})`);
}
