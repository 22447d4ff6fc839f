/**
 * Named elections on real Raft daemons (issue 12 section 2): applications beside two different
 * daemons campaign in one election through the client library; the first leads under its key's
 * create revision, and when its daemon is killed with -9, membership declares the node dead, its
 * session ends, and the second leads under a higher token. Every node reports the same leader,
 * and the daemon's own leader record is readable through the store.
 */
import '../../daemon/polyfill.js';
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Conclave } from '../../client/index.js';
import { LocalCluster, sleep } from '../support/local-cluster.js';
import { readJobRecords, runningJobs, startRun, stopRun } from '../support/run-job.js';

const clusters: LocalCluster[] = [];
const work = mkdtempSync(join(tmpdir(), 'conclave-elections-it-'));
after(async () => {
  await Promise.all(clusters.map((c) => c.stop()));
  rmSync(work, { recursive: true, force: true });
});

describe('named elections on 3 real raft daemons', { timeout: 120_000 }, () => {
  it('the first campaign leads; kill -9 of its daemon ends its session, and the second leads under a higher token; every node agrees', async (t) => {
    const cluster = await LocalCluster.start({ size: 3, protocol: 'raft', preset: 'lan' });
    clusters.push(cluster);
    const leaderName = await cluster.agreedLeader(undefined, 30_000);
    // The record of the daemon's own leadership, read through the store like any key.
    const record = await cluster.client(1).kvGet('conclave/leader');
    const status = await cluster.client(1).status();
    assert.deepEqual(JSON.parse(record.kv!.value), { leader: status.leader!.id, term: status.term });
    assert.equal(status.leader!.name, leaderName);

    // Campaigners beside two followers (a kill -9 of the Raft leader would add an election to the wait).
    const [a, b] = cluster.nodes.filter((n) => n.name !== leaderName);
    const onA = new Conclave({ api: `unix:${a!.socket}` });
    const onB = new Conclave({ api: `unix:${b!.socket}` });
    const first = await onA.campaign('jobs', { value: `job on ${a!.name}`, ttlMs: 60_000 });
    let secondAtMs: number | null = null;
    const second = onB.campaign('jobs', { value: `job on ${b!.name}`, ttlMs: 60_000 }).then((reign) => {
      secondAtMs = Date.now();
      return reign;
    });
    await cluster.waitFor('both candidates on every node', 10_000, async () => {
      const views = await Promise.all(cluster.nodes.map((n) => cluster.client(n.index).election('jobs', { serializable: true })));
      return views.every((v) => v.candidates.length === 2 && v.leader?.token === first.fencingToken) ? true : null;
    });
    assert.equal(secondAtMs, null, 'the second waits while the first leads');

    cluster.signal(a!.index, 'SIGKILL');
    await cluster.waitExit(a!.index);
    const killedAt = Date.now();
    const reign = await second;
    // Well before the 60 s session TTL: the failure detector ended the session.
    assert.ok(secondAtMs! - killedAt < 30_000, `${secondAtMs! - killedAt} ms`);
    assert.ok(reign.fencingToken > first.fencingToken, `token ${reign.fencingToken} after ${first.fencingToken}`);
    const others = cluster.nodes.filter((n) => n !== a);
    await cluster.waitFor('every live node names the second', 10_000, async () => {
      const leaders = await Promise.all(others.map((n) => cluster.client(n.index).election('jobs', { serializable: true }).then((v) => v.leader?.token ?? null)));
      return leaders.every((token) => token === reign.fencingToken) ? true : null;
    });
    t.diagnostic(`the second led ${secondAtMs! - killedAt} ms after kill -9 of the first's daemon, under token ${reign.fencingToken} (the first held ${first.fencingToken})`);
    // The first cannot reach its daemon (its signal aborts once its session could have ended, a
    // TTL later: the unit tests show that); stop its keep-alives so this process can end.
    await first.resign();
    await reign.resign();
    assert.equal((await cluster.client(b!.index).election('jobs')).leader, null, 'resigned: no leader left');
  });

  it('conclave run --election on two nodes: exactly one child, under the election\'s token; kill -9 of its daemon stops it at once, and the other node\'s child starts under a higher token', async (t) => {
    const cluster = await LocalCluster.start({ size: 3, protocol: 'raft', preset: 'lan' });
    clusters.push(cluster);
    const leaderName = await cluster.agreedLeader(undefined, 30_000);
    const [a, b] = cluster.nodes.filter((n) => n.name !== leaderName);
    const file = join(work, 'batch-jobs.txt');
    const runs = [a!, b!].map((n) => startRun(cluster, n.index, file, ['--election', 'batch', '--ttl-ms', '60000']));
    try {
      const deadline = Date.now() + 20_000;
      while (runningJobs(file).length === 0 && Date.now() < deadline) await sleep(50);
      await sleep(500);
      const first = runningJobs(file);
      assert.equal(first.length, 1, `one child across the two nodes: ${JSON.stringify(readJobRecords(file))}`);
      const holder = cluster.nodes.find((n) => n.name === first[0]!.node)!;
      const token = (await cluster.client(holder.index).election('batch')).leader?.token;
      assert.equal(first[0]!.token, token, 'the child runs under the election\'s token');
      cluster.signal(holder.index, 'SIGKILL');
      await cluster.waitExit(holder.index);
      const until = Date.now() + 20_000;
      while (!runningJobs(file).some((j) => j.node !== holder.name) && Date.now() < until) await sleep(50);
      const second = runningJobs(file).find((j) => j.node !== holder.name);
      assert.ok(second, `a child on the other node: ${JSON.stringify(readJobRecords(file))}`);
      assert.ok(second.token > first[0]!.token, `token ${first[0]!.token} → ${second.token}`);
      const stopped = readJobRecords(file).find((r) => r.what === 'term' && r.pid === first[0]!.pid);
      assert.ok(stopped, 'the first child got SIGTERM (its daemon gone), not the 60 s TTL later');
      const gapMs = second.atMs - stopped.atMs;
      t.diagnostic(`old child stopped ${gapMs} ms before the new one started (negative would be an overlap)`);
      assert.ok(gapMs >= 0, `the two children overlapped for ${-gapMs} ms`);
    } finally {
      await Promise.all(runs.map((r) => stopRun(r)));
    }
  });
});
