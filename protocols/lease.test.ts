/** The lease arithmetic both protocols share (lease.ts): which acknowledgement a quorum lease rests on. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { quorumLeaseExpiryMs } from './lease.js';
import { createRng } from './rng.js';

describe('quorumLeaseExpiryMs', () => {
  it('rests on the oldest of the freshest majority: the (votesNeeded - 1)-th newest acknowledgement', () => {
    // Five voters: the leader and two others are a majority; the second newest of the four others counts.
    assert.equal(quorumLeaseExpiryMs([100, 400, 300, 200], 3, 1000), 1300);
    // Ties count each: two acknowledgements at 300 are both of the freshest two.
    assert.equal(quorumLeaseExpiryMs([300, 100, 300], 3, 1000), 1300);
    // A member never heard from counts as never: too few fresh ones give no lease.
    assert.equal(quorumLeaseExpiryMs([500, -Infinity, -Infinity, -Infinity], 3, 1000), -Infinity);
  });

  it('is unbounded when the leader alone is a majority, and none with too few acknowledgements', () => {
    assert.equal(quorumLeaseExpiryMs([], 1, 1000), Infinity);
    assert.equal(quorumLeaseExpiryMs([100], 3, 1000), -Infinity);
  });

  it('agrees with sorting the acknowledgements, newest first, over random sets with ties and unheard members', () => {
    const rng = createRng(7);
    for (let i = 0; i < 2000; i++) {
      const acks = Array.from({ length: rng.int(0, 8) }, () => (rng.int(0, 5) === 0 ? -Infinity : rng.int(0, 20)));
      const votesNeeded = rng.int(1, 6);
      const others = votesNeeded - 1;
      const sorted = [...acks].sort((a, b) => b - a);
      const expected = others <= 0 ? Infinity : acks.length < others ? -Infinity : sorted[others - 1]! + 1000;
      assert.equal(quorumLeaseExpiryMs(acks, votesNeeded, 1000), expected, JSON.stringify({ acks, votesNeeded }));
    }
  });
});
