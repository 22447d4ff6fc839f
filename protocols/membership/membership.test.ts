import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_MEMBERS } from '../bounds.js';
import { MEMBERSHIP_PRESETS } from './presets.js';
import { leaveAnnounceGapMs, suspicionTimeoutMs } from './formulas.js';
import { CLUSTER, eventsOf, heartbeat, machine, meta, publishedBy } from './testing.js';
import { LEAVE_ANNOUNCEMENTS, createMembership, type Membership } from './membership.js';
import type { Heartbeat, IncarnationRef, MembershipEffect, MembershipEvent } from './types.js';

const T = MEMBERSHIP_PRESETS.lan;
const TICK_MS = 25;

interface Timed {
  atMs: number;
  event: MembershipEvent;
}

/**
 * Ticks `m` from `fromMs` to `toMs`; `peers` heartbeat every interval with increasing seq
 * (each may list suspects). Returns the events with the virtual time they appeared.
 */
function run(
  m: Membership,
  fromMs: number,
  toMs: number,
  peers: Record<string, { suspects?: IncarnationRef[]; incarnation?: number }> = {},
  lagMs = 0,
): Timed[] {
  const out: Timed[] = [];
  for (let now = fromMs; now <= toMs; now += TICK_MS) {
    m.step({ type: 'tick', nowMs: now, localLagMs: lagMs });
    if (now % T.heartbeatIntervalMs === 0) {
      for (const [id, p] of Object.entries(peers)) {
        const hb = heartbeat(id, { seq: now + 1, incarnation: p.incarnation ?? 1, suspects: p.suspects ?? [] });
        m.step({ type: 'heartbeat', nowMs: now, from: id, heartbeat: hb });
      }
    }
    for (const event of eventsOf(m)) out.push({ atMs: now, event });
  }
  return out;
}

function firstAt(events: Timed[], type: MembershipEvent['type'], id?: string): number | undefined {
  return events.find((e) => e.event.type === type && (id === undefined || ('id' in e.event && e.event.id === id)))?.atMs;
}

function hear(m: Membership, nowMs: number, hb: Heartbeat): MembershipEvent[] {
  m.step({ type: 'heartbeat', nowMs, from: hb.id, heartbeat: hb });
  return eventsOf(m);
}

test('the Raft dialect each member gossips is listed with it, self included; an older peer that gossips none lists none', () => {
  const a = createMembership({ cluster: CLUSTER, selfId: 'b-self', selfMeta: meta('b-self', { raftWire: 2 }), initialIncarnation: 1, timings: T, nowMs: 0 });
  hear(a, 0, heartbeat('a-older'));
  hear(a, 0, heartbeat('c-newer', { meta: meta('c-newer', { raftWire: 2 }) }));
  assert.deepEqual(a.members().map((m) => [m.id, m.raftWire]), [
    ['a-older', undefined],
    ['b-self', 2],
    ['c-newer', 2],
  ]);
});

test('an unknown member heard first-hand joins as alive and is listed beside self, sorted by id', () => {
  const a = machine('b-self', T);
  const events = hear(a, 0, heartbeat('a-peer'));
  assert.deepEqual(events.map((e) => e.type), ['member-joined']);
  assert.deepEqual(a.members().map((m) => [m.id, m.state, m.self]), [
    ['a-peer', 'alive', false],
    ['b-self', 'alive', true],
  ]);
  assert.equal(a.member('a-peer')?.name, 'a-peer');
});

test('members() returns copies: mutating them does not change the machine', () => {
  const a = machine('a', T);
  hear(a, 0, heartbeat('b'));
  const copy = a.member('b');
  assert.ok(copy);
  copy.addrs.push('/ip4/6.6.6.6/tcp/1');
  copy.state = 'dead';
  assert.equal(a.member('b')?.state, 'alive');
  assert.equal(a.member('b')?.addrs.length, 1);
});

test('heartbeats: first on the first tick, then one per interval, seq growing', () => {
  const a = machine('a', T);
  const seqs: number[] = [];
  const times: number[] = [];
  const interval = T.heartbeatIntervalMs;
  for (let now = 0; now <= 3 * interval + TICK_MS; now += TICK_MS) {
    a.step({ type: 'tick', nowMs: now, localLagMs: 0 });
    for (const hb of publishedBy(a)) {
      seqs.push(hb.seq);
      times.push(now);
    }
  }
  assert.deepEqual(times, [0, interval, 2 * interval, 3 * interval]);
  assert.deepEqual(seqs, [1, 2, 3, 4]);
});

test('deadline(): the first heartbeat at once, then the earliest of heartbeat, own change, silence, suspicion and forgetting', () => {
  // A heartbeat interval long enough to stay out of the way of the member timers.
  const quiet = { ...T, heartbeatIntervalMs: 100_000 };
  const a = machine('a', quiet, 0);
  assert.equal(a.deadline(), 0, 'the first heartbeat is due at once');
  a.step({ type: 'tick', nowMs: 0, localLagMs: 0 });
  a.drain();
  assert.equal(a.deadline(), quiet.heartbeatIntervalMs);
  a.step({ type: 'update-self', nowMs: 10, meta: { term: 3 } });
  assert.equal(a.deadline(), 10 + quiet.heartbeatIntervalMs / 5, 'a change of own meta');

  hear(a, 200, heartbeat('b'));
  const silentAt = 200 + T.suspectAfterMs;
  assert.equal(a.deadline(), silentAt, 'b falls silent');
  a.step({ type: 'tick', nowMs: silentAt - 0.5, localLagMs: 0 });
  assert.deepEqual(a.drain(), [], 'nothing before it');
  a.step({ type: 'tick', nowMs: silentAt, localLagMs: 0 });
  assert.deepEqual(a.drain().map((e) => (e.type === 'event' ? e.event.type : e.type)), ['member-suspect', 'publish']);
  assert.equal(a.deadline(), silentAt + T.suspicionMaxMs, 'alone: the longest suspicion');
  a.step({ type: 'tick', nowMs: a.deadline(), localLagMs: 0 });
  assert.deepEqual(eventsOf(a).map((e) => e.type), ['member-dead']);
  assert.equal(a.deadline(), silentAt + T.suspicionMaxMs + T.forgetAfterMs);
  a.step({ type: 'tick', nowMs: a.deadline(), localLagMs: 0 });
  assert.deepEqual(eventsOf(a).map((e) => e.type), ['member-forgotten']);
  // The suspicion went out at once, as a heartbeat carrying the change of meta too.
  assert.equal(a.deadline(), silentAt + quiet.heartbeatIntervalMs, 'only heartbeats left');
});

test('deadline(): confirmations shorten a suspicion at once', () => {
  const a = machine('a', T);
  for (const id of ['b', 'c', 'd', 'x']) hear(a, 0, heartbeat(id));
  a.step({ type: 'connection-closed', nowMs: 0, peer: 'x' });
  a.step({ type: 'tick', nowMs: 0, localLagMs: 0 });
  a.drain();
  assert.equal(a.deadline(), T.heartbeatIntervalMs, 'the heartbeat comes before the longest suspicion');
  for (const id of ['b', 'c', 'd']) hear(a, 100, heartbeat(id, { seq: 2, suspects: [{ id: 'x', incarnation: 1 }] }));
  a.step({ type: 'tick', nowMs: 500, localLagMs: 0 });
  a.drain();
  // Three of three expected confirmations: the shortest suspicion, counted from its start.
  assert.equal(a.deadline(), T.suspicionMinMs);
});

test('a suspicion gossiped just before this node suspects the member too counts as a confirmation, until the member or the accuser says otherwise', () => {
  const accusation = (id: string, seq: number) => heartbeat(id, { seq, suspects: [{ id: 'x', incarnation: 1 }] });
  const a = machine('a', T);
  for (const id of ['b', 'c', 'd', 'x']) hear(a, 0, heartbeat(id));
  hear(a, 300, accusation('d', 2));
  // x speaks after d's accusation: d's no longer counts.
  hear(a, 1200, { ...heartbeat('x'), seq: 2 });
  const suspectAtMs = 1200 + T.suspectAfterMs;
  // Nor does one about a life of x older than the one we know.
  hear(a, suspectAtMs - 700, heartbeat('d', { seq: 3, suspects: [{ id: 'x', incarnation: 0 }] }));
  // b and c lose x's heartbeats a moment before we do; c then hears from x again and stops naming it.
  hear(a, suspectAtMs - 10, accusation('b', 2));
  hear(a, suspectAtMs - 8, accusation('c', 2));
  hear(a, suspectAtMs - 5, heartbeat('c', { seq: 3 }));
  a.drain();
  a.step({ type: 'tick', nowMs: suspectAtMs, localLagMs: 0 });
  assert.deepEqual(eventsOf(a).map((e) => e.type), ['member-suspect']);
  // One of three expected confirmations (b), counted from the start of our suspicion.
  const deadAtMs = suspectAtMs + suspicionTimeoutMs(1, 3, T.suspicionMinMs, T.suspicionMaxMs);
  assert.ok(deadAtMs < suspectAtMs + T.suspicionMaxMs);
  for (const id of ['b', 'c', 'd']) hear(a, deadAtMs - 100, heartbeat(id, { seq: 9 }));
  a.step({ type: 'tick', nowMs: deadAtMs - 1, localLagMs: 0 });
  assert.deepEqual(eventsOf(a), []);
  a.step({ type: 'tick', nowMs: deadAtMs, localLagMs: 0 });
  assert.deepEqual(eventsOf(a).map((e) => [e.type, 'id' in e ? e.id : null]), [['member-dead', 'x']]);
});

test('deadline(): a timer stretched by health is due when decaying health lets it end, not later', () => {
  const a = machine('a', T);
  hear(a, 0, heartbeat('b'));
  // Lag of three intervals: health 4 at t=0, falling one unit a second.
  a.step({ type: 'tick', nowMs: 0, localLagMs: 3 * T.heartbeatIntervalMs });
  assert.equal(a.health(), 4);
  // Silent since 0, the stretched silence ends when t = S × (4 - t/1000): t = 4S / (1 + S/1000).
  const S = T.suspectAfterMs;
  const dueMs = (4 * S) / (1 + S / 1000);
  // Ticked at every earlier deadline (its own heartbeats), the last time well on the way there,
  // where the naive answer (S × the health then) would be later.
  let nowMs = 0;
  while (a.deadline() < dueMs - 1) {
    nowMs = a.deadline();
    a.step({ type: 'tick', nowMs, localLagMs: 0 });
    a.drain();
  }
  assert.ok(nowMs >= dueMs / 2, `last tick at ${nowMs}`);
  assert.ok(S * a.health() > dueMs + 100, `the naive answer ${S * a.health()} would be late`);
  assert.ok(Math.abs(a.deadline() - dueMs) < 1e-9, `deadline ${a.deadline()}, expected ${dueMs}`);
  a.step({ type: 'tick', nowMs: dueMs - 1, localLagMs: 0 });
  assert.deepEqual(eventsOf(a), []);
  a.step({ type: 'tick', nowMs: a.deadline(), localLagMs: 0 });
  assert.deepEqual(eventsOf(a).map((e) => e.type), ['member-suspect']);
});

test('a host that ticks only at deadline() is never taken for stalled, however far apart its ticks', () => {
  // Left, with one member dead: the next thing to do is forget it, a minute away.
  const a = machine('a', T);
  hear(a, 0, heartbeat('b'));
  a.step({ type: 'connection-closed', nowMs: 0, peer: 'b' });
  for (let ticks = 0; ticks < 10 && a.member('b')?.state !== 'dead'; ticks++) {
    a.step({ type: 'tick', nowMs: a.deadline(), localLagMs: 0 });
    a.drain();
  }
  assert.equal(a.member('b')?.stateSinceMs, T.suspicionMaxMs, 'b dead');
  a.step({ type: 'leave', nowMs: T.suspicionMaxMs });
  assert.ok(a.drain().some((e) => e.type === 'leave-done'));
  assert.equal(a.deadline(), T.suspicionMaxMs + T.forgetAfterMs);
  // A minute without a tick, and a new member heard on the way: no stall to excuse, no doubt.
  hear(a, 30_000, heartbeat('c'));
  assert.equal(a.deadline(), 30_000 + T.suspectAfterMs);
  a.step({ type: 'tick', nowMs: a.deadline(), localLagMs: 0 });
  assert.equal(a.health(), 1);
  assert.equal(a.member('c')?.state, 'suspect');
});

test('changes of own meta are published together a fifth of an interval later; an update that changes nothing is not', () => {
  const a = machine('a', T);
  a.step({ type: 'tick', nowMs: 0, localLagMs: 0 });
  publishedBy(a);
  const delay = T.heartbeatIntervalMs / 5;
  a.step({ type: 'update-self', nowMs: 10, meta: { term: 5 } });
  a.step({ type: 'update-self', nowMs: 12, meta: { role: 'leader', term: 2, leader: 'a', fencingToken: 7 } });
  assert.equal(a.self().role, 'leader');
  a.step({ type: 'tick', nowMs: 10 + delay - 1, localLagMs: 0 });
  assert.deepEqual(publishedBy(a), [], 'not before the delay');
  a.step({ type: 'tick', nowMs: 10 + delay, localLagMs: 0 });
  const published = publishedBy(a);
  assert.equal(published.length, 1, 'both changes in one heartbeat');
  assert.equal(published[0]?.meta.role, 'leader');
  assert.equal(published[0]?.meta.fencingToken, 7);
  a.step({ type: 'update-self', nowMs: 20 + delay, meta: { role: 'leader' } });
  a.step({ type: 'tick', nowMs: 30 + 2 * delay, localLagMs: 0 });
  assert.deepEqual(publishedBy(a), []);
});

test('an urgent change of own meta (a protocol switch) is published at once, with what was pending', () => {
  const a = machine('a', T);
  a.step({ type: 'tick', nowMs: 0, localLagMs: 0 });
  publishedBy(a);
  a.step({ type: 'update-self', nowMs: 10, meta: { term: 5 } });
  a.step({ type: 'update-self', nowMs: 11, meta: { era: 2, switchTo: 'raft' }, urgent: true });
  const published = publishedBy(a);
  assert.equal(published.length, 1, 'no waiting for the fifth of an interval');
  assert.equal(published[0]?.meta.era, 2);
  assert.equal(published[0]?.meta.term, 5, 'the pending change leaves with it');
  a.step({ type: 'tick', nowMs: 10 + T.heartbeatIntervalMs / 5, localLagMs: 0 });
  assert.deepEqual(publishedBy(a), [], 'nothing left to publish');
  a.step({ type: 'update-self', nowMs: 12 + T.heartbeatIntervalMs / 5, meta: { era: 2 }, urgent: true });
  assert.deepEqual(publishedBy(a), [], 'an urgent update that changes nothing publishes nothing');
});

test('silence: suspect once suspectAfterMs has passed, dead after suspicionMaxMs when no one confirms', () => {
  const a = machine('a', T);
  hear(a, 0, heartbeat('b'));
  const events = run(a, 0, 5000);
  const suspectAt = firstAt(events, 'member-suspect', 'b');
  const deadAt = firstAt(events, 'member-dead', 'b');
  assert.ok(suspectAt !== undefined && deadAt !== undefined);
  assert.ok(suspectAt >= T.suspectAfterMs && suspectAt <= T.suspectAfterMs + TICK_MS, `suspect at ${suspectAt}`);
  // Two members: K = 1, C = 0, so the timeout is the maximum.
  assert.ok(deadAt - suspectAt >= T.suspicionMaxMs && deadAt - suspectAt <= T.suspicionMaxMs + TICK_MS, `dead at ${deadAt}`);
  const dead = events.find((e) => e.event.type === 'member-dead')?.event;
  assert.equal(dead?.type === 'member-dead' && dead.suspectedForMs, deadAt - suspectAt);
  const suspect = events.find((e) => e.event.type === 'member-suspect')?.event;
  assert.equal(suspect?.type === 'member-suspect' && suspect.reason, 'silence');
});

test('independent confirmations shorten the suspicion timeout as the Lifeguard formula says', () => {
  const deadAfterSuspect = (confirmers: string[]): number => {
    const a = machine('a', T);
    for (const id of ['b', 'c', 'd', 'x']) hear(a, 0, heartbeat(id));
    const peers = Object.fromEntries(['b', 'c', 'd'].map((id) => [id, { suspects: confirmers.includes(id) ? [{ id: 'x', incarnation: 1 }] : [] }]));
    const events = run(a, 0, 6000, peers);
    const suspectAt = firstAt(events, 'member-suspect', 'x');
    const deadAt = firstAt(events, 'member-dead', 'x');
    assert.ok(suspectAt !== undefined && deadAt !== undefined);
    assert.equal(firstAt(events, 'member-suspect', 'b'), undefined);
    return deadAt - suspectAt;
  };
  // Five live members: K = min(3, 5 - 2) = 3. Confirmations arrive with the next heartbeat (<= 300 ms).
  const none = deadAfterSuspect([]);
  const one = deadAfterSuspect(['b']);
  const three = deadAfterSuspect(['b', 'c', 'd']);
  assert.ok(none >= T.suspicionMaxMs && none <= T.suspicionMaxMs + TICK_MS, `none ${none}`);
  const oneBound = suspicionTimeoutMs(1, 3, T.suspicionMinMs, T.suspicionMaxMs);
  assert.ok(one >= oneBound && one <= oneBound + TICK_MS, `one ${one}`);
  assert.ok(three >= T.suspicionMinMs && three <= T.heartbeatIntervalMs + T.suspicionMinMs, `three ${three}`);
  assert.ok(three < one && one < none);
});

test('a confirmation counts once per confirmer and only at the suspected incarnation or newer', () => {
  const a = machine('a', T);
  for (const id of ['b', 'c', 'd', 'x']) hear(a, 0, heartbeat(id));
  // b repeats its suspicion every heartbeat; c names an older life of x: only one confirmation.
  hear(a, 0, heartbeat('x', { incarnation: 2, seq: 1 }));
  const events = run(a, 0, 6000, {
    b: { suspects: [{ id: 'x', incarnation: 2 }] },
    c: { suspects: [{ id: 'x', incarnation: 1 }] },
    d: {},
  });
  const suspectAt = firstAt(events, 'member-suspect', 'x');
  const deadAt = firstAt(events, 'member-dead', 'x');
  assert.ok(suspectAt !== undefined && deadAt !== undefined);
  const oneBound = suspicionTimeoutMs(1, 3, T.suspicionMinMs, T.suspicionMaxMs);
  assert.ok(deadAt - suspectAt >= oneBound && deadAt - suspectAt <= oneBound + TICK_MS, `took ${deadAt - suspectAt}`);
});

test('refutation: being suspected at the current incarnation raises it, publishes at once, emits refuted', () => {
  const a = machine('a', T, 0, 5);
  a.step({ type: 'tick', nowMs: 0, localLagMs: 0 });
  a.drain();
  a.step({ type: 'heartbeat', nowMs: 10, from: 'b', heartbeat: heartbeat('b', { suspects: [{ id: 'a', incarnation: 5 }] }) });
  const effects = a.drain();
  const refuted = effects.find((e) => e.type === 'event' && e.event.type === 'refuted');
  assert.deepEqual(refuted, { type: 'event', event: { type: 'refuted', incarnation: 6, by: 'b' } });
  const published = effects.flatMap((e) => (e.type === 'publish' ? [e.heartbeat] : []));
  assert.equal(published.length, 1);
  assert.equal(published[0]?.incarnation, 6);
  assert.equal(a.self().incarnation, 6);
});

test('refutation: the raised incarnation is handed over to persist before the heartbeat that carries it', () => {
  const a = machine('a', T, 0, 5);
  a.step({ type: 'tick', nowMs: 0, localLagMs: 0 });
  a.drain();
  a.step({ type: 'heartbeat', nowMs: 10, from: 'b', heartbeat: heartbeat('b', { seq: 1, suspects: [{ id: 'a', incarnation: 5 }] }) });
  a.step({ type: 'heartbeat', nowMs: 11, from: 'c', heartbeat: heartbeat('c', { seq: 1, dead: [{ id: 'a', incarnation: 6 }] }) });
  const effects = a.drain();
  assert.deepEqual(
    effects.map((e) => (e.type === 'event' ? e.event.type : e.type === 'publish' ? `publish ${e.heartbeat.incarnation}` : e.type === 'persist' ? `persist ${e.incarnation}` : e.type)),
    ['persist 6', 'refuted', 'member-joined', 'persist 7', 'refuted', 'member-joined', 'publish 7'],
  );
  // No raise, no persist: a stale accusation, one about a life never had, the initial incarnation.
  a.step({ type: 'heartbeat', nowMs: 20, from: 'b', heartbeat: heartbeat('b', { seq: 2, suspects: [{ id: 'a', incarnation: 6 }], dead: [{ id: 'a', incarnation: 99 }] }) });
  a.step({ type: 'tick', nowMs: 600, localLagMs: 0 });
  assert.deepEqual(a.drain().filter((e) => e.type === 'persist'), []);
  assert.equal(a.self().incarnation, 7);
});

test('refutation also answers a death verdict, and ignores accusations against an older life', () => {
  const a = machine('a', T, 0, 5);
  hear(a, 0, heartbeat('b', { seq: 1, suspects: [{ id: 'a', incarnation: 4 }] }));
  assert.equal(a.self().incarnation, 5);
  const events = hear(a, 1, heartbeat('b', { seq: 2, dead: [{ id: 'a', incarnation: 5 }] }));
  assert.ok(events.some((e) => e.type === 'refuted'));
  assert.equal(a.self().incarnation, 6);
});

test('an accusation naming an incarnation this node never had is ignored and reported, not jumped to', () => {
  const a = machine('a', T, 0, 5);
  const events = hear(a, 0, heartbeat('b', { seq: 1, suspects: [{ id: 'a', incarnation: 2 ** 50 }], dead: [{ id: 'a', incarnation: 9 }] }));
  assert.deepEqual(events.filter((e) => e.type !== 'member-joined'), [{ type: 'accusation-ignored', incarnation: 2 ** 50, by: 'b' }]);
  assert.equal(a.self().incarnation, 5);
  a.step({ type: 'tick', nowMs: 10, localLagMs: 0 });
  assert.ok(publishedBy(a).every((h) => h.incarnation === 5));
});

test('a refuting heartbeat clears the suspicion at the accuser', () => {
  const b = machine('b', T);
  hear(b, 0, heartbeat('a', { incarnation: 5, seq: 1 }));
  b.step({ type: 'connection-closed', nowMs: 100, peer: 'a' });
  assert.deepEqual(eventsOf(b).map((e) => e.type), ['member-suspect']);
  const events = hear(b, 150, heartbeat('a', { incarnation: 6, seq: 2 }));
  assert.deepEqual(events.map((e) => e.type), ['member-alive']);
  assert.equal(b.member('a')?.state, 'alive');
  assert.equal(b.member('a')?.incarnation, 6);
});

test('connection-closed is a hint: suspect at once, and a fresh heartbeat brings the member back without a dead verdict', () => {
  const a = machine('a', T);
  hear(a, 0, heartbeat('b'));
  a.step({ type: 'connection-closed', nowMs: 100, peer: 'b' });
  const [suspect] = eventsOf(a);
  assert.equal(suspect?.type === 'member-suspect' && suspect.reason, 'connection-closed');
  const events = run(a, 100, 5000, { b: {} });
  assert.equal(firstAt(events, 'member-dead'), undefined);
  assert.equal(a.member('b')?.state, 'alive');
  const alive = events.find((e) => e.event.type === 'member-alive')?.event;
  assert.equal(alive?.type === 'member-alive' && alive.previous, 'suspect');
});

test('connection-closed for an unknown, dead or left member changes nothing', () => {
  const a = machine('a', T);
  a.step({ type: 'connection-closed', nowMs: 0, peer: 'ghost' });
  hear(a, 0, heartbeat('b', { leaving: false }));
  hear(a, 1, heartbeat('b', { seq: 2, leaving: true }));
  a.step({ type: 'connection-closed', nowMs: 2, peer: 'b' });
  assert.deepEqual(eventsOf(a), []);
  assert.equal(a.member('ghost'), undefined);
  assert.equal(a.member('b')?.state, 'left');
});

test('a dead member comes back only with a higher incarnation', () => {
  const a = machine('a', T);
  hear(a, 0, heartbeat('b', { incarnation: 3, seq: 1 }));
  run(a, 0, 4000);
  assert.equal(a.member('b')?.state, 'dead');
  assert.deepEqual(hear(a, 4100, heartbeat('b', { incarnation: 3, seq: 99 })), []);
  assert.equal(a.member('b')?.state, 'dead');
  const events = hear(a, 4200, heartbeat('b', { incarnation: 4, seq: 1 }));
  assert.deepEqual(events.map((e) => e.type), ['member-alive']);
  const alive = events[0];
  assert.equal(alive?.type === 'member-alive' && alive.previous, 'dead');
});

test('dead members are gossiped in the dead list so a wrongly declared node can refute', () => {
  const a = machine('a', T);
  hear(a, 0, heartbeat('b', { incarnation: 3 }));
  run(a, 0, 4000);
  a.step({ type: 'tick', nowMs: a.deadline(), localLagMs: 0 });
  const [hb] = publishedBy(a);
  assert.deepEqual(hb?.dead, [{ id: 'b', incarnation: 3 }]);
  assert.deepEqual(hb?.suspects, []);
});

test('a restarted node (new, higher incarnation, seq from 1) is alive again with its new meta', () => {
  const a = machine('a', T);
  hear(a, 0, heartbeat('b', { incarnation: 1000, seq: 500 }));
  a.step({ type: 'connection-closed', nowMs: 10, peer: 'b' });
  run(a, 10, 3000);
  assert.equal(a.member('b')?.state, 'dead');
  const events = hear(a, 3100, heartbeat('b', { incarnation: 1003, seq: 1, meta: meta('b', { version: '0.2.0' }) }));
  assert.deepEqual(events.map((e) => e.type), ['member-alive', 'member-updated']);
  assert.equal(a.member('b')?.version, '0.2.0');
  assert.equal(a.member('b')?.incarnation, 1003);
});

test('a member that left is never suspected, and is forgotten after forgetAfterMs', () => {
  const a = machine('a', T);
  hear(a, 0, heartbeat('b', { seq: 1 }));
  const leftEvents = hear(a, 50, heartbeat('b', { seq: 2, leaving: true }));
  assert.deepEqual(leftEvents.map((e) => e.type), ['member-left']);
  const events = run(a, 50, 50 + T.forgetAfterMs + 100);
  assert.deepEqual(events.map((e) => e.event.type), ['member-forgotten']);
  assert.ok((events[0]?.atMs ?? 0) - 50 >= T.forgetAfterMs);
  assert.equal(a.member('b'), undefined);
});

test('a left member returns only with a higher incarnation', () => {
  const a = machine('a', T);
  hear(a, 0, heartbeat('b', { seq: 1, leaving: true }));
  assert.equal(a.member('b'), undefined, 'the farewell of an unknown node teaches nothing');
  hear(a, 0, heartbeat('b', { seq: 1 }));
  hear(a, 1, heartbeat('b', { seq: 2, leaving: true }));
  assert.deepEqual(hear(a, 2, heartbeat('b', { seq: 3 })), []);
  assert.equal(a.member('b')?.state, 'left');
  assert.deepEqual(hear(a, 3, heartbeat('b', { incarnation: 2, seq: 1 })).map((e) => e.type), ['member-alive']);
});

test('a leave relayed by any member but the leader is only a prompt: a suspicion the member\'s next heartbeat clears', () => {
  const a = machine('a', T);
  hear(a, 0, heartbeat('b', { seq: 1, incarnation: 3 }));
  hear(a, 0, heartbeat('c', { seq: 1 }));
  const events = hear(a, 100, heartbeat('c', { seq: 2, left: [{ id: 'b', incarnation: 3 }] }));
  assert.deepEqual(events.map((e) => e.type), ['member-suspect']);
  assert.equal(a.member('b')?.suspectReason, 'reported-left');
  assert.deepEqual(hear(a, 200, heartbeat('b', { seq: 2, incarnation: 3 })).map((e) => e.type), ['member-alive']);
  assert.equal(a.member('b')?.state, 'alive');
});

test('a leave relayed by the leader this node follows counts when the farewell itself was missed, and is gossiped on', () => {
  const a = machine('a', T);
  a.step({ type: 'update-self', nowMs: 0, meta: { leader: 'c' } });
  hear(a, 0, heartbeat('b', { seq: 1, incarnation: 3 }));
  hear(a, 0, heartbeat('c', { seq: 1 }));
  const events = hear(a, 100, heartbeat('c', { seq: 2, left: [{ id: 'b', incarnation: 3 }] }));
  assert.deepEqual(events.map((e) => e.type), ['member-left']);
  assert.equal(a.member('b')?.state, 'left');
  a.step({ type: 'tick', nowMs: 400, localLagMs: 0 });
  assert.deepEqual(publishedBy(a).at(-1)?.left, [{ id: 'b', incarnation: 3 }]);
  // Left, not dead: the silence that follows is no suspicion.
  assert.equal(firstAt(run(a, 400, 8000, { c: {} }), 'member-suspect', 'b'), undefined);
});

test('a relayed leave of an older life, of an unknown member, or in a stale heartbeat changes nothing', () => {
  const a = machine('a', T);
  a.step({ type: 'update-self', nowMs: 0, meta: { leader: 'c' } });
  hear(a, 0, heartbeat('b', { seq: 1, incarnation: 4 }));
  hear(a, 0, heartbeat('c', { seq: 5 }));
  assert.deepEqual(hear(a, 100, heartbeat('c', { seq: 6, left: [{ id: 'b', incarnation: 3 }, { id: 'z', incarnation: 9 }] })), []);
  assert.deepEqual(hear(a, 100, heartbeat('c', { seq: 6, left: [{ id: 'b', incarnation: 4 }] })), [], 'a duplicate is no news');
  assert.equal(a.member('b')?.state, 'alive');
  assert.equal(a.member('z'), undefined);
});

test('a relayed leave naming this node at its current life is refuted', () => {
  const a = machine('a', T, 0, 2);
  const events = hear(a, 0, heartbeat('b', { left: [{ id: 'a', incarnation: 2 }] }));
  assert.ok(events.some((e) => e.type === 'refuted' && e.incarnation === 3));
  assert.equal(a.member('a')?.state, 'alive');
});

test('dead members are forgotten after forgetAfterMs and may then rejoin as new', () => {
  const a = machine('a', T);
  hear(a, 0, heartbeat('b'));
  const events = run(a, 0, T.forgetAfterMs + 5000);
  const deadAt = firstAt(events, 'member-dead', 'b');
  const forgottenAt = firstAt(events, 'member-forgotten', 'b');
  assert.ok(deadAt !== undefined && forgottenAt !== undefined);
  assert.ok(forgottenAt - deadAt >= T.forgetAfterMs && forgottenAt - deadAt <= T.forgetAfterMs + TICK_MS);
  assert.deepEqual(hear(a, forgottenAt + 1, heartbeat('b', { seq: 1 })).map((e) => e.type), ['member-joined']);
});

test('stale and duplicated heartbeats are ignored and do not count as evidence of life', () => {
  const a = machine('a', T);
  hear(a, 0, heartbeat('b', { incarnation: 2, seq: 10 }));
  assert.deepEqual(hear(a, 500, heartbeat('b', { incarnation: 2, seq: 10, meta: meta('b', { term: 9 }) })), []);
  assert.deepEqual(hear(a, 600, heartbeat('b', { incarnation: 2, seq: 9 })), []);
  assert.deepEqual(hear(a, 700, heartbeat('b', { incarnation: 1, seq: 50 })), []);
  assert.equal(a.member('b')?.lastHeardMs, 0);
  assert.equal(a.member('b')?.term, 1);
  // The silence clock still runs from t=0: duplicates did not keep b alive.
  const events = run(a, 0, T.suspectAfterMs + 100);
  assert.equal(firstAt(events, 'member-suspect', 'b'), T.suspectAfterMs);
});

test('a fresh heartbeat refreshes lastHeardMs and reports meta changes as member-updated', () => {
  const a = machine('a', T);
  hear(a, 0, heartbeat('b', { seq: 1 }));
  const events = hear(a, 300, heartbeat('b', { seq: 2, meta: meta('b', { role: 'leader', leader: 'b', term: 4, fencingToken: 3 }) }));
  assert.deepEqual(events.map((e) => e.type), ['member-updated']);
  const updated = events[0];
  assert.equal(updated?.type === 'member-updated' && updated.member.role, 'leader');
  assert.equal(a.member('b')?.lastHeardMs, 300);
  assert.deepEqual(hear(a, 600, heartbeat('b', { seq: 3, meta: meta('b', { role: 'leader', leader: 'b', term: 4, fencingToken: 3 }) })), []);
});

test('spoofed ids, foreign clusters and heartbeats about self are ignored', () => {
  const a = machine('a', T, 0, 5);
  a.step({ type: 'heartbeat', nowMs: 0, from: 'mallory', heartbeat: heartbeat('b') });
  a.step({ type: 'heartbeat', nowMs: 0, from: 'b', heartbeat: heartbeat('b', { cluster: 'other' }) });
  a.step({ type: 'heartbeat', nowMs: 0, from: 'mallory', heartbeat: heartbeat('mallory', { cluster: 'other', suspects: [{ id: 'a', incarnation: 5 }] }) });
  a.step({ type: 'heartbeat', nowMs: 0, from: 'a', heartbeat: heartbeat('a', { incarnation: 99, leaving: true }) });
  assert.deepEqual(a.drain(), []);
  assert.deepEqual(a.members().map((m) => m.id), ['a']);
  assert.equal(a.self().incarnation, 5);
  assert.equal(a.self().state, 'alive');
});

test('a member on another protocol is listed, with one protocol-mismatch per change', () => {
  const a = machine('a', T);
  const raft = meta('b', { protocol: 'raft' });
  const first = hear(a, 0, heartbeat('b', { seq: 1, meta: raft }));
  assert.deepEqual(first.map((e) => e.type), ['member-joined', 'protocol-mismatch']);
  assert.deepEqual(first[1], { type: 'protocol-mismatch', id: 'b', name: 'b', protocol: 'raft', expected: 'bully' });
  assert.deepEqual(hear(a, 300, heartbeat('b', { seq: 2, meta: raft })), []);
  assert.equal(a.member('b')?.protocol, 'raft');
  assert.deepEqual(hear(a, 600, heartbeat('b', { seq: 3 })).map((e) => e.type), ['member-updated']);
  assert.deepEqual(hear(a, 900, heartbeat('b', { seq: 4, meta: raft })).map((e) => e.type), ['member-updated', 'protocol-mismatch']);
});

test('a local stall (big gap between ticks) blames no one for silence accumulated while stalled', () => {
  const a = machine('a', T);
  hear(a, 0, heartbeat('b', { seq: 1 }));
  run(a, 0, 500);
  // The process was stopped for 10 s: b's heartbeats were not read, but b did nothing wrong.
  const afterStall = run(a, 10_500, 11_000);
  assert.equal(firstAt(afterStall, 'member-suspect'), undefined);
  // Silence after waking still counts, but the stall also counts as lag: timeouts are widened
  // while the multiplier decays, so b is suspected later than suspectAfterMs after the wake.
  const later = run(a, 11_025, 40_000);
  const suspectAt = firstAt(later, 'member-suspect', 'b');
  assert.ok(suspectAt !== undefined && suspectAt > 10_500 + T.suspectAfterMs, `suspect at ${suspectAt}`);
});

test('a stall during a suspicion does not let the suspicion timer run out while stalled', () => {
  const a = machine('a', T);
  hear(a, 0, heartbeat('b'));
  a.step({ type: 'connection-closed', nowMs: 0, peer: 'b' });
  eventsOf(a);
  run(a, 0, 500);
  const afterStall = run(a, 30_000, 30_200);
  assert.equal(firstAt(afterStall, 'member-dead'), undefined);
  assert.deepEqual(hear(a, 30_210, heartbeat('b', { seq: 2 })).map((e) => e.type), ['member-alive']);
});

test('local lag stretches the silence and suspicion timeouts by the health multiplier', () => {
  const timesWithLag = (lagMs: number): { suspectAt: number; deadAt: number } => {
    const a = machine('a', T);
    hear(a, 0, heartbeat('b'));
    const events = run(a, 0, 30_000, {}, lagMs);
    return { suspectAt: firstAt(events, 'member-suspect', 'b') ?? NaN, deadAt: firstAt(events, 'member-dead', 'b') ?? NaN };
  };
  const calm = timesWithLag(0);
  // One heartbeat interval of lag: multiplier 2.
  const lagged = timesWithLag(T.heartbeatIntervalMs);
  assert.ok(lagged.suspectAt >= 2 * T.suspectAfterMs && lagged.suspectAt <= 2 * T.suspectAfterMs + TICK_MS, `suspect ${lagged.suspectAt}`);
  assert.ok(lagged.deadAt - lagged.suspectAt >= 2 * T.suspicionMaxMs, `dead ${lagged.deadAt}`);
  assert.ok(calm.deadAt < lagged.deadAt);
  // Enormous lag is capped at maxHealthMultiplier.
  const capped = timesWithLag(1_000_000);
  assert.ok(capped.suspectAt <= T.maxHealthMultiplier * T.suspectAfterMs + TICK_MS, `capped ${capped.suspectAt}`);
});

/** Ticks `m` every TICK_MS from `fromMs` to `toMs` while `peer` keeps heartbeating; returns every effect with its time. */
function leaveRun(m: Membership, fromMs: number, toMs: number, peer: string | null): { atMs: number; effect: MembershipEffect }[] {
  const out: { atMs: number; effect: MembershipEffect }[] = [];
  for (let now = fromMs; now <= toMs; now += TICK_MS) {
    m.step({ type: 'tick', nowMs: now, localLagMs: 0 });
    if (peer && now % T.heartbeatIntervalMs === 0) m.step({ type: 'heartbeat', nowMs: now, from: peer, heartbeat: heartbeat(peer, { seq: now + 1 }) });
    for (const effect of m.drain()) out.push({ atMs: now, effect });
  }
  return out;
}

test('leave: leaving heartbeats at once and then one leaveAnnounceGapMs apart, leave-done right after the last, then silence', () => {
  const a = machine('a', T);
  hear(a, 0, heartbeat('b'));
  a.step({ type: 'tick', nowMs: 0, localLagMs: 0 });
  a.drain();
  a.step({ type: 'leave', nowMs: 100 });
  assert.equal(a.self().state, 'left');
  const effects = [...a.drain().map((effect) => ({ atMs: 100, effect })), ...leaveRun(a, 100, 5000, 'b')];
  const published = effects.filter((e) => e.effect.type === 'publish');
  assert.equal(published.length, LEAVE_ANNOUNCEMENTS);
  const gap = leaveAnnounceGapMs(T.heartbeatIntervalMs);
  assert.ok(gap <= T.heartbeatIntervalMs && gap <= 200);
  assert.deepEqual(published.map((e) => e.atMs), [100, 100 + gap, 100 + 2 * gap]);
  assert.ok(published.every((e) => e.effect.type === 'publish' && e.effect.heartbeat.leaving));
  const done = effects.filter((e) => e.effect.type === 'leave-done');
  assert.deepEqual(done, [{ atMs: 100 + 2 * gap, effect: { type: 'leave-done' } }]);
  assert.equal(effects.at(-1), done[0], 'the last effect, straight after the last announcement');
  a.step({ type: 'leave', nowMs: 5000 });
  assert.deepEqual(a.drain(), []);
});

test('leave with no other member alive or suspect: one announcement, leave-done at once', () => {
  const alone = machine('a', T);
  alone.step({ type: 'tick', nowMs: 0, localLagMs: 0 });
  alone.drain();
  alone.step({ type: 'leave', nowMs: 100 });
  assert.deepEqual(alone.drain().map((e) => e.type), ['publish', 'leave-done']);
  assert.deepEqual(leaveRun(alone, 100, 3000, null), []);
  assert.equal(alone.deadline(), Number.POSITIVE_INFINITY, 'nothing left to do');

  // Members that are dead or gone hear nothing either.
  const a = machine('a', T);
  hear(a, 0, heartbeat('b'));
  hear(a, 0, heartbeat('c', { seq: 1 }));
  hear(a, 10, heartbeat('c', { seq: 2, leaving: true }));
  run(a, 0, 4000);
  assert.equal(a.member('b')?.state, 'dead');
  a.step({ type: 'leave', nowMs: 4000 });
  assert.deepEqual(a.drain().map((e) => e.type), ['publish', 'leave-done']);
});

test('leave-done comes once, after the announcement that finds no one left to tell', () => {
  // Timings where a silent member dies before the second leave announcement.
  const quick = { ...T, heartbeatIntervalMs: 1000, suspectAfterMs: 60, suspicionMinMs: 40, suspicionMaxMs: 120 };
  const gap = leaveAnnounceGapMs(quick.heartbeatIntervalMs);
  const a = machine('a', quick);
  hear(a, 0, heartbeat('b'));
  a.step({ type: 'leave', nowMs: 0 });
  const effects = a.drain().map((effect) => ({ atMs: 0, effect }));
  for (let now = 0; now <= 6000; now += TICK_MS) {
    a.step({ type: 'tick', nowMs: now, localLagMs: 0 });
    for (const effect of a.drain()) effects.push({ atMs: now, effect });
  }
  assert.equal(a.member('b')?.state, 'dead');
  assert.deepEqual(effects.filter((e) => e.effect.type === 'publish').map((e) => e.atMs), [0, gap]);
  assert.deepEqual(effects.filter((e) => e.effect.type === 'leave-done').map((e) => e.atMs), [gap]);
});

test('a node that has left does not refute accusations', () => {
  const a = machine('a', T, 0, 5);
  a.step({ type: 'leave', nowMs: 0 });
  a.drain();
  hear(a, 1, heartbeat('b', { suspects: [{ id: 'a', incarnation: 5 }] }));
  assert.equal(a.self().incarnation, 5);
});

test('a new suspicion is gossiped at once, not at the next heartbeat', () => {
  const a = machine('a', T);
  a.step({ type: 'tick', nowMs: 0, localLagMs: 0 });
  hear(a, 0, heartbeat('b'));
  publishedBy(a);
  a.step({ type: 'connection-closed', nowMs: 10, peer: 'b' });
  assert.deepEqual(publishedBy(a).map((hb) => hb.suspects), [[{ id: 'b', incarnation: 1 }]]);
  a.step({ type: 'tick', nowMs: 35, localLagMs: 0 });
  assert.deepEqual(publishedBy(a), [], 'the next heartbeat is due an interval later, as usual');
});

test('suspects gossiped in heartbeats name the suspected incarnation', () => {
  const a = machine('a', T);
  hear(a, 0, heartbeat('b', { incarnation: 7 }));
  a.step({ type: 'connection-closed', nowMs: 10, peer: 'b' });
  a.step({ type: 'tick', nowMs: 20, localLagMs: 0 });
  const [hb] = publishedBy(a);
  assert.deepEqual(hb?.suspects, [{ id: 'b', incarnation: 7 }]);
});

test('the member table is bounded: ids beyond MAX_MEMBERS are ignored, known members still heard', () => {
  const a = machine('a', T);
  for (let i = 0; i < MAX_MEMBERS + 10; i++) hear(a, 0, heartbeat(`n${String(i).padStart(5, '0')}`));
  assert.equal(a.members().length, MAX_MEMBERS + 1);
  assert.deepEqual(hear(a, 1, heartbeat('n00000', { seq: 2, meta: meta('n00000', { term: 7 }) })).map((e) => e.type), ['member-updated']);
});

/** Ticks `m` every TICK_MS from `fromMs` to `toMs`; the time of the first `member-suspect`, or undefined. */
function suspectedAt(m: Membership, fromMs: number, toMs: number): number | undefined {
  for (let now = fromMs; now <= toMs; now += TICK_MS) {
    m.step({ type: 'tick', nowMs: now, localLagMs: 0 });
    if (eventsOf(m).some((e) => e.type === 'member-suspect')) return now;
  }
  return undefined;
}

test('set-timings (conclave reload): a silent member is suspected after the new suspectAfterMs, not the old', () => {
  const longer = { ...T, suspectAfterMs: 3 * T.suspectAfterMs };
  const a = machine('a', T);
  hear(a, 0, heartbeat('b'));
  a.step({ type: 'set-timings', nowMs: 100, timings: longer });
  assert.equal(a.deadline(), 0, 'the own heartbeat is still due first');
  assert.equal(suspectedAt(a, 0, 10 * T.suspectAfterMs), longer.suspectAfterMs, 'silent since 0: suspected at the new bound');

  const shorter = { ...T, suspectAfterMs: T.suspectAfterMs / 2 + T.heartbeatIntervalMs / 2 };
  const b = machine('b', T);
  hear(b, 0, heartbeat('x'));
  assert.equal(suspectedAt(b, 0, 500), undefined);
  b.step({ type: 'set-timings', nowMs: 510, timings: shorter });
  assert.equal(suspectedAt(b, 525, 10 * T.suspectAfterMs), shorter.suspectAfterMs, 'silence already running counts against the new bound');
});

test('set-timings: a shorter heartbeat interval counts from the last heartbeat sent; timings that cannot run are ignored', () => {
  const a = machine('a', T);
  a.step({ type: 'tick', nowMs: 0, localLagMs: 0 });
  assert.equal(publishedBy(a).length, 1);
  assert.equal(a.deadline(), T.heartbeatIntervalMs);
  const faster = { ...T, heartbeatIntervalMs: T.heartbeatIntervalMs / 4 };
  a.step({ type: 'set-timings', nowMs: 10, timings: faster });
  assert.equal(a.deadline(), faster.heartbeatIntervalMs);

  const b = machine('b', T);
  hear(b, 0, heartbeat('x'));
  for (const broken of [
    { ...T, suspectAfterMs: T.heartbeatIntervalMs },
    { ...T, suspicionMinMs: T.suspicionMaxMs + 1 },
    { ...T, forgetAfterMs: T.suspicionMaxMs - 1 },
    { ...T, heartbeatIntervalMs: 0 },
    { ...T, maxHealthMultiplier: Number.NaN },
  ]) {
    b.step({ type: 'set-timings', nowMs: 10, timings: broken });
  }
  assert.equal(suspectedAt(b, 25, 10 * T.suspectAfterMs), T.suspectAfterMs, 'the running timings stayed');
});
