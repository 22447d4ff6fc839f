import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { backoffDelayMs } from './backoff.js';

const options = { baseMs: 100, maxMs: 10_000 };
/** The daemon's redial setting (daemon/p2p/constants.ts). */
const REDIAL = { baseMs: 250, maxMs: 30_000 };

describe('backoff', () => {
  it('doubles with each failure, between half and all of the ceiling', () => {
    assert.equal(backoffDelayMs(0, options, 0), 50);
    assert.equal(backoffDelayMs(0, options, 0.999999) < 100, true);
    assert.equal(backoffDelayMs(1, options, 0), 100);
    assert.equal(backoffDelayMs(3, options, 0), 400);
  });

  it('never exceeds the cap, never goes below half of it once reached, for any failure count', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 10_000 }), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), (failures, r) => {
        const delay = backoffDelayMs(failures, REDIAL, r);
        assert.ok(delay <= REDIAL.maxMs && delay >= REDIAL.baseMs / 2);
        if (failures >= 7) assert.ok(delay >= REDIAL.maxMs / 2);
      }),
    );
  });

  it('spreads peers that failed together: different random draws give different delays', () => {
    assert.notEqual(backoffDelayMs(4, options, 0.1), backoffDelayMs(4, options, 0.9));
  });
});
