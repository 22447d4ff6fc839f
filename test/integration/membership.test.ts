/**
 * Real daemons (in a private network namespace with real mDNS when root; on loopback with
 * static bootstrap otherwise): membership converges, detects kill -9, welcomes restarts, sees
 * graceful leaves, and ignores other clusters on the same LAN.
 */
import '../../daemon/polyfill.js';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { LocalCluster } from '../support/local-cluster.js';

const SIZE = 5;

describe('membership with 5 real daemons', { timeout: 120_000 }, () => {
  let cluster: LocalCluster;

  before(async () => {
    cluster = await LocalCluster.start({ size: SIZE, preset: 'lan' });
  });
  after(async () => {
    await cluster?.stop();
  });

  it('converges: every node sees all 5 alive, itself included', async () => {
    for (const node of cluster.nodes) {
      const expected = Object.fromEntries(cluster.nodes.map((n) => [n.name, 'alive']));
      const members = await cluster.waitForStates(node.index, expected, 20_000);
      assert.equal(members.length, SIZE);
      assert.equal(members.filter((m) => m.self).length, 1);
      assert.equal(members.find((m) => m.self)?.name, node.name);
    }
  });

  it('kill -9 of one → dead at every survivor, then a restart (same id) → alive again', async () => {
    const victim = cluster.node(4);
    const before = await cluster.client(4).status();
    cluster.signal(4, 'SIGKILL');
    await cluster.waitExit(4);
    for (const i of [1, 2, 3, 5]) await cluster.waitForStates(i, { [victim.name]: 'dead' }, 15_000);

    cluster.startNode(4);
    const after = await cluster.waitForApi(4);
    assert.equal(after.id, before.id, 'a restarted node keeps its peer id (peer.key is reused)');
    for (const i of [1, 2, 3, 5]) {
      const members = await cluster.waitForStates(i, { [victim.name]: 'alive' }, 15_000);
      const seen = members.find((m) => m.name === victim.name)!;
      assert.equal(seen.id, before.id);
    }
  });

  it('SIGTERM → the node leaves gracefully: peers see `left`, the process exits 0 within 2 s', async () => {
    const victim = cluster.node(5);
    // Node 4 has just restarted: let every node know every other before one of them leaves.
    const everyone = Object.fromEntries(cluster.nodes.map((n) => [n.name, 'alive']));
    for (const node of cluster.nodes) await cluster.waitForStates(node.index, everyone, 15_000);
    const started = Date.now();
    cluster.signal(5, 'SIGTERM');
    const code = await cluster.waitExit(5, 5000);
    const tookMs = Date.now() - started;
    assert.equal(code, 0);
    assert.ok(tookMs < 2000, `exit took ${tookMs} ms`);
    for (const i of [1, 2, 3, 4]) await cluster.waitForStates(i, { [victim.name]: 'left' }, 10_000);
  });

  it('a daemon of another cluster on the same LAN stays invisible', async () => {
    const other = await LocalCluster.start({ size: 1, cluster: `${cluster.name}-other`, namespace: cluster.namespace ?? undefined, extraArgs: () => (cluster.namespace ? [] : cluster.nodes.flatMap((n) => ['--bootstrap', `/ip4/127.0.0.1/tcp/${n.port}`])) });
    try {
      // Long enough for several mDNS rounds and heartbeats.
      await new Promise((resolve) => setTimeout(resolve, 3000));
      const otherId = (await other.client(1).status()).id;
      for (const i of [1, 2, 3, 4]) {
        assert.ok(!(await cluster.members(i)).some((m) => m.id === otherId), `node ${i} must not list the other cluster's daemon`);
      }
      assert.deepEqual((await other.members(1)).map((m) => m.self), [true], 'the other daemon sees only itself');
    } finally {
      await other.stop();
    }
  });
});
