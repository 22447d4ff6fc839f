/** Properties over arbitrary inputs (fast-check): what must hold whatever the network does. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { PROTOCOL_NAMES } from '../types.js';
import { MEMBERSHIP_PRESET_NAMES, MEMBERSHIP_PRESETS, type MembershipPresetName } from './presets.js';
import { heartbeat, machine, meta } from './testing.js';
import type { Heartbeat, MembershipInput, MembershipTimings } from './types.js';

const T = MEMBERSHIP_PRESETS.lan;
const PEERS = ['b', 'c', 'd'] as const;
const ANY_ID = fc.constantFrom('a', ...PEERS);

const ref = fc.record({ id: ANY_ID, incarnation: fc.nat(6) });
const arbitraryHeartbeat = fc
  .record({
    id: fc.constantFrom(...PEERS),
    incarnation: fc.nat(6),
    seq: fc.nat(8),
    leaving: fc.boolean(),
    protocol: fc.constantFrom(...PROTOCOL_NAMES),
    term: fc.nat(3),
    suspects: fc.array(ref, { maxLength: 3 }),
    dead: fc.array(ref, { maxLength: 3 }),
  })
  .map(({ id, protocol, term, ...rest }): Heartbeat => heartbeat(id, { ...rest, meta: meta(id, { protocol, term }) }));

/** One input without its time; time is added in order so it never runs backwards. */
type Timeless = { [K in MembershipInput['type']]: Omit<Extract<MembershipInput, { type: K }>, 'nowMs'> }[MembershipInput['type']];
const arbitraryInput: fc.Arbitrary<Timeless> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ type: fc.constant('tick' as const), localLagMs: fc.nat(2000) }) },
  { weight: 6, arbitrary: arbitraryHeartbeat.map((hb) => ({ type: 'heartbeat' as const, from: hb.id, heartbeat: hb })) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('connection-closed' as const), peer: ANY_ID }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('update-self' as const), meta: fc.record({ term: fc.nat(5) }) }) },
  { weight: 1, arbitrary: fc.constant({ type: 'leave' as const }) },
);

test('property: incarnations never decrease, and the view stays sorted with self exactly once', () => {
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.nat(3000), arbitraryInput), { maxLength: 120 }), (script) => {
      const a = machine('a', T, 0, 3);
      let nowMs = 0;
      let selfIncarnation = a.self().incarnation;
      let seen = new Map<string, number>();
      for (const [advanceMs, input] of script) {
        nowMs += advanceMs;
        a.step({ ...input, nowMs } as MembershipInput);
        const forgotten = new Set(a.drain().flatMap((e) => (e.type === 'event' && e.event.type === 'member-forgotten' ? [e.event.id] : [])));
        const members = a.members();
        assert.deepEqual(members.map((m) => m.id), [...members.map((m) => m.id)].sort());
        assert.equal(members.filter((m) => m.self).length, 1);
        assert.ok(a.self().incarnation >= selfIncarnation);
        selfIncarnation = a.self().incarnation;
        const next = new Map<string, number>();
        for (const m of members) {
          if (m.self) continue;
          const before = seen.get(m.id);
          // A forgotten member may rejoin with any incarnation: it is a new acquaintance.
          if (before !== undefined && !forgotten.has(m.id)) assert.ok(m.incarnation >= before, `${m.id} ${before} -> ${m.incarnation}`);
          next.set(m.id, m.incarnation);
        }
        seen = next;
      }
    }),
    { numRuns: 300 },
  );
});

const PRESET_NAMES = fc.constantFrom(...MEMBERSHIP_PRESET_NAMES);
const JITTERS = fc.array(fc.double({ min: 0, max: 0.999, noNaN: true }), { minLength: 20, maxLength: 60 });

/**
 * Observer `a` hears member `b`, whose heartbeat k leaves at k * interval and arrives
 * jitter_k * maxJitterMs later (so in any order), optionally once more an interval later.
 * Returns the event types `a` emitted about b.
 */
function steadyMember(preset: MembershipPresetName, jitters: number[], duplicate: boolean, maxJitterMs: (t: MembershipTimings) => number): string[] {
  const timings = MEMBERSHIP_PRESETS[preset];
  const a = machine('a', timings);
  const deliveries = jitters.flatMap((j, k) => {
    const atMs = k * timings.heartbeatIntervalMs + Math.floor(j * maxJitterMs(timings));
    const copy = { atMs, hb: heartbeat('b', { seq: k + 1 }) };
    return duplicate ? [copy, { ...copy, atMs: atMs + timings.heartbeatIntervalMs }] : [copy];
  });
  deliveries.sort((x, y) => x.atMs - y.atMs);
  const lastSentMs = (jitters.length - 1) * timings.heartbeatIntervalMs;
  const types: string[] = [];
  let next = 0;
  for (let nowMs = 0; nowMs <= lastSentMs; nowMs += 25) {
    while (next < deliveries.length && (deliveries[next]?.atMs ?? Infinity) <= nowMs) {
      const d = deliveries[next++];
      if (d) a.step({ type: 'heartbeat', nowMs, from: 'b', heartbeat: d.hb });
    }
    a.step({ type: 'tick', nowMs, localLagMs: 0 });
    for (const e of a.drain()) if (e.type === 'event') types.push(e.event.type);
  }
  return types;
}

test('property: a member with steady heartbeats is never declared dead under jitter below suspectAfterMs', () => {
  fc.assert(
    fc.property(PRESET_NAMES, JITTERS, fc.boolean(), (preset, jitters, duplicate) => {
      const types = steadyMember(preset, jitters, duplicate, (t) => t.suspectAfterMs);
      assert.ok(!types.includes('member-dead'), types.join(','));
    }),
    { numRuns: 200 },
  );
});

test('property: jitter below suspectAfterMs minus one interval never even makes a suspect', () => {
  fc.assert(
    fc.property(PRESET_NAMES, JITTERS, fc.boolean(), (preset, jitters, duplicate) => {
      const types = steadyMember(preset, jitters, duplicate, (t) => t.suspectAfterMs - t.heartbeatIntervalMs);
      assert.deepEqual(types, ['member-joined']);
    }),
    { numRuns: 200 },
  );
});
