/**
 * deadline() is the contract of a host that ticks only when asked: a tick before it, without lag,
 * changes nothing. Checked by running the same script twice, once ticked only at deadlines and
 * once with extra ticks at arbitrary moments strictly before them, and comparing every effect (in
 * order, with its time) and every member view. A timer left out of deadline() makes an extra tick
 * act where the deadline-driven run did not, and the runs part.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { Membership } from './membership.js';
import { heartbeat, machine, meta, TestCluster, type ExtraTick } from './testing.js';
import type { Heartbeat, Member, MembershipEffect, MembershipInput, MembershipTimings } from './types.js';

/** Small numbers so a short script reaches every timer, forgetting included. */
const COMPACT: MembershipTimings = {
  heartbeatIntervalMs: 100,
  suspectAfterMs: 300,
  suspicionMinMs: 150,
  suspicionMaxMs: 500,
  forgetAfterMs: 1200,
  maxHealthMultiplier: 4,
};
/** An interval that divides nothing evenly, so timers rarely meet on the same millisecond. */
const ODD: MembershipTimings = {
  heartbeatIntervalMs: 70,
  suspectAfterMs: 333,
  suspicionMinMs: 111,
  suspicionMaxMs: 777,
  forgetAfterMs: 1500,
  maxHealthMultiplier: 3,
};
const TIMINGS = fc.constantFrom(COMPACT, ODD);
const IDS = ['a', 'b', 'c', 'd'] as const;

/** Self's lastHeardMs is by definition the time of its latest input, extra ticks included. */
function view(members: Member[]): Member[] {
  return members.map((m) => (m.self ? { ...m, lastHeardMs: 0 } : m));
}

/** Cycles through a fast-check-chosen list of extra ticks, one asked for per scheduling round. */
function extraTicks(choices: ({ node: number; fraction: number } | null)[], ids: readonly string[]): ExtraTick {
  let next = 0;
  return () => {
    const choice = choices[next++ % choices.length];
    return choice ? { id: ids[choice.node % ids.length]!, fraction: choice.fraction } : null;
  };
}

const fraction = fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true });
const extraChoices = fc.array(fc.option(fc.record({ node: fc.nat(3), fraction }), { nil: null, freq: 3 }), { minLength: 1, maxLength: 40 });

type ClusterAction =
  | { kind: 'wait' }
  | { kind: 'stop' | 'resume' | 'kill' | 'restart' | 'leave'; node: number }
  | { kind: 'block'; node: number; ms: number }
  | { kind: 'lag'; node: number; ms: number }
  | { kind: 'update'; node: number; term: number };

const node = fc.nat(3);
const clusterAction: fc.Arbitrary<ClusterAction> = fc.oneof(
  { weight: 3, arbitrary: fc.constant({ kind: 'wait' as const }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constantFrom('stop' as const, 'resume' as const, 'kill' as const, 'restart' as const), node }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('leave' as const), node }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('block' as const), node, ms: fc.nat(1000) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('lag' as const), node, ms: fc.constantFrom(0, 0, 50, 150, 400, 5000) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('update' as const), node, term: fc.nat(5) }) },
);

interface ClusterRun {
  effects: Record<string, { atMs: number; effect: MembershipEffect }[]>;
  views: Member[][];
}

function runCluster(
  timings: MembershipTimings,
  size: number,
  script: [number, ClusterAction][],
  extra?: ExtraTick,
): ClusterRun {
  const ids = IDS.slice(0, size);
  const cluster = new TestCluster(ids, timings, 'deadline');
  const lives = new Map<string, number>(ids.map((id) => [id, 1]));
  const effects: ClusterRun['effects'] = Object.fromEntries(ids.map((id) => [id, []]));
  const views: Member[][] = [];
  const collect = (): void => {
    // A restart replaces a node's logs, so collect them before each action.
    for (const id of ids) effects[id]!.push(...cluster.effects(id).splice(0));
  };
  for (const [advanceMs, action] of script) {
    cluster.advance(advanceMs, extra);
    collect();
    if (action.kind !== 'wait') {
      const id = ids[action.node % size]!;
      const nowMs = cluster.nowMs;
      switch (action.kind) {
        case 'stop':
          cluster.stop(id);
          break;
        case 'resume':
          cluster.resume(id);
          break;
        case 'kill':
          cluster.kill(id);
          break;
        case 'restart': {
          const life = (lives.get(id) ?? 1) + 1;
          lives.set(id, life);
          cluster.start(id, life);
          break;
        }
        case 'leave':
          cluster.get(id).step({ type: 'leave', nowMs });
          break;
        case 'block':
          cluster.block(id, action.ms);
          break;
        case 'lag':
          cluster.lag(id, action.ms);
          break;
        case 'update':
          cluster.get(id).step({ type: 'update-self', nowMs, meta: { term: action.term } });
          break;
      }
      cluster.pump();
      collect();
    }
    for (const id of ids) views.push(view(cluster.get(id).members()));
  }
  cluster.advance(3 * timings.forgetAfterMs, extra);
  collect();
  for (const id of ids) views.push(view(cluster.get(id).members()));
  return { effects, views };
}

test('property: in a small cluster ticked at its deadlines, extra ticks before them change no effect and no view', () => {
  fc.assert(
    fc.property(
      TIMINGS,
      fc.integer({ min: 2, max: 4 }),
      fc.array(fc.tuple(fc.nat(1500), clusterAction), { maxLength: 25 }),
      extraChoices,
      (timings, size, script, choices) => {
        const baseline = runCluster(timings, size, script);
        const perturbed = runCluster(timings, size, script, extraTicks(choices, IDS.slice(0, size)));
        assert.deepEqual(perturbed.effects, baseline.effects);
        assert.deepEqual(perturbed.views, baseline.views);
      },
    ),
    { numRuns: 150 },
  );
});

/* One machine fed arbitrary, even hostile, gossip: refutation chains, relayed leaves, stale copies. */

const PEERS = ['b', 'c', 'd'] as const;
const ref = fc.record({ id: fc.constantFrom('a', ...PEERS), incarnation: fc.nat(4) });
const arbitraryHeartbeat: fc.Arbitrary<Heartbeat> = fc
  .record({
    id: fc.constantFrom(...PEERS),
    incarnation: fc.nat(4),
    seq: fc.nat(30),
    leaving: fc.boolean(),
    leader: fc.constantFrom(null, 'b', 'c'),
    suspects: fc.array(ref, { maxLength: 2 }),
    dead: fc.array(ref, { maxLength: 2 }),
    left: fc.array(ref, { maxLength: 2 }),
  })
  .map(({ id, leader, ...rest }) => heartbeat(id, { ...rest, meta: meta(id, { leader }) }));

type Timeless = { [K in MembershipInput['type']]: Omit<Extract<MembershipInput, { type: K }>, 'nowMs'> }[MembershipInput['type']];
const arbitraryInput: fc.Arbitrary<Timeless> = fc.oneof(
  { weight: 8, arbitrary: arbitraryHeartbeat.map((hb) => ({ type: 'heartbeat' as const, from: hb.id, heartbeat: hb })) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('tick' as const), localLagMs: fc.constantFrom(0, 40, 300, 2000) }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('connection-closed' as const), peer: fc.constantFrom(...PEERS) }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('update-self' as const), meta: fc.record({ term: fc.nat(5), leader: fc.constantFrom(null, 'b', 'c') }) }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('forget' as const), id: fc.constantFrom(...PEERS) }) },
  { weight: 1, arbitrary: fc.constant({ type: 'leave' as const }) },
);

/** Bound on the ticks one deadline-driven wait may take. */
const MAX_TICKS_PER_WAIT = 10_000;

/**
 * Feeds `script` to one machine ticked at its deadlines, and with `extra` ticks before them too.
 * A pause after a wait is a stopped process: no tick at all until the input, which comes late.
 */
function runMachine(
  timings: MembershipTimings,
  script: [number, number, Timeless][],
  extra: { fraction: number }[] | null,
): { effects: { atMs: number; effect: MembershipEffect }[]; views: Member[][] } {
  const m: Membership = machine('a', timings, 0, 2);
  const effects: { atMs: number; effect: MembershipEffect }[] = [];
  const views: Member[][] = [];
  let nowMs = 0;
  let nextExtra = 0;
  const step = (input: MembershipInput): void => {
    m.step(input);
    for (const effect of m.drain()) effects.push({ atMs: input.nowMs, effect });
  };
  const waitUntil = (untilMs: number): void => {
    for (let ticks = 0; ; ticks++) {
      if (ticks > MAX_TICKS_PER_WAIT) throw new Error(`deadline stuck at ${m.deadline()} ms`);
      if (extra) {
        const { fraction } = extra[nextExtra++ % extra.length]!;
        const atMs = nowMs + fraction * (Math.min(untilMs, m.deadline()) - nowMs);
        if (atMs >= nowMs && atMs < m.deadline()) {
          nowMs = atMs;
          step({ type: 'tick', nowMs, localLagMs: 0 });
        }
      }
      const dueMs = m.deadline();
      if (dueMs > untilMs) break;
      nowMs = Math.max(nowMs, dueMs);
      step({ type: 'tick', nowMs, localLagMs: 0 });
    }
    nowMs = untilMs;
  };
  for (const [advanceMs, pauseMs, input] of script) {
    waitUntil(nowMs + advanceMs);
    nowMs += pauseMs;
    step({ ...input, nowMs } as MembershipInput);
    views.push(view(m.members()));
  }
  waitUntil(nowMs + 3 * timings.forgetAfterMs);
  views.push(view(m.members()));
  return { effects, views };
}

test('property: one machine fed arbitrary gossip: extra ticks before its deadline change no effect and no view', () => {
  fc.assert(
    fc.property(
      TIMINGS,
      fc.array(fc.tuple(fc.nat(800), fc.oneof({ weight: 4, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.nat(2000) }), arbitraryInput), { maxLength: 60 }),
      fc.array(fc.record({ fraction }), { minLength: 1, maxLength: 20 }),
      (timings, script, extra) => {
        const baseline = runMachine(timings, script, null);
        const perturbed = runMachine(timings, script, extra);
        assert.deepEqual(perturbed.effects, baseline.effects);
        assert.deepEqual(perturbed.views, baseline.views);
      },
    ),
    { numRuns: 300 },
  );
});
