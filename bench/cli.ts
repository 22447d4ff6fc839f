/**
 * `npm run bench -- cli`: how long `conclave status`, `leader` and `is-leader` take, wall clock
 * from spawn to exit of the `conclave` command a user runs (bin/conclave, on the runtime it
 * picks), against a running daemon (one node, loopback), beside a bare `node -e 0` of that
 * runtime (the floor no Node CLI can beat) and of Node 20 when it is on the PATH, and, when
 * etcdctl and etcd are installed, `etcdctl endpoint status` against a one-member etcd on
 * 127.0.0.1 as the ratio. Target: ≤ 100 ms for each command.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalCluster, ROOT, launcherRuntime, sleep } from '../test/support/local-cluster.js';
import { parseNumberOptions, percentile } from './stats.js';

const ETCD_CLIENT_PORT = 23990;
const ETCD_PEER_PORT = 23991;

function timeRuns(command: string, args: string[], runs: number, env: NodeJS.ProcessEnv = process.env): number[] {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = process.hrtime.bigint();
    const r = spawnSync(command, args, { encoding: 'utf8', env });
    times.push(Number(process.hrtime.bigint() - start) / 1e6);
    if (r.status !== 0 && !(args.includes('is-leader') && r.status === 1)) throw new Error(`${command} ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  }
  return times;
}

function line(label: string, times: number[], target?: number): string {
  const p50 = percentile(times, 50);
  const verdict = target === undefined ? '' : p50 <= target ? ` (target ≤ ${target} ms: met)` : ` (target ≤ ${target} ms: MISSED)`;
  return `  ${label.padEnd(34)} median ${p50.toFixed(0).padStart(4)} ms  p99 ${percentile(times, 99).toFixed(0).padStart(4)} ms${verdict}`;
}

export async function run(args: string[]): Promise<void> {
  const opts = parseNumberOptions(args, { runs: 30 });
  console.log(`cli bench: ${opts.runs} runs of each command, spawn to exit, against one daemon on its unix socket`);
  const cluster = await LocalCluster.start({ size: 1, bootstrapExpect: 1 });
  const results: Record<string, number[]> = {};
  try {
    await cluster.agreedLeader([1], 20_000);
    const api = `unix:${cluster.node(1).socket}`;
    const env = { ...process.env, CONCLAVE_API: undefined };
    const launcher = join(ROOT, 'bin/conclave');
    const runtime = launcherRuntime();
    const version = spawnSync(runtime, ['--version'], { encoding: 'utf8' }).stdout.trim();
    console.log(`  bin/conclave runs on ${runtime} (${version})`);
    results.node = timeRuns(runtime, ['-e', '0'], opts.runs, env);
    const systemNode = spawnSync('sh', ['-c', 'command -v node'], { encoding: 'utf8', env: { ...env, PATH: (process.env.PATH ?? '').split(':').filter((dir) => !dir.includes('node_modules')).join(':') } }).stdout.trim();
    if (systemNode && systemNode !== runtime) results.systemNode = timeRuns(systemNode, ['-e', '0'], opts.runs, env);
    for (const command of ['status', 'leader', 'is-leader']) results[command] = timeRuns(launcher, [command, '--api', api], opts.runs, env);
  } finally {
    await cluster.stop();
  }
  console.log(line(`node -e 0 (the floor)`, results.node!));
  if (results.systemNode) console.log(line('node -e 0 of the node on PATH', results.systemNode));
  for (const command of ['status', 'leader', 'is-leader']) console.log(line(`conclave ${command}`, results[command]!, 100));
  const overFloor = percentile(results.status!, 50) - percentile(results.node!, 50);
  console.log(`  conclave status above the bare node start: ${overFloor.toFixed(0)} ms (module loading and the request)`);
  const etcd = await etcdctlTimes(opts.runs);
  if (typeof etcd === 'string') console.log(`  etcdctl endpoint status: not measured (${etcd})`);
  else {
    console.log(line('etcdctl endpoint status', etcd));
    console.log(`  ratio conclave status / etcdctl endpoint status (medians): ${(percentile(results.status!, 50) / percentile(etcd, 50)).toFixed(1)}x`);
  }
}

/** `etcdctl endpoint status` against a one-member etcd started here; a reason string when it cannot be run. */
async function etcdctlTimes(runs: number): Promise<number[] | string> {
  if (spawnSync('etcdctl', ['version']).error) return 'etcdctl is not installed (Debian: apt-get install -y etcd-client)';
  if (spawnSync('etcd', ['--version']).error) return 'etcd is not installed (Debian: apt-get install -y etcd-server)';
  const dir = mkdtempSync(join(tmpdir(), 'conclave-cli-etcd-'));
  const client = `http://127.0.0.1:${ETCD_CLIENT_PORT}`;
  const peer = `http://127.0.0.1:${ETCD_PEER_PORT}`;
  const etcd: ChildProcess = spawn('etcd', [
    '--name', 'bench', '--data-dir', join(dir, 'data'),
    '--listen-client-urls', client, '--advertise-client-urls', client,
    '--listen-peer-urls', peer, '--initial-advertise-peer-urls', peer, '--initial-cluster', `bench=${peer}`,
  ], { stdio: 'ignore' });
  try {
    const env = { ...process.env, ETCDCTL_API: '3' };
    const args = ['--endpoints', client, 'endpoint', 'status'];
    for (let i = 0; spawnSync('etcdctl', args, { env }).status !== 0; i++) {
      if (i > 100) return 'etcd did not start within 10 s';
      await sleep(100);
    }
    return timeRuns('etcdctl', args, runs, env);
  } finally {
    if (etcd.pid) process.kill(etcd.pid, 'SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}
