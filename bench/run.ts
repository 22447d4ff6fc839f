/**
 * `npm run bench -- run`: `conclave run` on 3 Bully daemons, one run process per node, the
 * child recording its start and the SIGTERM it gets (test/support/run-job.ts). Prints:
 * - leadership lost → child signalled, by `transfer`: from the old leader's leader-changed event
 *   (the daemon's `at` stamp; and from the transfer request) to the child's SIGTERM
 *   timestamp; target p50 ≤ 20 ms from the event;
 * - kill -9 of the leader's daemon → a child running on the new leader, beside the fail-over
 *   itself (the kill to a survivor's leader-changed event); target ≤ fail-over + 50 ms.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalCluster, type ReceivedEvent } from '../test/support/local-cluster.js';
import { readJobRecords, runningJobs, startRun, stopRun, type JobRecord } from '../test/support/run-job.js';
import { parseNumberOptions, summarize } from './stats.js';

export async function run(args: string[]): Promise<void> {
  const opts = parseNumberOptions(args, { trials: 10 });
  const work = mkdtempSync(join(tmpdir(), 'conclave-run-bench-'));
  const file = join(work, 'jobs.txt');
  const cluster = await LocalCluster.start({ size: 3, protocol: 'bully' });
  const runs = cluster.nodes.map((n) => startRun(cluster, n.index, file, ['--quiet']));
  const index = (name: string) => cluster.nodes.find((n) => n.name === name)!.index;
  const onlyJob = (except?: number) =>
    cluster.waitFor('exactly one job', 20_000, async () => {
      const jobs = runningJobs(file);
      return jobs.length === 1 && jobs[0]!.pid !== except ? jobs[0]! : null;
    });
  const termOf = (job: JobRecord) => cluster.waitFor(`SIGTERM of ${job.pid}`, 20_000, async () => readJobRecords(file).find((r) => r.what === 'term' && r.pid === job.pid) ?? null);
  console.log(`run bench: 3 bully daemons (${cluster.usesMdns ? 'mDNS in a namespace' : 'loopback'}), conclave run on each, ${opts.trials} trials each`);
  try {
    await cluster.agreedLeader(undefined, 30_000);
    const fromEvent: number[] = [];
    const fromRequest: number[] = [];
    for (let trial = 0; trial < opts.trials; trial++) {
      const job = await onlyJob();
      const watcher = cluster.watchEvents(index(job.node));
      await watcher.ready;
      const to = cluster.nodes.find((n) => n.name !== job.node)!.name;
      const requestedAt = Date.now();
      await cluster.client(index(job.node)).transfer(to);
      const term = await termOf(job);
      const lost = watcher.events.find((e): e is ReceivedEvent & { type: 'leader-changed' } => e.type === 'leader-changed' && e.to?.name !== job.node);
      watcher.stop();
      fromRequest.push(term.atMs - requestedAt);
      // The daemon's own stamp (`at`, same machine clock): the bench's watcher may be read later than run's.
      if (lost) fromEvent.push(term.atMs - Date.parse(lost.at));
      await onlyJob(job.pid);
    }
    console.log(summarize('transfer: leader-changed stamped by the old leader → its child has SIGTERM', fromEvent, { p50: 20 }));
    console.log(summarize('transfer: the request → the old child has SIGTERM', fromRequest));

    const toChild: number[] = [];
    const failover: number[] = [];
    for (let trial = 0; trial < opts.trials; trial++) {
      const job = await onlyJob();
      const victim = index(job.node);
      const survivor = cluster.nodes.find((n) => n.index !== victim)!.index;
      const watcher = cluster.watchEvents(survivor);
      await watcher.ready;
      const killedAt = Date.now();
      cluster.signal(victim, 'SIGKILL');
      const next = await onlyJob(job.pid);
      const elected = await cluster.waitFor('leader-changed at a survivor', 10_000, async () =>
        watcher.events.find((e): e is ReceivedEvent & { type: 'leader-changed' } => e.type === 'leader-changed' && e.to !== null && e.to.name !== job.node) ?? null);
      watcher.stop();
      toChild.push(next.atMs - killedAt);
      failover.push(elected.receivedAtMs - killedAt);
      await cluster.waitExit(victim);
      cluster.startNode(victim);
      await cluster.waitForApi(victim);
      await cluster.waitForStates(survivor, Object.fromEntries(cluster.nodes.map((n) => [n.name, 'alive'])), 20_000);
      await cluster.waitHealthy();
    }
    console.log(summarize('kill -9 of the leader → a survivor sees the new leader (fail-over)', failover));
    console.log(summarize('kill -9 of the leader → a child runs on the new leader', toChild));
    // The target is per trial: a fail-over sometimes waits out the old lease (no connection-closed
    // hint), so the medians of the two columns can come from different kinds of trial.
    console.log(summarize('the child on the new leader, after the fail-over of the same trial', toChild.map((t, i) => t - failover[i]!), { p50: 50 }));
  } finally {
    await Promise.all(runs.map((r) => stopRun(r)));
    await cluster.stop();
    rmSync(work, { recursive: true, force: true });
  }
}
