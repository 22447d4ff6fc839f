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
import { raftPersistedCodec } from './raft/durable.js';
import { raftMessageCodec } from './raft/messages.js';

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

const raftEntry = (index: number, term: number) =>
  fc.oneof(
    fc.record({ index: fc.constant(index), term: fc.constant(term), data: fc.record({ kind: fc.constant('leader'), leader: id, term: fc.constant(term) }) }),
    fc.record({ index: fc.constant(index), term: fc.constant(term), data: fc.record({ kind: fc.constant('config'), voters: fc.array(id, { minLength: 1, maxLength: 4 }), learners: fc.array(id, { maxLength: 2 }) }) }),
  );
const raftMessage = fc.oneof(
  fc.record({ type: fc.constant('VOTE'), term: fc.integer({ min: 1, max: MAX_COUNTER }), preVote: fc.boolean(), lastLogIndex: counter, lastLogTerm: counter, transfer: fc.boolean() }),
  fc.record({ type: fc.constant('VOTE_RESPONSE'), term: counter, preVote: fc.boolean(), granted: fc.boolean() }),
  fc
    .record({ prev: fc.integer({ min: 0, max: 1000 }), term: fc.integer({ min: 1, max: 1000 }), n: fc.integer({ min: 0, max: 3 }) })
    .chain(({ prev, term, n }) =>
      fc.record({
        type: fc.constant('APPEND'),
        term: fc.constant(term),
        prevLogIndex: fc.constant(prev),
        prevLogTerm: fc.constant(term),
        entries: fc.tuple(...Array.from({ length: n }, (_, i) => raftEntry(prev + i + 1, term))),
        leaderCommit: counter,
        round: counter,
        leaseMs: counter,
      }),
    ),
  fc.record({ type: fc.constant('APPEND_RESPONSE'), term: counter, success: fc.boolean(), index: counter, hintIndex: counter, hintTerm: counter, round: counter }),
  fc.record({ type: fc.constant('TIMEOUT_NOW'), term: fc.integer({ min: 1, max: MAX_COUNTER }) }),
  fc.record({ type: fc.constant('TRANSFER_VOTE'), term: fc.integer({ min: 1, max: MAX_COUNTER }), candidate: id, lastLogIndex: counter, lastLogTerm: counter }),
);
const raftUntrusted = fc.oneof(
  fc.anything(),
  fc.jsonValue(),
  fc.tuple(raftMessage, fc.string({ maxLength: 12 }), fc.anything()).map(([m, key, value]) => ({ ...m, [key in m ? key : 'term']: value })),
  raftMessage.map((m) => ({ ...m, term: MAX_COUNTER + 1 })),
);

test('raft message codec: any input gives ok or a reason, and what passes is bounded', () => {
  fc.assert(fc.property(raftUntrusted, (input) => neverThrowsAndStaysBounded(raftMessageCodec, input)), { numRuns: 2000 });
});

test('raft message codec: a valid message survives JSON unchanged; one above the counter bound is refused', () => {
  fc.assert(
    fc.property(raftMessage, (m) => {
      const wire: unknown = JSON.parse(JSON.stringify(m));
      assert.deepEqual(raftMessageCodec.parse(wire), { ok: true, value: wire });
      assert.equal(raftMessageCodec.parse({ ...m, term: MAX_COUNTER + 1 }).ok, false);
    }),
  );
});

test('raft state codec (the loader): any file content gives ok or a reason, and what passes is bounded', () => {
  const state = fc.record({ v: fc.constant(1), term: counter, votedFor: fc.option(id, { nil: null }), commit: counter, fencingFloor: counter });
  const input = fc.oneof(raftUntrusted, state, state.map((s) => ({ ...s, term: s.term + MAX_COUNTER })));
  fc.assert(fc.property(input, (value) => neverThrowsAndStaysBounded(raftPersistedCodec, value)), { numRuns: 2000 });
});
