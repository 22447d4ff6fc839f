/**
 * `npm run bench -- scale`: the membership machine at 10 to 1,000 nodes in the simulator
 * (protocols/sim/membership-scale.ts), with observers (today's design) and, at the sizes it can
 * finish, everyone watching everyone (the design before) beside it. Prints per size: convergence
 * after the last start, heartbeats and bytes per node per second in a quiet window, silent-failure
 * detection at the first node and at every node, false suspicions; then the ratios the issue
 * sets targets for (1,000 nodes vs 10: messages within 10×, detection p99 within 3×).
 */
import { MEMBERSHIP_PRESETS, OBSERVERS_PER_MEMBER } from '../protocols/membership/index.js';
import { runScaleSim, type ScaleSimResult } from '../protocols/sim/membership-scale.js';
import { parseNumberOptions, percentile } from './stats.js';

interface Row {
  design: string;
  result: ScaleSimResult;
  wallS: number;
}

export async function run(args: string[]): Promise<void> {
  const opts = parseNumberOptions(args, { maxNodes: 1000, baselineMaxNodes: 100, failures: 5, seed: 1, loadWindowMs: 10_000 });
  const sizes = [10, 100, 500, 1000].filter((n) => n <= opts.maxNodes);
  const timings = MEMBERSHIP_PRESETS.lan;
  console.log(`membership at scale, simulated: lan preset (heartbeat ${timings.heartbeatIntervalMs} ms, suspect after ${timings.suspectAfterMs} ms, suspicion ${timings.suspicionMinMs}-${timings.suspicionMaxMs} ms),`);
  console.log(`one-way latency 0.2-2 ms, nodes start over N × 10 ms, ${opts.failures} silent failures (no connection closes) one after another, seed ${opts.seed}`);
  const rows: Row[] = [];
  const simulate = (design: string, nodes: number, observersPerMember?: number): void => {
    process.stderr.write(`  simulating ${nodes} nodes, ${design} …\n`);
    const started = Date.now();
    const result = runScaleSim({
      nodes,
      seed: opts.seed,
      timings,
      ...(observersPerMember !== undefined ? { observersPerMember } : {}),
      latencyMs: [0.2, 2],
      startSpreadMs: nodes * 10,
      loadWindowMs: opts.loadWindowMs,
      failures: opts.failures,
      failureWindowMs: 10_000,
    });
    rows.push({ design, result, wallS: (Date.now() - started) / 1000 });
  };
  for (const n of sizes) simulate(`observers (${OBSERVERS_PER_MEMBER})`, n);
  for (const n of sizes.filter((s) => s <= opts.baselineMaxNodes)) simulate('everyone watches everyone', n, Number.POSITIVE_INFINITY);

  console.log('');
  console.log('| design | nodes | converged after last start | heartbeats sent / node / s (mean, max) | received / node / s (mean, max) | bytes sent / node / s | dead at first node p50 / p99 | dead at every node p50 / p99 | per-node detection p99 | false suspicions / deaths | sim wall s |');
  console.log('|---|---|---|---|---|---|---|---|---|---|---|');
  for (const { design, result: r, wallS } of rows) {
    const first = r.failures.map((f) => f.firstDeadMs);
    const all = r.failures.map((f) => f.allDeadMs);
    const perNode = r.failures.flatMap((f) => f.perNodeMs);
    console.log(
      `| ${design} | ${r.nodes} | ${ms(r.convergedMs)} | ${r.sentPerSec.mean.toFixed(1)}, ${r.sentPerSec.max.toFixed(1)} | ${r.receivedPerSec.mean.toFixed(1)}, ${r.receivedPerSec.max.toFixed(1)} | ${Math.round(r.bytesSentPerSec)} | ` +
        `${ms(percentile(first, 50))} / ${ms(percentile(first, 99))} | ${ms(percentile(all, 50))} / ${ms(percentile(all, 99))} | ${ms(percentile(perNode, 99))} | ${r.falseSuspicions} / ${r.falseDeaths} | ${wallS.toFixed(1)} |`,
    );
  }
  const at = (design: string, nodes: number): ScaleSimResult | undefined => rows.find((r) => r.design.startsWith(design) && r.result.nodes === nodes)?.result;
  const small = at('observers', 10);
  const large = at('observers', Math.max(...sizes));
  if (small && large && large !== small) {
    const load = (r: ScaleSimResult): number => r.sentPerSec.mean + r.receivedPerSec.mean;
    const p99 = (r: ScaleSimResult): number => percentile(r.failures.flatMap((f) => f.perNodeMs), 99);
    console.log('');
    console.log(`ratio ${large.nodes} nodes / 10 nodes: messages per node ${(load(large) / load(small)).toFixed(2)} (target ≤ 10), detection p99 ${(p99(large) / p99(small)).toFixed(2)} (target ≤ 3)`);
  }
  const before = at('everyone', Math.min(opts.baselineMaxNodes, Math.max(...sizes)));
  const after = before ? at('observers', before.nodes) : undefined;
  if (before && after) {
    console.log(`at ${before.nodes} nodes, observers vs everyone watching everyone: heartbeats sent per node ${after.sentPerSec.mean.toFixed(1)} vs ${before.sentPerSec.mean.toFixed(1)} per s (ratio ${(after.sentPerSec.mean / before.sentPerSec.mean).toFixed(3)})`);
  }
}

function ms(value: number): string {
  return Number.isFinite(value) ? `${Math.round(value)} ms` : 'never';
}
