/**
 * Whole-cluster scenarios on a virtual clock: five machines, every heartbeat delivered to every
 * other running node, and the faults the presets are tuned for. Times are virtual milliseconds.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MEMBERSHIP_PRESETS } from './presets.js';
import { TestCluster } from './testing.js';
import type { MembershipEvent } from './types.js';

const T = MEMBERSHIP_PRESETS.lan;
const IDS = ['a', 'b', 'c', 'd', 'e'];
const SURVIVORS = ['a', 'b', 'c', 'd'];

function converged(): TestCluster {
  const cluster = new TestCluster(IDS, T);
  cluster.advance(1000);
  for (const id of IDS) {
    assert.deepEqual(cluster.get(id).members().map((m) => [m.id, m.state]), IDS.map((i) => [i, 'alive']));
  }
  return cluster;
}

function firstAt(cluster: TestCluster, observer: string, type: MembershipEvent['type'], id: string, sinceMs = 0): number | undefined {
  return cluster.events(observer).find((e) => e.atMs >= sinceMs && e.event.type === type && 'id' in e.event && e.event.id === id)?.atMs;
}

function verdicts(cluster: TestCluster, type: 'member-dead' | 'member-suspect'): string[] {
  return IDS.flatMap((observer) =>
    cluster.events(observer).flatMap((e) => (e.event.type === type ? [`${observer} ${e.event.id} @${e.atMs}`] : [])),
  );
}

test('kill -9 (connections close): every survivor declares the node dead within one second', () => {
  const cluster = converged();
  const killedAt = cluster.nowMs;
  cluster.kill('e');
  cluster.advance(3000);
  for (const observer of SURVIVORS) {
    const deadAt = firstAt(cluster, observer, 'member-dead', 'e');
    assert.ok(deadAt !== undefined, `${observer} never declared e dead`);
    // Three confirmations within one heartbeat: suspicionMinMs after the close, plus one interval.
    assert.ok(deadAt - killedAt <= T.suspicionMinMs + T.heartbeatIntervalMs, `${observer}: ${deadAt - killedAt} ms`);
    assert.ok(deadAt - killedAt >= T.suspicionMinMs);
  }
  assert.deepEqual(verdicts(cluster, 'member-dead').filter((v) => !v.includes(' e @')), []);
});

test('SIGSTOP (no close): every survivor declares the node dead within three seconds', () => {
  const cluster = converged();
  const stoppedAt = cluster.nowMs;
  cluster.stop('e');
  cluster.advance(5000);
  for (const observer of SURVIVORS) {
    const deadAt = firstAt(cluster, observer, 'member-dead', 'e');
    assert.ok(deadAt !== undefined && deadAt - stoppedAt <= 3000, `${observer}: ${deadAt === undefined ? 'never' : deadAt - stoppedAt} ms`);
  }
});

test('SIGCONT after being declared dead: the node refutes, is alive everywhere, and blamed no one', () => {
  const cluster = converged();
  cluster.stop('e');
  cluster.advance(10_000);
  const resumedAt = cluster.nowMs;
  cluster.resume('e');
  cluster.advance(2000);
  for (const observer of SURVIVORS) {
    assert.equal(cluster.get(observer).member('e')?.state, 'alive', observer);
    assert.ok(firstAt(cluster, observer, 'member-alive', 'e', resumedAt) !== undefined);
  }
  assert.ok(cluster.events('e').some((e) => e.event.type === 'refuted'));
  assert.deepEqual(verdicts(cluster, 'member-suspect').filter((v) => v.startsWith('e ')), []);
  assert.deepEqual(cluster.get('e').members().map((m) => m.state), IDS.map(() => 'alive'));
});

test('a restarted node (new life, higher incarnation) is alive again at every survivor', () => {
  const cluster = converged();
  cluster.kill('e');
  cluster.advance(3000);
  cluster.start('e', 2);
  cluster.advance(1000);
  for (const id of IDS) assert.deepEqual(cluster.get(id).members().map((m) => m.state), IDS.map(() => 'alive'), id);
  assert.equal(cluster.get('a').member('e')?.incarnation, 2);
});

test('an event loop blocked 300 ms every 20 s causes no suspicion and no dead verdict', () => {
  const cluster = converged();
  for (let round = 0; round < 15; round++) {
    cluster.block('c', 300);
    cluster.advance(20_000);
  }
  assert.deepEqual(verdicts(cluster, 'member-suspect'), []);
  assert.deepEqual(verdicts(cluster, 'member-dead'), []);
});

test('a long block of one node: others may suspect it, but it declares no one dead', () => {
  const cluster = converged();
  cluster.block('c', 8000);
  cluster.advance(12_000);
  assert.deepEqual(verdicts(cluster, 'member-dead').filter((v) => v.startsWith('c ')), []);
  for (const id of IDS) assert.equal(cluster.get(id).member('c')?.state, 'alive', id);
});

test('graceful leave: every node sees left, and the closed connection afterwards is no suspicion', () => {
  const cluster = converged();
  cluster.get('e').step({ type: 'leave', nowMs: cluster.nowMs });
  cluster.pump();
  cluster.advance(1000);
  cluster.kill('e');
  cluster.advance(5000);
  for (const observer of SURVIVORS) {
    assert.equal(cluster.get(observer).member('e')?.state, 'left', observer);
    assert.equal(firstAt(cluster, observer, 'member-suspect', 'e'), undefined);
  }
});

test('graceful leave missed by one node (its farewells lost): it still learns left from the leader it follows', () => {
  const cluster = converged();
  cluster.get('a').step({ type: 'update-self', nowMs: cluster.nowMs, meta: { leader: 'b' } });
  cluster.stop('a');
  cluster.get('e').step({ type: 'leave', nowMs: cluster.nowMs });
  cluster.advance(700);
  cluster.kill('e');
  cluster.resume('a');
  cluster.advance(5000);
  assert.equal(cluster.get('a').member('e')?.state, 'left');
  assert.deepEqual(verdicts(cluster, 'member-dead'), []);
});
