/**
 * Real daemons (in a private network namespace with real mDNS when root; on loopback with
 * static bootstrap otherwise): membership converges, detects kill -9, welcomes restarts, sees
 * graceful leaves, and ignores other clusters on the same LAN. On the namespace LAN of
 * scripts/cluster.sh: a partition that outlasts forgetAfterMs heals without waiting for mDNS.
 */
import '../../daemon/polyfill.js';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createApiClient } from '../../daemon/api/client.js';
import { canUseNamespaces, LocalCluster, sleep } from '../support/local-cluster.js';

const ROOT = new URL('../../../', import.meta.url).pathname;
const SCRIPT = join(ROOT, 'scripts/cluster.sh');

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

describe('a partition longer than forgetAfterMs', { timeout: 180_000 }, () => {
  it('heals within seconds once the network does: the sides redial the members they forgot, with no mDNS query due', { skip: canUseNamespaces() ? false : 'needs root and ip for a namespace LAN' }, async () => {
    const name = `heal${process.pid % 1000}`;
    const dir = mkdtempSync(join(tmpdir(), 'conclave-heal-'));
    // Forgotten 8 s after death (its connections are closed 3 s after it), and no mDNS query for
    // two minutes once connected: only redials of the forgotten members can bring the sides
    // together within the wait below.
    const config = join(dir, 'config.yaml');
    writeFileSync(config, 'membership:\n  forgetAfterMs: 8000\ndiscovery:\n  mdns:\n    idleIntervalMs: 120000\n');
    const sh = (...args: string[]) => spawnSync('bash', [SCRIPT, ...args, '--name', name], { encoding: 'utf8', env: { ...process.env, CONCLAVE_CLUSTER_NAME: undefined }, timeout: 120_000 });
    try {
      const up = sh('up', '5', '--config', config);
      assert.equal(up.status, 0, `${up.stdout}\n${up.stderr}`);
      const upAtMs = Date.now();
      const clients = [1, 2, 3, 4, 5].map((i) => createApiClient({ address: `unix:${sh('sock', String(i)).stdout.trim()}`, timeoutMs: 5000 }));
      const views = () => Promise.all(clients.map(async (c) => (await c.members()).members.map((m) => `${m.name}:${m.state}`).sort()));
      const waitUntil = async (what: string, timeoutMs: number, done: (views: string[][]) => boolean) => {
        const deadline = Date.now() + timeoutMs;
        let last: string[][] = [];
        while (Date.now() < deadline) {
          last = await views();
          if (done(last)) return;
          await sleep(200);
        }
        assert.fail(`timed out after ${timeoutMs} ms waiting for ${what}; views: ${JSON.stringify(last)}`);
      };
      const whole = (v: string[][]) => v.every((view) => view.length === 5 && view.every((m) => m.endsWith(':alive')));
      await waitUntil('all five to see five alive', 30_000, whole);
      assert.equal(sh('partition', '4,5', '1,2,3').status, 0);
      // Each side declares the other dead, then forgets it.
      const forgotten = (v: string[][]) => v.every((view, i) => view.length === (i < 3 ? 3 : 2));
      await waitUntil('each side to forget the other', 60_000, forgotten);
      // Past the first 10 s, when mDNS still queries every second (MDNS_SEARCH_PHASE_MS).
      await sleep(Math.max(3000, upAtMs + 15_000 - Date.now()));
      assert.equal(sh('heal').status, 0);
      await waitUntil('all five to see five alive again', 20_000, whole);
    } finally {
      sh('down');
      rmSync(dir, { recursive: true, force: true });
      if (!process.env.CONCLAVE_KEEP_TEST_LOGS) rmSync(join(ROOT, '.cluster/.logs', name), { recursive: true, force: true });
    }
  });
});
