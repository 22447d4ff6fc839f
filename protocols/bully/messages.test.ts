import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { bullyMessageCodec, bullyPersistedCodec } from './messages.js';

describe('bully codecs', () => {
  it('accepts every well-formed message', () => {
    const good = [
      { type: 'ELECTION', epoch: 3, forced: false },
      { type: 'ANSWER', epoch: 0 },
      { type: 'COORDINATOR', epoch: 7, kind: 'renew', round: 3, leaseMs: 2500 },
      { type: 'COORDINATOR', epoch: 7, kind: 'claim', round: 1, leaseMs: 0 },
      { type: 'ACCEPT', epoch: 7, round: 3 },
      { type: 'RELEASE', epoch: 7 },
      { type: 'RESIGN_REQUEST', epoch: 7 },
      { type: 'REJECT', epoch: 8, leader: null },
      { type: 'REJECT', epoch: 8, leader: '12D3KooWabc' },
      { type: 'TRANSFER', epoch: 7 },
      { type: 'TRANSFER_REQUEST', epoch: 7, to: '12D3KooWabc' },
    ];
    for (const m of good) assert.deepEqual(bullyMessageCodec.parse(m), { ok: true, value: m });
  });

  it('"codec rejects malformed messages": strict, bounded, typed', () => {
    const bad: unknown[] = [
      null,
      'COORDINATOR',
      {},
      { type: 'HELLO', epoch: 1 },
      { type: 'ANSWER' },
      { type: 'ANSWER', epoch: -1 },
      { type: 'ANSWER', epoch: 1.5 },
      { type: 'ANSWER', epoch: '1' },
      { type: 'ANSWER', epoch: 2 ** 60 },
      { type: 'ANSWER', epoch: 1, extra: true },
      { type: 'COORDINATOR', epoch: 1, kind: 'maybe' },
      { type: 'ELECTION', epoch: 1 },
      { type: 'REJECT', epoch: 1, leader: '' },
      { type: 'REJECT', epoch: 1, leader: 'x'.repeat(129) },
      { type: 'TRANSFER_REQUEST', epoch: 1 },
      { type: 'TRANSFER_REQUEST', epoch: 1, to: null },
      { type: 'TRANSFER_REQUEST', epoch: 1, to: 'x'.repeat(129) },
    ];
    for (const m of bad) {
      const parsed = bullyMessageCodec.parse(m);
      assert.equal(parsed.ok, false, JSON.stringify(m));
      assert.ok(!parsed.ok && parsed.reason.length > 0);
    }
  });

  it('persisted state: accepts the shape it writes, refuses corrupt files', () => {
    const good = { v: 1, acceptedEpoch: 4, acceptedLeader: 'n2', leaseTo: 'n3', highestEpochSeen: 6, members: ['n1', 'n2'], bootstrapped: true };
    assert.deepEqual(bullyPersistedCodec.parse(good), { ok: true, value: good });
    // Files from before leases and bootstrapExpect: the lease went to the node accepted, and a
    // node that accepted any epoch was part of a working cluster.
    const { members: _members, leaseTo: _leaseTo, bootstrapped: _bootstrapped, ...older } = good;
    assert.deepEqual(bullyPersistedCodec.parse(older), { ok: true, value: { ...older, members: [], leaseTo: 'n2', bootstrapped: true } });
    assert.deepEqual(bullyPersistedCodec.parse({ ...older, acceptedEpoch: 0, acceptedLeader: null }), {
      ok: true,
      value: { ...older, acceptedEpoch: 0, acceptedLeader: null, members: [], leaseTo: null, bootstrapped: false },
    });
    for (const bad of [
      { ...good, v: 2 },
      { ...good, highestEpochSeen: 3 },
      { ...good, acceptedEpoch: -1 },
      { v: 1, acceptedEpoch: 4, acceptedLeader: 'n2', members: [] },
      { ...good, members: [''] },
      { ...good, extra: 1 },
      { ...good, bootstrapped: 'yes' },
      { ...good, leaseTo: '' },
    ]) {
      assert.equal(bullyPersistedCodec.parse(bad).ok, false, JSON.stringify(bad));
    }
  });
});
