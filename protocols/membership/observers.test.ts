/**
 * Clusters larger than OBSERVERS_PER_MEMBER + 1: each member is watched by its observers only,
 * routine heartbeats go to them (and one more member in turn), news goes to everyone, and the
 * members that do not watch a node learn its failure from its observers' gossip.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { heartbeatCodec } from './codec.js';
import { OBSERVERS_PER_MEMBER } from './membership.js';
import { MEMBERSHIP_PRESETS } from './presets.js';
import { heartbeat, machine, TestCluster } from './testing.js';
import type { Heartbeat, MembershipEffect } from './types.js';

const T = MEMBERSHIP_PRESETS.lan;
const IDS = Array.from({ length: 12 }, (_, i) => `n${String(i).padStart(2, '0')}`);

function converged(): TestCluster {
  const cluster = new TestCluster(IDS, T, 'deadline');
  cluster.advance(3000);
  for (const id of IDS) assert.equal(cluster.get(id).members().filter((m) => m.state === 'alive').length, IDS.length, `${id} sees everyone`);
  return cluster;
}

function publishes(effects: { atMs: number; effect: MembershipEffect }[], fromMs: number): { atMs: number; heartbeat: Heartbeat; to: string[] | null }[] {
  return effects.flatMap(({ atMs, effect }) => (effect.type === 'publish' && atMs >= fromMs ? [{ atMs, heartbeat: effect.heartbeat, to: effect.to }] : []));
}

test('a large cluster: each member names its observers, the next ones in id order, and its routine heartbeats go to them and one more', () => {
  const cluster = converged();
  const fromMs = cluster.nowMs;
  cluster.advance(5000);
  for (const [i, id] of IDS.entries()) {
    const expected = Array.from({ length: OBSERVERS_PER_MEMBER }, (_, k) => IDS[(i + 1 + k) % IDS.length]);
    const sent = publishes(cluster.effects(id), fromMs);
    assert.ok(sent.length >= 4 && sent.length <= 6, `${id}: one heartbeat an interval, got ${sent.length}`);
    for (const { heartbeat: hb, to } of sent) {
      assert.deepEqual(hb.observers, expected, `${id} names its successors`);
      assert.ok(to !== null, `${id}: routine heartbeats are not sent to everyone`);
      assert.equal(to.length, OBSERVERS_PER_MEMBER + 1, `${id}: the observers and one more`);
      for (const observer of expected) assert.ok(to.includes(observer));
    }
  }
});

test('a large cluster is quiet: nobody is suspected, and a node receives about as many heartbeats as it sends', () => {
  const cluster = converged();
  const fromMs = cluster.nowMs;
  cluster.advance(20_000);
  for (const id of IDS) {
    assert.deepEqual(cluster.events(id).filter((e) => e.atMs >= fromMs && e.event.type === 'member-suspect'), [], `${id} suspects no one`);
  }
  const received = new Map(IDS.map((id) => [id, 0]));
  for (const id of IDS) for (const { to } of publishes(cluster.effects(id), fromMs)) for (const t of to ?? IDS.filter((x) => x !== id)) received.set(t, received.get(t)! + 1);
  // 20 intervals: five observers' heartbeats each, and about one more from the rest.
  for (const [id, n] of received) assert.ok(n >= 5 * 19 && n <= 5 * 21 + 40, `${id} received ${n}`);
});

test('a silent member is suspected for silence by its observers only; everyone else adopts their suspicion, and all declare it dead', () => {
  const cluster = converged();
  const victim = 'n05';
  const observers = IDS.slice(6, 6 + OBSERVERS_PER_MEMBER);
  const stoppedAt = cluster.nowMs;
  cluster.stop(victim);
  cluster.advance(6000);
  for (const id of IDS.filter((x) => x !== victim)) {
    const suspicion = cluster.events(id).find((e) => e.atMs >= stoppedAt && e.event.type === 'member-suspect' && e.event.id === victim);
    assert.ok(suspicion && suspicion.event.type === 'member-suspect', `${id} suspects ${victim}`);
    assert.equal(suspicion.event.reason, observers.includes(id) ? 'silence' : 'reported', `${id}'s reason`);
    const dead = cluster.events(id).find((e) => e.event.type === 'member-dead' && e.event.id === victim);
    assert.ok(dead, `${id} declares ${victim} dead`);
    // Five observers' suspicions arrive together: the shortest suspicion everywhere.
    assert.ok(dead.atMs - stoppedAt <= T.suspectAfterMs + T.suspicionMinMs + 50, `${id} dead after ${dead.atMs - stoppedAt} ms`);
  }
});

test('a falsely suspected member refutes what its observer gossiped, and nobody declares it dead', () => {
  const cluster = converged();
  // n05's observers lose its heartbeats while its loop is blocked; they suspect it, it refutes once it runs.
  cluster.block('n05', T.suspectAfterMs + 300);
  cluster.advance(T.suspectAfterMs + 3000);
  const dead = IDS.flatMap((id) => cluster.events(id).filter((e) => e.event.type === 'member-dead').map((e) => `${id}: ${JSON.stringify(e.event)}`));
  assert.deepEqual(dead, []);
  assert.ok(cluster.events('n05').some((e) => e.event.type === 'refuted'), 'n05 refuted');
  for (const id of IDS) assert.equal(cluster.get(id).member('n05')?.state, 'alive', `${id} holds n05 alive`);
});

test('a newcomer hears from everyone at once, not only from the members it watches', () => {
  const cluster = converged();
  const at = cluster.nowMs;
  cluster.start('n99', 1);
  cluster.advance(100);
  assert.equal(cluster.get('n99').members().filter((m) => m.state === 'alive').length, IDS.length + 1);
  for (const id of IDS) assert.equal(cluster.get(id).member('n99')?.state, 'alive', `${id} knows n99 at ${cluster.nowMs - at} ms`);
});

test('a member only a node\'s gossip reaches is not suspected for silence by one that does not watch it', () => {
  const m = machine('a', T);
  const others = ['b', 'c', 'd', 'e', 'f', 'g', 'h'];
  m.step({ type: 'tick', nowMs: 0, localLagMs: 0 });
  // h names observers that do not include a: a hears from h once and never again.
  for (const id of others) m.step({ type: 'heartbeat', nowMs: 0, from: id, heartbeat: heartbeat(id, { observers: id === 'h' ? ['b', 'c', 'd', 'e', 'f'] : undefined }) });
  m.drain();
  for (let now = 0; now <= 10_000; now += 1000) {
    m.step({ type: 'tick', nowMs: now, localLagMs: 0 });
    for (const id of others.filter((x) => x !== 'h')) m.step({ type: 'heartbeat', nowMs: now, from: id, heartbeat: heartbeat(id, { seq: now + 2 }) });
  }
  assert.equal(m.member('h')?.state, 'alive');
  // Its observer's gossip of a suspicion is adopted at once.
  m.step({ type: 'heartbeat', nowMs: 10_000, from: 'b', heartbeat: heartbeat('b', { seq: 20_000, suspects: [{ id: 'h', incarnation: 1 }] }) });
  assert.equal(m.member('h')?.state, 'suspect');
  assert.equal(m.member('h')?.suspectReason, 'reported');
});

test('the codec takes an observers list and refuses an empty or oversized one', () => {
  const wire = (hb: Heartbeat): unknown => JSON.parse(JSON.stringify(hb));
  assert.ok(heartbeatCodec.parse(wire(heartbeat('a', { observers: ['b', 'c'] }))).ok);
  assert.ok(heartbeatCodec.parse(wire(heartbeat('a'))).ok, 'absent: everyone watches');
  assert.equal(heartbeatCodec.parse(wire(heartbeat('a', { observers: [] }))).ok, false);
  assert.equal(heartbeatCodec.parse(wire(heartbeat('a', { observers: Array.from({ length: 4 * OBSERVERS_PER_MEMBER + 1 }, (_, i) => `x${i}`) }))).ok, false);
});
