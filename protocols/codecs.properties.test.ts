/**
 * Every codec that takes untrusted input, fuzzed (fast-check): whatever a peer or a damaged
 * file holds, a codec answers ok or a reason and never throws, and what it lets through stays
 * inside the shared counter bound (bounds.ts), so a daemon never acts on, or writes, a value its
 * own loader would refuse. Valid values survive the wire unchanged.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { MAX_COUNTER } from './bounds.js';
import { bullyMessageCodec, bullyPersistedCodec } from './bully/messages.js';
import { PROTOCOL_NAMES, ROLES, type Codec } from './types.js';
import { heartbeatCodec } from './membership/codec.js';

const counter = fc.integer({ min: 0, max: MAX_COUNTER });
const id = fc.string({ minLength: 1, maxLength: 60 });
const bullyMessage = fc.oneof(
  fc.record({ type: fc.constant('ELECTION'), epoch: counter, forced: fc.boolean() }),
  fc.record({ type: fc.constant('ANSWER'), epoch: counter }),
  fc.record({ type: fc.constant('COORDINATOR'), epoch: counter, kind: fc.constantFrom('claim', 'takeover', 'renew'), round: fc.integer({ min: 1, max: MAX_COUNTER }), leaseMs: counter }),
  fc.record({ type: fc.constant('ACCEPT'), epoch: counter, round: fc.integer({ min: 1, max: MAX_COUNTER }) }),
  fc.record({ type: fc.constant('RELEASE'), epoch: counter }),
  fc.record({ type: fc.constant('REJECT'), epoch: counter, leader: fc.option(id, { nil: null }) }),
  fc.record({ type: fc.constant('TRANSFER'), epoch: counter }),
  fc.record({ type: fc.constant('TRANSFER_REQUEST'), epoch: counter, to: id }),
  fc.record({ type: fc.constant('RESIGN_REQUEST'), epoch: counter }),
  fc.record({ type: fc.constant('FORGET'), epoch: counter, id }),
);
/** Hostile variants: the right shape with one field replaced by anything at all. */
const mangled = fc.tuple(bullyMessage, fc.string({ maxLength: 12 }), fc.anything()).map(([m, key, value]) => ({ ...m, [key in m ? key : 'epoch']: value }));
const untrusted = fc.oneof(fc.anything(), fc.jsonValue(), mangled, bullyMessage.map((m) => ({ ...m, epoch: MAX_COUNTER + 1 })));

/** Every number in a parsed value: none may be outside the counter bound (priority aside). */
function countersIn(value: unknown, path = ''): [string, number][] {
  if (typeof value === 'number') return path.endsWith('priority') ? [] : [[path, value]];
  if (value === null || typeof value !== 'object') return [];
  return Object.entries(value).flatMap(([k, v]) => countersIn(v, `${path}.${k}`));
}

function neverThrowsAndStaysBounded<T>(codec: Codec<T>, input: unknown): void {
  const result = codec.parse(input);
  if (!result.ok) {
    assert.equal(typeof result.reason, 'string');
    return;
  }
  for (const [path, n] of countersIn(result.value)) {
    assert.ok(Number.isSafeInteger(n) && n >= 0 && n <= MAX_COUNTER, `${path} = ${n} passed the codec`);
  }
}

test('bully message codec: any input gives ok or a reason, and what passes is bounded', () => {
  fc.assert(fc.property(untrusted, (input) => neverThrowsAndStaysBounded(bullyMessageCodec, input)), { numRuns: 2000 });
});

test('bully message codec: a valid message survives JSON unchanged; one above the counter bound is refused', () => {
  fc.assert(
    fc.property(bullyMessage, (m) => {
      const wire: unknown = JSON.parse(JSON.stringify(m));
      assert.deepEqual(bullyMessageCodec.parse(wire), { ok: true, value: wire });
      assert.equal(bullyMessageCodec.parse({ ...m, epoch: MAX_COUNTER + 1 }).ok, false);
    }),
  );
});

test('bully state codec (the loader): any file content gives ok or a reason, and what passes is bounded', () => {
  const state = fc.record({
    v: fc.constant(1),
    acceptedEpoch: counter,
    acceptedLeader: fc.option(id, { nil: null }),
    leaseTo: fc.option(id, { nil: null }),
    highestEpochSeen: counter,
    members: fc.array(id, { maxLength: 5 }),
    bootstrapped: fc.boolean(),
  });
  const input = fc.oneof(untrusted, state, state.map((s) => ({ ...s, acceptedEpoch: s.acceptedEpoch + MAX_COUNTER })));
  fc.assert(fc.property(input, (value) => neverThrowsAndStaysBounded(bullyPersistedCodec, value)), { numRuns: 2000 });
});

test('heartbeat codec: any gossip gives ok or a reason, and what passes is bounded', () => {
  const ref = fc.record({ id, incarnation: fc.oneof(counter, fc.constant(MAX_COUNTER + 1), fc.constant(2 ** 53)) });
  const heartbeat = fc.record({
    v: fc.constant(1),
    cluster: fc.constant('c'),
    id,
    incarnation: fc.oneof(counter, fc.constant(Number.MAX_SAFE_INTEGER)),
    seq: counter,
    leaving: fc.boolean(),
    meta: fc.record({
      name: id,
      addrs: fc.array(fc.string({ maxLength: 30 }), { maxLength: 3 }),
      protocol: fc.constantFrom(...PROTOCOL_NAMES, 'paxos'),
      priority: fc.integer(),
      version: fc.string({ maxLength: 10 }),
      role: fc.constantFrom(...ROLES, 'king'),
      term: fc.oneof(counter, fc.constant(MAX_COUNTER + 1)),
      leader: fc.option(id, { nil: null }),
      fencingToken: counter,
    }),
    suspects: fc.array(ref, { maxLength: 3 }),
    dead: fc.array(ref, { maxLength: 3 }),
    left: fc.array(ref, { maxLength: 3 }),
  });
  fc.assert(fc.property(fc.oneof(untrusted, heartbeat), (value) => neverThrowsAndStaysBounded(heartbeatCodec, value)), { numRuns: 2000 });
});
