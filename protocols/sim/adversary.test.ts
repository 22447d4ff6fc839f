/**
 * Hostile input in the simulator (issue 8), fuzzed with fast-check: while the seeded faults run,
 * a stranger that never joined (x1) and a member that joined by gossip (x2) send every kind of
 * Bully frame with ordinary, huge and malformed fields, and x2 gossips forged leadership,
 * suspicions, death verdicts and leaves about the real nodes. Every Bully invariant must hold
 * (one leader at every instant, followers name only leaders that hold a lease, liveness after
 * heal), and so must the hostile-input ones below.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { MAX_COUNTER, MAX_EPOCH_JUMP } from '../bounds.js';
import { bullyPersistedCodec } from '../bully/messages.js';
import { createRng } from '../rng.js';
import { bullyProtocol } from './protocols.js';
import { runSeed } from './run.js';
import type { Simulation } from './sim.js';
import type { InvariantFactory } from './types.js';

const STRANGER = 'x1';
const MEMBER = 'x2';
/** x2 gossips this often, like a real member. */
const HEARTBEAT_EVERY_MS = 400;

const epochArb = fc.oneof(
  fc.integer({ min: 0, max: 60 }),
  fc.integer({ min: MAX_COUNTER - 5, max: MAX_COUNTER }),
  fc.constantFrom(MAX_EPOCH_JUMP, MAX_EPOCH_JUMP * 3, Number.MAX_SAFE_INTEGER, 2 ** 53, -1, 1.5),
);
const targetArb = fc.constantFrom('n0', 'n1', 'n2', 'n3', 'n4', STRANGER, MEMBER);
const frameArb = fc.oneof(
  fc.record({ type: fc.constant('ELECTION'), epoch: epochArb, forced: fc.boolean() }),
  fc.record({ type: fc.constant('ANSWER'), epoch: epochArb }),
  fc.record({ type: fc.constant('COORDINATOR'), epoch: epochArb, kind: fc.constantFrom('claim', 'takeover', 'renew'), round: fc.integer({ min: 1, max: 50 }), leaseMs: fc.constantFrom(0, 3000, 10 ** 9) }),
  fc.record({ type: fc.constant('ACCEPT'), epoch: epochArb, round: fc.integer({ min: 1, max: 50 }) }),
  fc.record({ type: fc.constant('RELEASE'), epoch: epochArb }),
  fc.record({ type: fc.constant('REJECT'), epoch: epochArb, leader: fc.option(targetArb, { nil: null }) }),
  fc.record({ type: fc.constant('TRANSFER'), epoch: epochArb }),
  fc.record({ type: fc.constant('TRANSFER_REQUEST'), epoch: epochArb, to: targetArb }),
  fc.record({ type: fc.constant('RESIGN_REQUEST'), epoch: epochArb }),
  fc.record({ type: fc.constant('FORGET'), epoch: epochArb, id: targetArb }),
  fc.anything({ maxDepth: 2 }),
);
/** What x2 says about a real node: at its real incarnation (plus a little), or far above it. */
const accusationArb = fc.record({ target: fc.integer({ min: 0, max: 4 }), offset: fc.oneof(fc.integer({ min: -1, max: 2 }), fc.constant(MAX_COUNTER)) });
const gossipArb = fc.record({
  role: fc.constantFrom('leader', 'follower', 'candidate'),
  term: epochArb.filter((e) => Number.isSafeInteger(e) && e >= 0 && e <= MAX_COUNTER),
  suspects: fc.array(accusationArb, { maxLength: 3 }),
  dead: fc.array(accusationArb, { maxLength: 2 }),
  left: fc.array(accusationArb, { maxLength: 2 }),
});
const attackArb = fc.record({
  seed: fc.integer({ min: 1, max: 1_000_000 }),
  frames: fc.array(fc.record({ atFraction: fc.double({ min: 0, max: 1, noNaN: true }), to: fc.integer({ min: 0, max: 6 }), from: fc.constantFrom(STRANGER, MEMBER), frame: frameArb }), { minLength: 5, maxLength: 60 }),
  gossip: fc.array(gossipArb, { minLength: 1, maxLength: 8 }),
  burst: fc.integer({ min: 0, max: 300 }),
});
type Attack = typeof attackArb extends fc.Arbitrary<infer T> ? T : never;

/** The run in progress, for invariants that read a node's disk. */
const current: { sim: Simulation | null } = { sim: null };

function schedule(attack: Attack): (sim: Simulation) => void {
  return (sim) => {
    current.sim = sim;
    const s = sim.scenario;
    const ids = sim.nodes.map((n) => n.id);
    const rng = createRng(attack.seed);
    // x2 joins by gossip from t = 0 and keeps gossiping, forged, through the safety phase.
    for (let t = 0, seq = 1; t < s.safetyMs; t += HEARTBEAT_EVERY_MS, seq++) {
      const forged = attack.gossip[seq % attack.gossip.length]!;
      sim.at(t, `x2 heartbeat ${seq}`, () => {
        const refs = (list: { target: number; offset: number }[]) =>
          list.flatMap(({ target, offset }) => {
            const node = sim.nodes[target % ids.length]!;
            const incarnation = offset === MAX_COUNTER ? MAX_COUNTER : Math.max(0, node.lifeIncarnation + offset);
            return [{ id: node.id, incarnation }];
          });
        const heartbeat = {
          v: 1,
          cluster: 'sim',
          id: MEMBER,
          incarnation: 1,
          seq,
          leaving: false,
          meta: { name: MEMBER, addrs: [], protocol: 'bully', priority: 0, version: 'evil', role: forged.role, term: forged.term, leader: forged.role === 'leader' ? MEMBER : null, fencingToken: forged.term },
          suspects: refs(forged.suspects),
          dead: refs(forged.dead),
          left: refs(forged.left),
        };
        const payload = JSON.stringify(heartbeat);
        for (const id of ids) sim.inject(id, { kind: 'heartbeat', from: MEMBER, payload });
      });
    }
    const send = (to: string, from: string, frame: unknown) => {
      const payload = JSON.stringify(frame) ?? 'null';
      if (ids.includes(to)) sim.inject(to, { kind: 'message', from, payload, protocol: 'bully' });
    };
    for (const { atFraction, to, from, frame } of attack.frames) {
      sim.at(Math.floor(atFraction * s.safetyMs), `attack ${from}`, () => send(ids[to % ids.length]!, from, frame));
    }
    // A burst of claims at ever higher epochs, as in the report that drove the token from 3 to 507.
    const burstAtMs = Math.floor(rng.next() * s.safetyMs);
    for (let i = 0; i < attack.burst; i++) {
      const to = ids[i % ids.length]!;
      sim.at(burstAtMs + i, 'burst', () => send(to, i % 2 === 0 ? STRANGER : MEMBER, { type: 'COORDINATOR', epoch: 5000 + i, kind: i % 3 === 0 ? 'takeover' : 'claim', round: 1, leaseMs: 0 }));
    }
  };
}

/** What no hostile input may do, checked after every step. */
const hostileInvariants: InvariantFactory[] = [
  () => ({
    name: 'stranger-never-named',
    check(view) {
      const node = view.nodes.find((n) => n.report()?.leader === STRANGER);
      return node ? `${node.id} names the non-member ${STRANGER} as leader` : null;
    },
  }),
  () => ({
    name: 'durable-state-loadable',
    check() {
      for (const node of current.sim?.nodes ?? []) {
        const stored = node.disk.elections.bully;
        if (stored === undefined) continue;
        const parsed = bullyPersistedCodec.parse(JSON.parse(stored));
        if (!parsed.ok) return `${node.id} wrote election state its own loader refuses: ${parsed.reason}`;
      }
      return null;
    },
  }),
  () => ({
    name: 'epochs-bounded',
    check(view) {
      // Each message can reach at most MAX_EPOCH_JUMP above what the cluster agreed; a handful of
      // such jumps is the worst a run can see, never the 2^50 of the counter.
      const limit = 100 * MAX_EPOCH_JUMP;
      const node = view.nodes.find((n) => (n.report()?.fencingToken ?? 0) > limit || (n.report()?.term ?? 0) > limit);
      return node ? `${node.id} reached epoch ${node.report()!.term} / token ${node.report()!.fencingToken}, beyond ${limit}` : null;
    },
  }),
  () => ({
    name: 'incarnations-bounded',
    check(view) {
      for (const node of view.nodes) {
        const own = node.member(node.id)?.incarnation;
        // A refutation adds one per accusation of the current life; a jump to a forged value shows as a huge gap.
        if (own !== undefined && own > node.lifeIncarnation + 10_000) return `${node.id} jumped to incarnation ${own} (started at ${node.lifeIncarnation})`;
      }
      return null;
    },
  }),
];

describe('bully under hostile input (simulator, fast-check)', () => {
  it('a stranger and a rogue member sending forged frames and gossip break no invariant, and the cluster recovers', () => {
    let runs = 0;
    fc.assert(
      fc.property(attackArb, (attack) => {
        runs++;
        const result = runSeed(attack.seed, { protocol: bullyProtocol(), adversary: schedule(attack), extraInvariants: hostileInvariants });
        const v = result.violation;
        // fast-check reports the counterexample; the violation itself goes to stderr for the reader.
        if (v) process.stderr.write(`seed ${attack.seed}: ${v.invariant} at ${v.nowMs} ms: ${v.message}\n${v.notable.join('\n')}\n`);
        assert.equal(v, null, v ? `seed ${attack.seed}: ${v.invariant} at ${v.nowMs} ms: ${v.message}\n${v.trace.join('\n')}` : '');
      }),
      { numRuns: 30, seed: 8, endOnFailure: true },
    );
    assert.equal(runs, 30);
  });
});
