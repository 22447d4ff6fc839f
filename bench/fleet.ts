/**
 * `npm run bench -- fleet [--preset local]`: real daemons at growing cluster sizes on this
 * machine, at the lan preset (the daemon's default, what `scripts/cluster.sh up` runs) or the one
 * named (the local preset's 200 ms heartbeats cost more CPU per daemon: two and a half times the
 * lan preset's at 50), with real mDNS in a private network namespace at the daemon's own mDNS
 * interval. Up to 10 daemons start at once; larger clusters start as `scripts/cluster.sh up` starts
 * them, in waves of 5, each once all started so far see each other alive, with the first wave's
 * size as every node's bootstrapExpect (the first wave elects, the others join: 45 daemons
 * electing for the first time at once starved this machine). For each size, the time from the
 * first spawn until every daemon sees every daemon alive, then an idle window's CPU, RSS and
 * gossip bytes per daemon, so the growth with N is visible. At the largest size a soak follows,
 * counting suspicions, death verdicts and leader changes (targets: 0 each).
 */
import { MEMBERSHIP_PRESET_NAMES, type MembershipPresetName } from '../protocols/membership/presets.js';
import { LocalCluster, canUseNamespaces, sleep, type ReceivedEvent } from '../test/support/local-cluster.js';
import { allAlive, idleWindow } from './membership.js';
import { parseNumberOptions, percentile } from './stats.js';

export async function run(args: string[]): Promise<void> {
  const { preset, rest } = presetOption(args);
  const opts = parseNumberOptions(rest, { maxNodes: 50, idleMs: 20_000, settleMs: 30_000, soakMs: 600_000 });
  if (!canUseNamespaces()) {
    console.log('fleet bench: skipped (needs root and ip netns: the daemons run with mDNS in a private network namespace)');
    return;
  }
  const sizes = [5, 10, 25, 50].filter((n) => n <= opts.maxNodes);
  console.log(`fleet bench: ${sizes.join(', ')} bully daemons, ${preset} preset, real mDNS in a private network namespace; idle window ${opts.idleMs / 1000} s after ${opts.settleMs / 1000} s settled`);
  console.log('');
  console.log('| daemons | all see all alive after the first spawn (in waves of 5 from 11) | CPU % of a core per daemon (median, max) | RSS MB per daemon (median, max) | gossip bytes sent / s per daemon (median, max) | heartbeats published / s per daemon (median) |');
  console.log('|---|---|---|---|---|---|');
  for (const size of sizes) {
    const last = size === sizes[sizes.length - 1];
    process.stderr.write(`  starting ${size} daemons …\n`);
    const spawnedAt = Date.now();
    const inWaves = size > 2 * WAVE;
    const cluster = await LocalCluster.start({
      size,
      preset,
      logLevel: 'info',
      mdnsIntervalMs: null,
      ...(inWaves ? { initial: WAVE, bootstrapExpect: WAVE } : {}),
    });
    try {
      await allAlive(cluster, 120_000, inWaves ? range(1, WAVE) : undefined);
      // As `up`: the first wave elects before the next joins it (scripts/cluster.sh up_in_waves).
      if (inWaves) await cluster.agreedLeader(range(1, WAVE), 30_000);
      for (let first = WAVE + 1; inWaves && first <= size; first += WAVE) {
        const last = Math.min(size, first + WAVE - 1);
        for (let i = first; i <= last; i++) cluster.startNode(i);
        await Promise.all(range(first, last).map((i) => cluster.waitForApi(i, 30_000)));
        await allAlive(cluster, 60_000, range(1, last));
        process.stderr.write(`    ${last} daemons see each other alive after ${Date.now() - spawnedAt} ms\n`);
      }
      const convergedMs = Date.now() - spawnedAt;
      process.stderr.write(`  ${size} daemons converged after ${convergedMs} ms; settling ${opts.settleMs / 1000} s …\n`);
      await sleep(opts.settleMs);
      const beatsBefore = await Promise.all(cluster.nodes.map((n) => heartbeatsSent(cluster, n.index)));
      const idle = await idleWindow(cluster, opts.idleMs);
      const beatsAfter = await Promise.all(cluster.nodes.map((n) => heartbeatsSent(cluster, n.index)));
      const beatsPerSec = beatsAfter.map((b, i) => (b - beatsBefore[i]!) / (opts.idleMs / 1000));
      console.log(
        `| ${size} | ${convergedMs} ms | ${percentile(idle.cpuPercent, 50).toFixed(2)}, ${Math.max(...idle.cpuPercent).toFixed(2)} | ` +
          `${percentile(idle.rssMb, 50).toFixed(1)}, ${Math.max(...idle.rssMb).toFixed(1)} | ${Math.round(percentile(idle.bytesPerSec, 50))}, ${Math.round(Math.max(...idle.bytesPerSec))} | ${percentile(beatsPerSec, 50).toFixed(1)} |`,
      );
      if (last && opts.soakMs > 0) await soak(cluster, opts.soakMs);
    } finally {
      await cluster.stop();
    }
  }
}

/** `durationMs` of an undisturbed cluster: every suspicion, death verdict and leader change any daemon reports. */
async function soak(cluster: LocalCluster, durationMs: number): Promise<void> {
  await cluster.agreedLeader(undefined, 60_000);
  const watchers = cluster.nodes.map((n) => cluster.watchEvents(n.index));
  await Promise.all(watchers.map((w) => w.ready));
  const end = Date.now() + durationMs;
  while (Date.now() < end) {
    await sleep(Math.min(60_000, end - Date.now()));
    const left = Math.round((end - Date.now()) / 1000);
    process.stderr.write(`  soak: ${counts(watchers.flatMap((w) => w.events))}, ${left} s left\n`);
  }
  const events = watchers.flatMap((w) => w.events);
  for (const w of watchers) w.stop();
  console.log('');
  console.log(`soak of ${cluster.nodes.length} daemons for ${Math.round(durationMs / 60_000)} min: ${counts(events)} (targets 0, 0, 0)`);
}

function counts(events: readonly ReceivedEvent[]): string {
  const n = (type: string) => events.filter((e) => e.type === type).length;
  return `suspicions ${n('member-suspect')}, death verdicts ${n('member-dead')}, leader changes ${n('leader-changed')}`;
}

/** `--preset lan|local|wan` (default lan, the daemon's), taken out of the numeric options. */
function presetOption(args: string[]): { preset: MembershipPresetName; rest: string[] } {
  const at = args.indexOf('--preset');
  if (at < 0) return { preset: 'lan', rest: args };
  const value = args[at + 1];
  if (!MEMBERSHIP_PRESET_NAMES.includes(value as MembershipPresetName)) {
    process.stderr.write(`--preset must be one of ${MEMBERSHIP_PRESET_NAMES.join(', ')} (got ${value === undefined ? 'nothing' : JSON.stringify(value)})\n`);
    process.exit(2);
  }
  return { preset: value as MembershipPresetName, rest: [...args.slice(0, at), ...args.slice(at + 2)] };
}

/** Nodes a wave of `scripts/cluster.sh up` starts (CONCLAVE_UP_WAVE's default). */
const WAVE = 5;

const range = (first: number, last: number): number[] => Array.from({ length: last - first + 1 }, (_, i) => first + i);

async function heartbeatsSent(cluster: LocalCluster, index: number): Promise<number> {
  const text = await cluster.metricsText(index).catch(() => '');
  const line = text.split('\n').find((l) => l.startsWith('conclave_heartbeats_sent_total'));
  return line ? Number(line.split(' ').pop()) : 0;
}
