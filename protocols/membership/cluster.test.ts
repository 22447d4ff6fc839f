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

function converged(tickMs: number | 'deadline' = 25): TestCluster {
  const cluster = new TestCluster(IDS, T, tickMs);
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

/**
 * How each survivor detected the node `fault` silenced: ms from the last heartbeat it heard from
 * the node to its suspicion, from the suspicion to the dead verdict, and from the fault to that
 * verdict. The two kinds of host tick at different phases, so silence is the fair measure.
 */
function detection(tickMs: number | 'deadline', fault: (c: TestCluster) => void): { silentMs: number; suspectedMs: number; deadMs: number }[] {
  const cluster = converged(tickMs);
  const faultAt = cluster.nowMs;
  const lastHeard = SURVIVORS.map((observer) => cluster.get(observer).member('e')?.lastHeardMs ?? NaN);
  fault(cluster);
  cluster.advance(5000);
  return SURVIVORS.map((observer, i) => {
    const suspectAt = firstAt(cluster, observer, 'member-suspect', 'e', faultAt) ?? Infinity;
    const deadAt = firstAt(cluster, observer, 'member-dead', 'e', faultAt) ?? Infinity;
    return { silentMs: suspectAt - lastHeard[i]!, suspectedMs: deadAt - suspectAt, deadMs: deadAt - faultAt };
  });
}

test('ticked only at its deadlines, a cluster detects a silent node (SIGSTOP) within the bounds of 25 ms ticks, never later', () => {
  const periodic = detection(25, (c) => c.stop('e'));
  const byDeadline = detection('deadline', (c) => c.stop('e'));
  for (const [i, { silentMs, suspectedMs, deadMs }] of byDeadline.entries()) {
    const ticked = periodic[i]!;
    assert.equal(silentMs, T.suspectAfterMs, 'suspected the moment the silence is long enough');
    assert.ok(silentMs <= ticked.silentMs && ticked.silentMs - silentMs < 25, `silent ${silentMs} ms, ${ticked.silentMs} ms with ticks`);
    assert.ok(suspectedMs >= T.suspicionMinMs && suspectedMs <= ticked.suspectedMs, `suspected ${suspectedMs} ms, ${ticked.suspectedMs} ms with ticks`);
    assert.ok(deadMs <= 3000 && ticked.deadMs <= 3000, `dead ${deadMs} ms after the stop, ${ticked.deadMs} ms with ticks`);
  }
});

test('ticked only at its deadlines, a cluster declares a killed node dead within the bounds of 25 ms ticks, never later', () => {
  const periodic = detection(25, (c) => c.kill('e'));
  const byDeadline = detection('deadline', (c) => c.kill('e'));
  for (const [i, { deadMs }] of byDeadline.entries()) {
    const ticked = periodic[i]!;
    assert.ok(deadMs >= T.suspicionMinMs && deadMs <= T.suspicionMinMs + T.heartbeatIntervalMs, `dead ${deadMs} ms after the kill`);
    assert.ok(deadMs <= ticked.deadMs && ticked.deadMs - deadMs < 25, `dead ${deadMs} ms, ${ticked.deadMs} ms with ticks`);
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
