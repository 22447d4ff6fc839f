/**
 * `conclave run`, the library's lead() and `conclave is-leader` on 3 real Bully daemons (issue
 * 11, "Proof"): exactly one child runs, on the leader; kill -9 of its daemon moves it to the new
 * leader under a higher fencing token; `transfer` moves it; a frozen daemon's child is stopped
 * when the lease it last reported runs out, before the new leader's starts; lead()'s signal fires on the loss;
 * is-leader answers 0 / 1 / 1 unreachable / 2 usage; and, on the namespace LAN of
 * scripts/cluster.sh, the leader cut off in a minority stops its child before the majority's new
 * leader starts one (no overlap: the lease runs out on the old side first).
 */
import '../../daemon/polyfill.js';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Conclave } from '../../client/index.js';
import { DEFAULT_BULLY_CONFIG } from '../../protocols/bully/config.js';
import { leaderLeaseMs } from '../../protocols/lease.js';
import { canUseNamespaces, CLI, LocalCluster, sleep } from '../support/local-cluster.js';
import { readJobRecords, runningJobs, startRun, startRunAt, stopRun } from '../support/run-job.js';

const work = mkdtempSync(join(tmpdir(), 'conclave-run-test-'));
const JOBS = join(work, 'jobs.txt');
let cluster: LocalCluster;
const runs: ReturnType<typeof startRun>[] = [];

before(async () => {
  cluster = await LocalCluster.start({ size: 3, protocol: 'bully', priorities: [1, 2, 3] });
  await cluster.agreedLeader(undefined, 30_000);
});
after(async () => {
  await Promise.all(runs.map((r) => stopRun(r)));
  await cluster?.stop();
  rmSync(work, { recursive: true, force: true });
});

function leaderIndex(name: string): number {
  return cluster.nodes.find((n) => n.name === name)!.index;
}

/** Waits until exactly one child runs and it runs on `node`; returns it. */
async function onlyJobOn(node: string, timeoutMs = 15_000) {
  return await cluster.waitFor(`exactly one job, on ${node}`, timeoutMs, async () => {
    const jobs = runningJobs(JOBS);
    return jobs.length === 1 && jobs[0]!.node === node ? jobs[0]! : null;
  });
}

function isLeader(index: number | string): ReturnType<typeof spawnSync> {
  const api = typeof index === 'number' ? `unix:${cluster.node(index).socket}` : index;
  return spawnSync(process.execPath, [CLI, 'is-leader', '--api', api], { encoding: 'utf8' });
}

describe('conclave run on 3 bully daemons', { timeout: 90_000 }, () => {
  it('is-leader: 0 on the leader, 1 on a follower and when unreachable (saying which), 2 for usage', async () => {
    const leader = leaderIndex(await cluster.agreedLeader());
    const follower = cluster.nodes.find((n) => n.index !== leader)!.index;
    const yes = isLeader(leader);
    assert.equal(yes.status, 0, String(yes.stderr));
    assert.match(String(yes.stdout), /^leader: n\d leads/);
    const no = isLeader(follower);
    assert.equal(no.status, 1);
    assert.match(String(no.stdout), /^not leader: /);
    const away = isLeader(`unix:${join(work, 'nothing.sock')}`);
    assert.equal(away.status, 1);
    assert.match(String(away.stderr), /cannot reach the conclave API/);
    assert.equal(isLeader('not an address').status, 2);
    assert.equal(spawnSync(process.execPath, [CLI, 'is-leader', '--bogus'], { encoding: 'utf8' }).status, 2);
  });

  it('run on every node: exactly one child, on the leader, with its fencing token', async () => {
    for (const node of cluster.nodes) runs.push(startRun(cluster, node.index, JOBS));
    const leader = await cluster.agreedLeader();
    const job = await onlyJobOn(leader);
    const status = await cluster.client(leaderIndex(leader)).status();
    assert.equal(job.token, status.fencingToken);
    await sleep(1000);
    assert.equal(runningJobs(JOBS).length, 1, 'still one a second later');
  });

  it('kill -9 of the leader\'s daemon: the child starts on the new leader under a higher token; the old one is stopped', async () => {
    const oldLeader = await cluster.agreedLeader();
    const old = await onlyJobOn(oldLeader);
    cluster.signal(leaderIndex(oldLeader), 'SIGKILL');
    await cluster.waitExit(leaderIndex(oldLeader));
    const survivors = cluster.nodes.filter((n) => n.name !== oldLeader).map((n) => n.index);
    const newLeader = await cluster.agreedLeader(survivors, 20_000, oldLeader);
    const job = await onlyJobOn(newLeader);
    assert.ok(job.token > old.token, `token ${job.token} > ${old.token}`);
    assert.ok(readJobRecords(JOBS).some((r) => r.what === 'term' && r.pid === old.pid), 'the old child got SIGTERM (its daemon is gone)');
    cluster.startNode(leaderIndex(oldLeader));
    await cluster.waitForApi(leaderIndex(oldLeader));
    // Its run process reconnects to the restarted daemon; the child stays where it is.
    await cluster.waitForStates(leaderIndex(newLeader), { n1: 'alive', n2: 'alive', n3: 'alive' });
  });

  it('transfer: the child moves to the node leadership was handed to', async () => {
    const from = await cluster.agreedLeader();
    const before = await onlyJobOn(from);
    const to = cluster.nodes.find((n) => n.name !== from)!.name;
    await cluster.client(leaderIndex(from)).transfer(to);
    const job = await onlyJobOn(to);
    assert.ok(job.token > before.token);
    assert.ok(readJobRecords(JOBS).some((r) => r.what === 'term' && r.pid === before.pid));
  });

  it('SIGSTOP of the leader\'s daemon (it accepts connections but never answers): run stops the child once the lease it last reported runs out, before a child starts on the new leader', async () => {
    const oldLeader = await cluster.agreedLeader();
    const old = await onlyJobOn(oldLeader);
    const lease = (await cluster.client(leaderIndex(oldLeader)).leader()).leaseRemainingMs;
    assert.ok(lease !== null && lease > 0, `the leader reports a lease (${lease})`);
    const frozenAt = Date.now();
    cluster.signal(leaderIndex(oldLeader), 'SIGSTOP');
    try {
      const stopped = await cluster.waitFor('the frozen leader\'s child got SIGTERM', 15_000, async () => readJobRecords(JOBS).find((r) => r.what === 'term' && r.pid === old.pid) ?? null);
      const survivors = cluster.nodes.filter((n) => n.name !== oldLeader).map((n) => n.index);
      const newLeader = await cluster.agreedLeader(survivors, 20_000, oldLeader);
      const job = await onlyJobOn(newLeader);
      assert.ok(job.token > old.token, `token ${job.token} > ${old.token}`);
      // The stream went silent at the freeze: only the lease, never longer than a full one, can have ended it.
      const fullLease = leaderLeaseMs(DEFAULT_BULLY_CONFIG.leaseMs);
      assert.ok(stopped.atMs - frozenAt <= fullLease + 1000, `stopped ${stopped.atMs - frozenAt} ms after the freeze; a full lease is ${fullLease} ms`);
      assert.ok(stopped.atMs <= job.atMs, `the old child stopped at ${stopped.atMs}, the new one started at ${job.atMs}: no overlap`);
    } finally {
      cluster.signal(leaderIndex(oldLeader), 'SIGCONT');
    }
    await cluster.waitForStates(cluster.nodes.find((n) => n.name !== oldLeader)!.index, { n1: 'alive', n2: 'alive', n3: 'alive' });
  });

  it('lead(): the signal fires when this node loses leadership', async () => {
    const leader = await cluster.agreedLeader();
    const controller = new AbortController();
    let signal: AbortSignal | null = null;
    const reasons: string[] = [];
    const running = new Conclave({ api: `unix:${cluster.node(leaderIndex(leader)).socket}` }).lead(
      { onStartedLeading: (s) => void (signal = s), onStoppedLeading: (r) => void reasons.push(r) },
      { signal: controller.signal },
    );
    await cluster.waitFor('lead() started', 10_000, async () => signal);
    await cluster.client(leaderIndex(leader)).resign();
    await cluster.waitFor('signal aborted', 10_000, async () => signal!.aborted);
    assert.equal((signal!.reason as Error).name, 'LeadershipLostError');
    assert.deepEqual(reasons, ['lost']);
    controller.abort();
    await running;
  });

  it('SIGTERM to run stops its child, and run exits with the child\'s status', async () => {
    const leader = await cluster.agreedLeader();
    const job = await onlyJobOn(leader, 20_000);
    const run = runs[leaderIndex(leader) - 1]!;
    assert.equal(await stopRun(run), 0, run.log.join(''));
    assert.ok(readJobRecords(JOBS).some((r) => r.what === 'term' && r.pid === job.pid));
  });
});

describe('conclave run across a partition (scripts/cluster.sh namespace LAN)', { timeout: 120_000, skip: canUseNamespaces() ? false : 'needs root and ip for a namespace LAN' }, () => {
  it('the leader cut off in a minority: its child is stopped before a child starts on the new leader, under a higher token', async (t) => {
    const script = new URL('../../../scripts/cluster.sh', import.meta.url).pathname;
    const name = `rn${process.pid % 1000}`;
    const sh = (...args: string[]) => spawnSync('bash', [script, ...args, '--name', name], { encoding: 'utf8', env: { ...process.env, CONCLAVE_CLUSTER_NAME: undefined }, timeout: 120_000 });
    const file = join(work, 'partition-jobs.txt');
    const mine: ReturnType<typeof startRun>[] = [];
    try {
      const up = sh('up', '3');
      assert.equal(up.status, 0, `${up.stdout}\n${up.stderr}`);
      const apis = [1, 2, 3].map((i) => `unix:${sh('sock', String(i)).stdout.trim()}`);
      for (const api of apis) mine.push(startRunAt(api, file));
      const first = await waitJobs(file, (jobs) => jobs.length === 1 && jobs[0]!.node === 'n3');
      assert.equal(sh('partition', '3', '1,2').status, 0);
      const second = await waitJobs(file, (jobs) => jobs.length === 1 && jobs[0]!.node !== 'n3', 30_000);
      const stopped = readJobRecords(file).find((r) => r.what === 'term' && r.pid === first[0]!.pid);
      assert.ok(stopped, 'the minority leader\'s child got SIGTERM');
      assert.ok(second[0]!.token > first[0]!.token, `token ${first[0]!.token} → ${second[0]!.token}`);
      const gapMs = second[0]!.atMs - stopped.atMs;
      t.diagnostic(`old child stopped ${gapMs} ms before the new one started (negative would be an overlap)`);
      assert.ok(gapMs >= 0, `the two children overlapped for ${-gapMs} ms`);
    } finally {
      await Promise.all(mine.map((r) => stopRun(r)));
      sh('down');
    }
  });
});

/** Waits until the running children satisfy `done`; returns them. */
async function waitJobs(file: string, done: (jobs: ReturnType<typeof runningJobs>) => boolean, timeoutMs = 20_000): Promise<ReturnType<typeof runningJobs>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const jobs = runningJobs(file);
    if (done(jobs)) return jobs;
    if (Date.now() > deadline) throw new Error(`children not as expected within ${timeoutMs} ms: ${JSON.stringify(readJobRecords(file))}`);
    await sleep(50);
  }
}
