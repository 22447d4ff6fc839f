import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { NODE_EVENT_TYPES, type NodeEvent, type NodeEventType } from '../../protocols/host/events.js';
import { compilations } from '../../protocols/testing.js';
import { stampEvent, streamEventCodec } from './event-codec.js';
import { FakeControlSource, PEER_ID, SELF_ID, fakeMember } from './testing.js';
import type { SnapshotEvent, StreamEvent } from './types.js';

const AT = new Date('2025-01-01T00:00:00.000Z');
const beta = { id: PEER_ID, name: 'beta' };

/** One event of every type; keyed by type, so a type added to NodeEvent without a sample here does not compile. */
const SAMPLES: { [T in NodeEventType]: Extract<NodeEvent, { type: T }> } = {
  'member-joined': { type: 'member-joined', member: fakeMember({ ...beta, self: false }) },
  'member-updated': { type: 'member-updated', member: fakeMember({ role: 'candidate', leader: null }) },
  'member-suspect': { type: 'member-suspect', ...beta, incarnation: 2, reason: 'connection-closed' },
  'member-alive': { type: 'member-alive', ...beta, incarnation: 3, previous: 'suspect' },
  'member-dead': { type: 'member-dead', ...beta, incarnation: 3, suspectedForMs: 1500.25 },
  'member-left': { type: 'member-left', ...beta },
  'member-forgotten': { type: 'member-forgotten', ...beta },
  'protocol-mismatch': { type: 'protocol-mismatch', ...beta, protocol: 'raft', expected: 'bully' },
  refuted: { type: 'refuted', incarnation: 8, by: PEER_ID },
  'role-changed': { type: 'role-changed', from: 'follower', to: 'leader', term: 4 },
  'term-changed': { type: 'term-changed', from: 3, to: 4 },
  'leader-changed': { type: 'leader-changed', from: null, to: { id: SELF_ID, name: 'alpha' }, term: 4, fencingToken: 12, leaderlessMs: 840 },
  'election-started': { type: 'election-started', term: 4, reason: 'leader dead' },
  'election-finished': { type: 'election-finished', term: 4, result: 'won', durationMs: 62.75 },
  'stepped-down': { type: 'stepped-down', term: 4, reason: 'check-quorum' },
  'configuration-changed': { type: 'configuration-changed', index: 7, voters: [{ id: SELF_ID, name: 'alpha' }, beta], learners: [] },
  'raft-snapshot': { type: 'raft-snapshot', action: 'installed', index: 1024, term: 4, peer: beta },
  'heartbeat-late': { type: 'heartbeat-late', lateMs: 312.5 },
  'protocol-switch-started': { type: 'protocol-switch-started', to: 'raft', era: 3, why: 'ordered' },
  'protocol-switched': { type: 'protocol-switched', from: 'bully', to: 'raft', era: 3, how: 'agreed', tokenFloor: 12, carriedLeader: { id: SELF_ID, name: 'alpha' } },
};

function snapshot(): SnapshotEvent {
  const source = new FakeControlSource();
  return { type: 'snapshot', at: AT.toISOString(), status: source.status(), members: source.members().members };
}

/** What a client holds after the event crossed the wire. */
function wire(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value)) as unknown;
}

function parsed(value: unknown): StreamEvent {
  const result = streamEventCodec.parse(value);
  if (!result.ok) return assert.fail(`refused ${JSON.stringify(value)}: ${result.reason}`);
  return result.value;
}

function refusal(value: unknown): string {
  const result = streamEventCodec.parse(value);
  if (result.ok) return assert.fail(`accepted ${JSON.stringify(value)}`);
  return result.reason;
}

/** Every top-level and member field of `event` replaced by a value of the wrong kind, and removed. */
function* broken(event: Record<string, unknown>): Generator<[string, Record<string, unknown>]> {
  for (const [key, value] of Object.entries(event)) {
    if (key === 'type') continue;
    const wrong = typeof value === 'string' || value === null ? 17 : 'x';
    yield [`${key} of the wrong type`, { ...event, [key]: wrong }];
    const { [key]: _dropped, ...rest } = event;
    yield [`${key} missing`, rest];
    if (key === 'member') for (const [inner, bad] of broken(value as Record<string, unknown>)) yield [`member.${inner}`, { ...event, member: bad }];
  }
}

describe('the /v1/events codec', () => {
  it('has a sample of every NodeEvent type', () => {
    assert.deepEqual(Object.keys(SAMPLES).sort(), [...NODE_EVENT_TYPES].sort());
  });

  it('every known event type, and the snapshot, round-trips through the wire unchanged', () => {
    for (const sample of Object.values(SAMPLES)) {
      const stamped = stampEvent(sample, AT);
      assert.deepEqual(parsed(wire(stamped)), stamped, sample.type);
    }
    const s = snapshot();
    assert.deepEqual(parsed(wire(s)), s);
  });

  it('the daemon writes `type`, then `at`, then the fields, as it always has', () => {
    assert.equal(
      JSON.stringify(stampEvent(SAMPLES['term-changed'], AT)),
      '{"type":"term-changed","at":"2025-01-01T00:00:00.000Z","from":3,"to":4}',
    );
  });

  it('an event type this version does not know is refused by name', () => {
    assert.match(refusal({ type: 'member-teleported', at: AT.toISOString(), id: PEER_ID }), /unknown type "member-teleported"/);
    assert.match(refusal({ type: 'x'.repeat(10_000), at: AT.toISOString() }), /^an event of unknown type "x{64}"$/);
  });

  it('anything that is not an object with a string type is refused', () => {
    for (const value of [null, 5, 'member-left', [], [{ type: 'member-left' }], {}, { type: 7 }]) {
      assert.equal(refusal(value), 'an event without a type', JSON.stringify(value));
    }
  });

  it('a known type with any field missing or of the wrong type is refused, naming the field', () => {
    for (const sample of Object.values(SAMPLES)) {
      for (const [what, bad] of broken(stampEvent(sample, AT) as unknown as Record<string, unknown>)) {
        const reason = refusal(bad);
        assert.match(reason, new RegExp(`^a malformed "${sample.type}" event: `), `${sample.type}: ${what}`);
        assert.ok(reason.includes(what.split(' ')[0]!), `${sample.type}: ${what}: ${reason}`);
      }
    }
  });

  it('values outside a field\'s type are refused: roles, results, negative or fractional counters, times that are not times', () => {
    const at = AT.toISOString();
    for (const bad of [
      { type: 'role-changed', at, from: 'follower', to: 'emperor', term: 4 },
      { type: 'election-finished', at, term: 4, result: 'maybe', durationMs: 3 },
      { type: 'term-changed', at, from: -1, to: 4 },
      { type: 'term-changed', at, from: 3.5, to: 4 },
      { type: 'member-dead', at, ...beta, incarnation: 3, suspectedForMs: -5 },
      { type: 'leader-changed', at, from: null, to: { id: 7 }, term: 4, fencingToken: 12, leaderlessMs: 0 },
      { type: 'term-changed', at: 'yesterday', from: 3, to: 4 },
      { type: 'member-left', at, id: '', name: 'beta' },
    ]) {
      refusal(bad);
    }
  });

  it('a snapshot with a malformed member or status is refused whole', () => {
    const s = snapshot();
    assert.match(refusal({ ...s, members: [...s.members, { ...s.members[0], state: 'zombie' }] }), /members\.2\.state/);
    assert.match(refusal({ ...s, status: null }), /status/);
    assert.match(refusal({ ...s, status: { ...s.status, leader: 'alpha' } }), /status\.leader/);
  });

  it('an older daemon\'s snapshot, without the newer status fields, is read', () => {
    const { leaseRemainingMs: _l, bootstrap: _b, security: _s, persistError: _p, revision: _r, ...oldStatus } = snapshot().status;
    const event = parsed({ ...snapshot(), status: oldStatus });
    assert.equal(event.type, 'snapshot');
    assert.equal(event.status.name, 'alpha');
    assert.equal(event.status.bootstrap, undefined);
  });

  it('fields a newer daemon adds are dropped, the event kept', () => {
    const event = parsed({ ...stampEvent(SAMPLES['member-left'], AT), cause: 'shutdown' });
    assert.deepEqual(event, stampEvent(SAMPLES['member-left'], AT));
  });

  it('never throws, whatever arrives', () => {
    const known = fc.constantFrom('snapshot', ...NODE_EVENT_TYPES);
    fc.assert(
      fc.property(fc.oneof(fc.jsonValue(), fc.dictionary(fc.string(), fc.jsonValue()).chain((fields) => known.map((type) => ({ ...fields, type })))), (value) => {
        streamEventCodec.parse(value);
      }),
    );
  });
});

describe('streamEventCodec.warm', () => {
  /** A module instance of its own, whose schemas no other test has parsed with yet. */
  const fresh = async (tag: string): Promise<typeof import('./event-codec.js')> => (await import(`./event-codec.js?${tag}`)) as typeof import('./event-codec.js');
  const events = () => NODE_EVENT_TYPES.map((type) => JSON.parse(JSON.stringify(stampEvent(SAMPLES[type], AT))) as unknown);

  it('unwarmed, the first events of each type compile their parsers as they are read', async () => {
    const { streamEventCodec: codec } = await fresh('cold');
    assert.ok(compilations(() => events().forEach((e) => assert.ok(codec.parse(e).ok))) >= NODE_EVENT_TYPES.length);
  });

  it('warmed, no event parses with a compilation: a watcher compiles them before a hand-off it times, not during it', async () => {
    const { streamEventCodec: codec } = await fresh('warm');
    assert.ok(compilations(() => codec.warm!()) >= NODE_EVENT_TYPES.length);
    assert.equal(compilations(() => events().forEach((e) => assert.ok(codec.parse(e).ok))), 0);
  });
});
