import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_NODE_ID_CHARS } from '../bounds.js';
import { heartbeatCodec, MAX_ADDRS, MAX_NAME_CHARS } from './codec.js';
import { MAX_GOSSIPED_REFS } from './membership.js';
import { heartbeat } from './testing.js';

/** A JSON round trip, as the value arrives from the wire. */
function wire(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value));
}

function rejects(value: unknown, path: string): void {
  const result = heartbeatCodec.parse(value);
  assert.equal(result.ok, false, `accepted a heartbeat with a bad ${path}`);
  assert.ok(!result.ok && result.reason.startsWith(path), !result.ok ? result.reason : '');
}

test('a well-formed heartbeat parses to an equal value', () => {
  const hb = heartbeat('b', { suspects: [{ id: 'c', incarnation: 2 }], dead: [{ id: 'd', incarnation: 1 }] });
  assert.deepEqual(heartbeatCodec.parse(wire(hb)), { ok: true, value: hb });
  const leader = heartbeat('b', { meta: { ...hb.meta, leader: 'b', role: 'leader', priority: -5 } });
  assert.equal(heartbeatCodec.parse(wire(leader)).ok, true);
});

test('unknown fields are dropped, not passed on', () => {
  const result = heartbeatCodec.parse({ ...heartbeat('b'), extra: 'x'.repeat(10) });
  assert.ok(result.ok && !('extra' in result.value));
  // A meta field of a newer build (as raftWire was to the builds before it) costs an older one nothing.
  const meta = heartbeatCodec.parse({ ...heartbeat('b'), meta: { ...heartbeat('b').meta, later: 3 } });
  assert.ok(meta.ok && !('later' in meta.value.meta));
});

test('the Raft dialect a member speaks travels with its meta; absent, as from older builds, it stays absent', () => {
  const hb = heartbeat('b');
  const withWire = heartbeatCodec.parse(wire({ ...hb, meta: { ...hb.meta, raftWire: 2 } }));
  assert.ok(withWire.ok && withWire.value.meta.raftWire === 2);
  const without = heartbeatCodec.parse(wire(hb));
  assert.ok(without.ok && !('raftWire' in without.value.meta));
  rejects({ ...hb, meta: { ...hb.meta, raftWire: -1 } }, 'meta.raftWire');
});

test('non-objects and missing fields are rejected', () => {
  for (const value of [null, 42, 'hb', [], {}]) assert.equal(heartbeatCodec.parse(value).ok, false);
  for (const key of ['v', 'cluster', 'id', 'incarnation', 'seq', 'leaving', 'meta', 'suspects', 'dead']) {
    const hb: Record<string, unknown> = { ...heartbeat('b') };
    delete hb[key];
    rejects(hb, key);
  }
  const noRole: Record<string, unknown> = { ...heartbeat('b').meta };
  delete noRole.role;
  rejects({ ...heartbeat('b'), meta: noRole }, 'meta.role');
});

test('wrong types and values out of range are rejected', () => {
  const hb = heartbeat('b');
  rejects({ ...hb, v: 2 }, 'v');
  rejects({ ...hb, incarnation: '1' }, 'incarnation');
  rejects({ ...hb, incarnation: -1 }, 'incarnation');
  rejects({ ...hb, seq: 1.5 }, 'seq');
  rejects({ ...hb, seq: 2 ** 60 }, 'seq');
  rejects({ ...hb, leaving: 'no' }, 'leaving');
  rejects({ ...hb, id: '' }, 'id');
  rejects({ ...hb, meta: { ...hb.meta, protocol: 'paxos' } }, 'meta.protocol');
  rejects({ ...hb, meta: { ...hb.meta, role: 'king' } }, 'meta.role');
  rejects({ ...hb, meta: { ...hb.meta, leader: 7 } }, 'meta.leader');
  rejects({ ...hb, meta: { ...hb.meta, addrs: '/ip4/1.2.3.4' } }, 'meta.addrs');
  rejects({ ...hb, suspects: [{ id: 'c' }] }, 'suspects.0.incarnation');
  rejects({ ...hb, dead: [{ id: 'c', incarnation: 1.5 }] }, 'dead.0.incarnation');
});

test('oversized strings and arrays are rejected', () => {
  const hb = heartbeat('b');
  const refs = (n: number) => Array.from({ length: n }, (_, i) => ({ id: `n${i}`, incarnation: 1 }));
  assert.equal(heartbeatCodec.parse({ ...hb, suspects: refs(MAX_GOSSIPED_REFS) }).ok, true);
  rejects({ ...hb, suspects: refs(MAX_GOSSIPED_REFS + 1) }, 'suspects');
  rejects({ ...hb, dead: refs(MAX_GOSSIPED_REFS + 1) }, 'dead');
  rejects({ ...hb, left: refs(MAX_GOSSIPED_REFS + 1) }, 'left');
  rejects({ ...hb, left: undefined }, 'left');
  rejects({ ...hb, id: 'x'.repeat(MAX_NODE_ID_CHARS + 1) }, 'id');
  rejects({ ...hb, meta: { ...hb.meta, name: 'x'.repeat(MAX_NAME_CHARS + 1) } }, 'meta.name');
  rejects({ ...hb, meta: { ...hb.meta, addrs: Array.from({ length: MAX_ADDRS + 1 }, () => '/ip4/127.0.0.1') } }, 'meta.addrs');
  rejects({ ...hb, meta: { ...hb.meta, version: 'v'.repeat(1000) } }, 'meta.version');
  rejects({ ...hb, cluster: 'c'.repeat(10_000) }, 'cluster');
  rejects({ ...hb, suspects: [{ id: 'x'.repeat(MAX_NODE_ID_CHARS + 1), incarnation: 1 }] }, 'suspects.0.id');
});
