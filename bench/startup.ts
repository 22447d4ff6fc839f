/**
 * Start-up figures (issue 14): how long from spawning `conclave start` until its control API
 * answers, where that time goes, and how long five daemons spawned at once take until each sees
 * all five alive.
 *
 * - One daemon (loopback, mDNS off, a fresh data dir each trial): spawn → the first answered
 *   GET /v1/status over its Unix socket, polled every 5 ms. The bundle users run (bin/conclave:
 *   dist/bundle/) and, in the same run and alternating with it, the unbundled build (dist/daemon/
 *   on the same runtime and flags): the comparison for the bundle. The stages come from the
 *   daemon's own `started` record (`startupMs`, ms since its process began).
 * - Five daemons (lan preset, the default discovery settings; real mDNS in a private network namespace when run as root, else
 *   loopback with static bootstrap addresses), spawned together: last spawn → every node lists
 *   five members `alive`, polled every 50 ms.
 * - `npm start` as a newcomer types it (in a 160×45 tmux pane, npm included): its start → the
 *   dashboard's header names a leader (`leader nX term N`), the screen read every 20 ms once n1's
 *   API names one (a long poll of /v1/leader, so the reads do not load the machine); then q,
 *   and the next trial once local.sh took the cluster down. Needs tmux; says so without it.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Conclave } from '../client/conclave.js';
import { createApiClient } from '../daemon/api/client.js';
import { CLI, LAUNCHER, LocalCluster, ROOT, canUseNamespaces, launcherFlags, launcherRuntime, sleep } from '../test/support/local-cluster.js';
import { procCpuMs } from './etcd.js';
import { allAlive } from './membership.js';
import { parseNumberOptions, percentile, summarize } from './stats.js';
import { hasTmux, TmuxPane } from '../test/e2e/tmux-pane.js';

const SIZE = 5;
const UNBUNDLED = CLI;
/** bin/conclave's runtime. */
const RUNTIME = launcherRuntime();
/** The Node flags bin/conclave starts the daemon with, so the unbundled run gets the same. */
const LAUNCHER_FLAGS = launcherFlags();

interface Stages {
  loaded: number;
  state: number;
  p2p: number;
  api: number;
}

export async function run(args: string[]): Promise<void> {
  const opts = parseNumberOptions(args, { trials: 20, clusterTrials: 5, npmStartTrials: 5 });
  console.log(
    `startup bench: one daemon × ${opts.trials} trials per build (loopback, mDNS off), then ${SIZE} daemons spawned together × ${opts.clusterTrials}, ` +
      `then npm start → a leader on the dashboard × ${opts.npmStartTrials}; runtime ${RUNTIME}`,
  );
  // --trials 0, --cluster-trials 0 or --npm-start-trials 0 skips that part.
  if (opts.trials > 0) await oneDaemon(opts.trials);
  if (opts.clusterTrials > 0) await fiveTogether(opts.clusterTrials);
  await npmStart(opts.npmStartTrials);
}

async function oneDaemon(trials: number): Promise<void> {
  const bundled: number[] = [];
  const unbundled: number[] = [];
  const cpu = { bundled: [] as number[], unbundled: [] as number[] };
  const stages: Stages[] = [];
  for (let t = 0; t < trials; t++) {
    // Alternating, so drift in the machine's load falls on both alike.
    const b = await spawnToApi([LAUNCHER]);
    bundled.push(b.ms);
    cpu.bundled.push(b.cpuMs);
    if (b.stages) stages.push(b.stages);
    const u = await spawnToApi([RUNTIME, ...LAUNCHER_FLAGS, UNBUNDLED]);
    unbundled.push(u.ms);
    cpu.unbundled.push(u.cpuMs);
    process.stderr.write(`  trial ${t + 1}/${trials}: bundle ${b.ms} ms, unbundled ${unbundled.at(-1)} ms\n`);
  }
  console.log(summarize('spawn → control API answers, bin/conclave (bundle)', bundled, { p50: 300 }));
  console.log(summarize('spawn → control API answers, unbundled dist/ (same runtime and flags)', unbundled));
  console.log(`  ratio of p50s, bundle / unbundled: ${(percentile(bundled, 50) / percentile(unbundled, 50)).toFixed(2)}`);
  // CPU time, unlike the wall time, hardly moves with what else the machine runs: the figure to
  // compare a start-up change by on a shared host.
  console.log(
    `CPU time of the daemon from spawn until its API answered (user + system, /proc, 10 ms ticks), p50: bundle ${percentile(cpu.bundled, 50)} ms, ` +
      `unbundled ${percentile(cpu.unbundled, 50)} ms`,
  );
  const stage = (k: keyof Stages) => percentile(stages.map((s) => s[k]), 50);
  console.log(
    `where it goes (bundle, p50 of the daemon's own startupMs, ms since its process began): modules loaded and config read ${stage('loaded')}, ` +
      `durable state open ${stage('state')}, libp2p listening ${stage('p2p')}, API listening ${stage('api')}`,
  );
}

/**
 * The lone daemons of spawnToApi while they run: killed however this process ends. A run whose
 * output was cut short (`npm run bench -- startup | head`: EPIPE ends it mid-trial) left one
 * running, and that daemon, its own log pipe gone, spun at a whole core for an hour.
 */
const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});
for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
  process.once(signal, () => {
    for (const child of running) child.kill('SIGKILL');
    process.kill(process.pid, signal);
  });
}

/** Spawns one daemon with `command`, polls its API until it answers, stops it; the elapsed ms, the daemon's CPU time by then, and its start-up stages. */
async function spawnToApi(command: string[]): Promise<{ ms: number; cpuMs: number; stages: Stages | null }> {
  const dir = mkdtempSync(join(tmpdir(), 'conclave-startup-'));
  const args = ['start', '--no-mdns', '--cluster', 'startup-bench', '--name', 'one', '--bootstrap-expect', '1', '--data-dir', dir, '--listen', '/ip4/127.0.0.1/tcp/0', '--log-format', 'json', '--log-level', 'info'];
  const startedAt = performance.now();
  const child = spawn(command[0]!, [...command.slice(1), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  child.once('exit', () => running.delete(child));
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const client = createApiClient({ address: `unix:${join(dir, 'api.sock')}`, timeoutMs: 1000 });
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`the daemon exited (${child.exitCode}):\n${out}`);
      try {
        await client.status();
        break;
      } catch {
        await sleep(5);
      }
      if (performance.now() - startedAt > 15_000) throw new Error(`no answer within 15 s:\n${out}`);
    }
    const ms = Math.round(performance.now() - startedAt);
    // bin/conclave execs node, so the child's PID is the daemon's.
    const cpuMs = procCpuMs(child.pid!);
    await stop(child);
    return { ms, cpuMs, stages: startupStages(out) };
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}

function startupStages(log: string): Stages | null {
  for (const line of log.split('\n')) {
    if (!line.includes('"startupMs"')) continue;
    return (JSON.parse(line) as { startupMs: Stages }).startupMs;
  }
  return null;
}

async function stop(child: ChildProcess): Promise<void> {
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await Promise.race([exited, sleep(5000)]);
}

async function fiveTogether(trials: number): Promise<void> {
  const afterLast: number[] = [];
  const where = canUseNamespaces() ? 'real mDNS in a private network namespace' : 'loopback, static bootstrap';
  for (let t = 0; t < trials; t++) {
    const cluster = await LocalCluster.start({ size: SIZE, preset: 'lan', lazy: true, logLevel: 'info', mdnsIntervalMs: null });
    try {
      const lastSpawnAt = performance.now();
      await allAlive(cluster, 20_000);
      afterLast.push(Math.round(performance.now() - lastSpawnAt));
      process.stderr.write(`  cluster trial ${t + 1}/${trials}: ${afterLast.at(-1)} ms\n`);
    } finally {
      await cluster.stop();
    }
  }
  console.log(summarize(`${SIZE} daemons spawned together (${where}): last spawn → every node sees ${SIZE} alive`, afterLast, { p50: 2000 }));
}

/** `npm start`'s script in a tmux pane: its start → a leader in the dashboard's header, per trial. */
async function npmStart(trials: number): Promise<void> {
  if (trials === 0) return;
  if (!hasTmux) {
    console.log('npm start → a leader on the dashboard: skipped, tmux is not installed');
    return;
  }
  const times: number[] = [];
  for (let t = 0; t < trials; t++) {
    const name = `bench${process.pid % 10_000}t${t}`;
    const pane = new TmuxPane(`bench-npm-start-${t}`);
    try {
      const startedAt = performance.now();
      // What a newcomer types, npm's own start-up included.
      pane.start(`bash -c 'cd ${ROOT} && npm start -- --name ${name}; echo "local.sh exited $?"; sleep 600'`, 160, 45);
      // The screen is read (a tmux process each time: some 10 ms of CPU) only once n1, the node
      // the dashboard shows first, names a leader: polling it from the start took a tenth of
      // this 2-core machine from the cluster being measured.
      await new Conclave({ api: `unix:${join(ROOT, '.cluster', name, 'nodes/n1/api.sock')}` }).waitForLeader({ timeoutMs: 60_000 });
      await pane.waitForScreen('a leader in the dashboard header', (text) => /leader n\d term \d+/.test(text), 60_000, 20);
      times.push(Math.round(performance.now() - startedAt));
      process.stderr.write(`  npm start trial ${t + 1}/${trials}: a leader on the dashboard after ${times.at(-1)} ms\n`);
      pane.keys('q');
      const text = await pane.waitForScreen('local.sh to take the cluster down', (screen) => /local\.sh exited \d+/.test(screen), 60_000);
      if (!/local\.sh exited 0/.test(text)) throw new Error(`npm start did not end cleanly:\n${text}`);
    } finally {
      pane.stop();
      // Whatever the trial left (a failed wait): the cluster's own teardown, by name.
      spawnSync('bash', [join(ROOT, 'scripts/cluster.sh'), 'down', '--name', name], { stdio: 'ignore' });
      rmSync(join(ROOT, '.cluster/.logs', name), { recursive: true, force: true });
    }
    await sleep(1000);
  }
  console.log(summarize('npm start → a leader on the dashboard (tmux pane, the screen read every 20 ms)', times, { p50: 3000, p99: 3000 }));
}
