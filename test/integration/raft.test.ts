/**
 * Raft with real daemons on a namespace LAN (real mDNS), issue "Raft mode": five nodes started
 * with --bootstrap-expect 5 elect one leader; kill -9 of the leader → the survivors agree on a
 * new leader in a higher term with a higher fencing token; the old leader returns as a follower
 * without disturbing the leader (its term unchanged: pre-vote and stickiness); SIGTERM of the
 * leader hands leadership over before it leaves.
 */
import '../../daemon/polyfill.js';
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { StatusResponse } from '../../daemon/api/types.js';
import { LocalCluster, sleep } from '../support/local-cluster.js';

const clusters: LocalCluster[] = [];
after(async () => {
  await Promise.all(clusters.map((c) => c.stop()));
});

async function startRaft(size: number): Promise<LocalCluster> {
  const cluster = await LocalCluster.start({ size, protocol: 'raft', preset: 'lan' });
  clusters.push(cluster);
  return cluster;
}

/** Every listed node names one and the same leader, which says it leads; that leader's status. */
async function agreed(cluster: LocalCluster, nodes: number[], timeoutMs = 20_000, not?: string): Promise<StatusResponse> {
  return await cluster.waitFor(`one leader agreed by ${nodes.join(',')}`, timeoutMs, async () => {
    const statuses = await Promise.all(nodes.map((i) => cluster.client(i).status().catch(() => null)));
    const name = statuses[0]?.leader?.name;
    if (!name || name === not || !statuses.every((s) => s?.leader?.name === name)) return null;
    const leader = statuses.find((s) => s!.name === name);
    return leader?.role === 'leader' ? leader : null;
  });
}

describe('raft with 5 real daemons', { timeout: 180_000 }, () => {
  it('elects one leader; kill -9 of it → the survivors agree on a new leader in a higher term with a higher token; the old leader returns as a follower and the term stays', async () => {
    const cluster = await startRaft(5);
    const all = [1, 2, 3, 4, 5];
    const first = await agreed(cluster, all);
    assert.ok(first.term >= 1 && first.fencingToken >= 1, JSON.stringify(first));
    const statuses = await Promise.all(all.map((i) => cluster.client(i).status()));
    assert.equal(statuses.filter((s) => s.role === 'leader').length, 1, 'exactly one node says it leads');
    // The bootstrap configuration: all five vote, and every node holds it.
    for (const s of statuses) assert.deepEqual(s.raft?.voters.map((v) => v.name).sort(), ['n1', 'n2', 'n3', 'n4', 'n5'], s.name);

    const old = cluster.nodes.find((n) => n.name === first.name)!;
    cluster.signal(old.index, 'SIGKILL');
    await cluster.waitExit(old.index);
    const survivors = all.filter((i) => i !== old.index);
    const second = await agreed(cluster, survivors, 20_000, first.name);
    assert.ok(second.term > first.term, `term ${first.term} → ${second.term}`);
    assert.ok(second.fencingToken > first.fencingToken, `fencing token ${first.fencingToken} → ${second.fencingToken}`);

    cluster.startNode(old.index);
    await cluster.waitForApi(old.index);
    const rejoined = await agreed(cluster, all);
    assert.equal(rejoined.name, second.name, 'the returning node does not take leadership back');
    await sleep(3000);
    const after = await agreed(cluster, all);
    assert.deepEqual({ name: after.name, term: after.term }, { name: second.name, term: second.term }, 'a restarted node does not disturb the leader');
  });

  it('SIGTERM of the leader hands leadership to another voter before it exits 0', async () => {
    const cluster = await startRaft(3);
    const first = await agreed(cluster, [1, 2, 3]);
    const old = cluster.nodes.find((n) => n.name === first.name)!;
    const survivors = [1, 2, 3].filter((i) => i !== old.index);
    const watchers = survivors.map((i) => cluster.watchEvents(i));
    await Promise.all(watchers.map((w) => w.ready));
    cluster.signal(old.index, 'SIGTERM');
    assert.equal(await cluster.waitExit(old.index, 5000), 0);
    const exitedBy = Date.now();
    const second = await agreed(cluster, survivors, 10_000, first.name);
    assert.ok(second.term > first.term);
    for (const w of watchers) {
      // A hand-off, not an election after the exit: the new leader was announced while the old one still ran.
      const changed = w.events.find((e) => e.type === 'leader-changed' && e.to?.name === second.name);
      assert.ok(changed && changed.receivedAtMs <= exitedBy, `every survivor heard of ${second.name} before ${first.name} exited`);
      w.stop();
    }
  });
});
