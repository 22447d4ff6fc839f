/**
 * The key-value store on real Raft daemons (issue 12, "Proof"): clients on every node put, get
 * (linearizable), delete and compare-and-set a few keys concurrently while the leader is killed
 * with -9 (then restarted), later frozen with SIGSTOP, and (on the namespace LAN of
 * scripts/cluster.sh) cut off in a minority; the history they record, on this process's
 * monotonic clock, must pass the linearizability checker. A session ends with its
 * node (kill -9, then membership declares it dead). Under Bully the store answers 501 not-raft.
 */
import '../../daemon/polyfill.js';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { request } from 'node:http';
import { after, describe, it } from 'node:test';
import { createApiClient } from '../../daemon/api/client.js';
import { SseParser } from '../../daemon/api/sse.js';
import { checkLinearizability } from '../../protocols/check/linearizability.js';
import { ApiError } from '../../daemon/api/errors.js';
import { kvModel, type KvInput, type KvOperation } from '../../protocols/check/kv-model.js';
import { startKvWorkload } from '../../nemesis/kv-workload.js';
import { canUseNamespaces, LocalCluster, sleep } from '../support/local-cluster.js';

const KEYS = ['k0', 'k1', 'k2'];
const clusters: LocalCluster[] = [];
after(async () => {
  await Promise.all(clusters.map((c) => c.stop()));
});

/** Watches `prefix` on a daemon; `first` resolves with the key of the first delete it reports. */
function watchDeletes(socketPath: string, prefix: string): { first: Promise<string>; close: () => void } {
  let req: ReturnType<typeof request> | null = null;
  const first = new Promise<string>((resolve, reject) => {
    const parser = new SseParser();
    req = request({ socketPath, path: `/v1/kv/watch?prefix=${encodeURIComponent(prefix)}` }, (res) => {
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        for (const m of parser.feed(chunk)) if (m.event === 'delete') resolve((JSON.parse(m.data) as { kv: { key: string } }).kv.key);
      });
    });
    req.on('error', reject);
    req.end();
  });
  return { first, close: () => req?.destroy() };
}

/**
 * Clients on every socket (two each) putting, getting, deleting and compare-and-setting a few
 * keys until `stop()`, which resolves with the history they recorded on this process's clock.
 */
function startClients(sockets: readonly string[]): { stop: () => Promise<KvOperation[]> } {
  const history: KvOperation[] = [];
  const workers = sockets.flatMap((socket, i) => [0, 1].map((slot) => ({ name: `n${i + 1}.${slot}`, client: createApiClient({ address: `unix:${socket}`, timeoutMs: 3000 }) })));
  const workload = startKvWorkload({ workers, keyFor: (w, n) => KEYS[(w + n) % KEYS.length]!, pauseMs: 5, now: () => performance.now(), onOperation: (op) => history.push(op) });
  return {
    stop: async () => {
      await workload.stop();
      return history;
    },
  };
}

/** The history must have enough answered writes and reads that saw values, and be linearizable. */
function assertLinearizable(t: { diagnostic: (message: string) => void }, history: KvOperation[]): void {
  const answered = history.filter((op) => op.returnMs !== null);
  assert.ok(answered.filter((op) => op.input.kind !== 'get').length >= 30, `${answered.length} answered operations`);
  assert.ok(answered.some((op) => op.input.kind === 'get' && (op.output as { value: string | null }).value !== null), 'reads saw written values');
  const result = checkLinearizability(kvModel, history, { maxSteps: 5_000_000 });
  assert.equal(result.ok, true, JSON.stringify(result).slice(0, 4000));
  const kinds = (kind: KvInput['kind']) => answered.filter((op) => op.input.kind === kind).length;
  t.diagnostic(`${history.length} operations (${history.length - answered.length} of unknown outcome): ${kinds('put')} puts, ${kinds('get')} gets, ${kinds('delete')} deletes, ${kinds('cas')} compare-and-sets answered; linearizable`);
}

describe('key-value store on 3 real raft daemons', { timeout: 120_000 }, () => {
  it('concurrent clients on every node through a kill -9 and a SIGSTOP of the leader: the history is linearizable', async (t) => {
    const cluster = await LocalCluster.start({ size: 3, protocol: 'raft', preset: 'lan' });
    clusters.push(cluster);
    await cluster.agreedLeader(undefined, 30_000);
    const clients = startClients(cluster.nodes.map((n) => n.socket));
    let history: KvOperation[] = [];
    try {
      await sleep(1500);
      const firstName = await cluster.agreedLeader();
      const first = cluster.nodes.find((n) => n.name === firstName)!;
      cluster.signal(first.index, 'SIGKILL');
      await cluster.waitExit(first.index);
      await sleep(2000);
      cluster.startNode(first.index);
      await cluster.waitForApi(first.index);
      const secondName = await cluster.agreedLeader(undefined, 20_000);
      const second = cluster.nodes.find((n) => n.name === secondName)!;
      cluster.signal(second.index, 'SIGSTOP');
      await sleep(2500);
      cluster.signal(second.index, 'SIGCONT');
      await sleep(2000);
    } finally {
      history = await clients.stop();
    }
    assertLinearizable(t, history);
  });

  it('a session ends with its node: kill -9 of the node that holds it, and its key is gone once membership declares the node dead', async () => {
    const cluster = await LocalCluster.start({ size: 3, protocol: 'raft', preset: 'lan' });
    clusters.push(cluster);
    const leaderName = await cluster.agreedLeader(undefined, 30_000);
    const holder = cluster.nodes.find((n) => n.name !== leaderName)!;
    const other = cluster.nodes.find((n) => n.name !== leaderName && n !== holder)!;
    const session = await cluster.client(holder.index).sessionGrant(60_000);
    await cluster.client(holder.index).kvPut('services/web', holder.name, { session: session.id });
    assert.equal((await cluster.client(other.index).kvGet('services/web')).kv?.value, holder.name);
    const watched = watchDeletes(other.socket, 'services/');
    cluster.signal(holder.index, 'SIGKILL');
    await cluster.waitExit(holder.index);
    const killedAt = Date.now();
    await cluster.waitFor('the session\'s key deleted', 20_000, async () => ((await cluster.client(other.index).kvGet('services/web')).kv === null ? true : null));
    // Well before the session's 60 s TTL: the failure detector ended it.
    assert.ok(Date.now() - killedAt < 20_000);
    assert.deepEqual(await watched.first, 'services/web', 'a watch on another node saw the key go');
    watched.close();
  });

  it('under bully every key-value request is 501 not-raft', async () => {
    const cluster = await LocalCluster.start({ size: 1, protocol: 'bully', bootstrapExpect: 1 });
    clusters.push(cluster);
    const client = cluster.client(1);
    await assert.rejects(client.kvPut('k', 'v'), (err: Error) => err instanceof ApiError && err.status === 501 && err.code === 'not-raft');
    await assert.rejects(client.kvGet('k'), (err: Error) => err instanceof ApiError && err.status === 501 && err.code === 'not-raft');
  });
});

describe('key-value store across a partition (scripts/cluster.sh namespace LAN)', { timeout: 120_000, skip: canUseNamespaces() ? false : 'needs root and ip for a namespace LAN' }, () => {
  it('concurrent clients on every node while the leader is cut off in a minority, then healed: the history is linearizable', async (t) => {
    const script = new URL('../../../scripts/cluster.sh', import.meta.url).pathname;
    const name = `kv${process.pid % 1000}`;
    const sh = (...args: string[]) => spawnSync('bash', [script, ...args, '--name', name], { encoding: 'utf8', env: { ...process.env, CONCLAVE_CLUSTER_NAME: undefined }, timeout: 120_000 });
    try {
      const up = sh('up', '3', '--protocol', 'raft');
      assert.equal(up.status, 0, `${up.stdout}\n${up.stderr}`);
      const sockets = [1, 2, 3].map((i) => sh('sock', String(i)).stdout.trim());
      const leaderOf = async () => {
        const names = await Promise.all(sockets.map((socket) => createApiClient({ address: `unix:${socket}`, timeoutMs: 2000 }).status().then((s) => s.leader?.name ?? null, () => null)));
        return names.every((n) => n !== null && n === names[0]) ? names[0]! : null;
      };
      let leader: string | null = null;
      for (let i = 0; i < 300 && leader === null; i++) {
        leader = await leaderOf();
        if (leader === null) await sleep(100);
      }
      assert.ok(leader !== null, 'the three agree on a leader');
      const clients = startClients(sockets);
      let history: KvOperation[] = [];
      try {
        await sleep(1500);
        const cut = leader.replace(/^n/, '');
        const rest = ['1', '2', '3'].filter((i) => i !== cut).join(',');
        assert.equal(sh('partition', cut, rest).status, 0);
        await sleep(3000);
        assert.equal(sh('heal').status, 0);
        await sleep(2500);
      } finally {
        history = await clients.stop();
      }
      assertLinearizable(t, history);
    } finally {
      sh('down');
    }
  });
});
