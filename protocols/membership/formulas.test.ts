import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  expectedConfirmations,
  healthTarget,
  isLocalStall,
  nextHealthMultiplier,
  suspicionTimeoutMs,
} from './formulas.js';

test('suspicion timeout is the maximum with no confirmations and the minimum at the expected count', () => {
  assert.equal(suspicionTimeoutMs(0, 3, 600, 2000), 2000);
  assert.equal(suspicionTimeoutMs(3, 3, 600, 2000), 600);
  assert.equal(suspicionTimeoutMs(10, 3, 600, 2000), 600);
});

test('suspicion timeout falls logarithmically: the first confirmation buys the most', () => {
  const one = suspicionTimeoutMs(1, 3, 600, 2000);
  const two = suspicionTimeoutMs(2, 3, 600, 2000);
  // max - (max-min) * log(C+1)/log(K+1): log 2 / log 4 = 1/2.
  assert.equal(one, 1300);
  assert.ok(Math.abs(two - (2000 - 1400 * (Math.log(3) / Math.log(4)))) < 1e-9);
  assert.ok(2000 - one > one - two);
});

test('suspicion timeout never leaves [min, max] and never grows with more confirmations', () => {
  fc.assert(
    fc.property(fc.nat(20), fc.integer({ min: 1, max: 3 }), fc.nat(10_000), fc.nat(10_000), (c, k, a, b) => {
      const [min, max] = a <= b ? [a, b] : [b, a];
      const t = suspicionTimeoutMs(c, k, min, max);
      assert.ok(t >= min && t <= max);
      assert.ok(suspicionTimeoutMs(c + 1, k, min, max) <= t);
    }),
  );
});

test('expected confirmations: live members minus self and suspect, capped at 3, at least 1', () => {
  assert.deepEqual([1, 2, 3, 4, 5, 6, 50].map(expectedConfirmations), [1, 1, 1, 2, 3, 3, 3]);
});

test('health target: one unit per heartbeat interval of lag, clamped to [1, max]', () => {
  assert.equal(healthTarget(0, 300, 4), 1);
  assert.equal(healthTarget(-50, 300, 4), 1);
  assert.equal(healthTarget(300, 300, 4), 2);
  assert.equal(healthTarget(450, 300, 4), 2.5);
  assert.equal(healthTarget(100_000, 300, 4), 4);
});

test('health multiplier rises at once and decays gradually once lag is gone', () => {
  const spiked = nextHealthMultiplier(1, 600, 25, 300, 4);
  assert.equal(spiked, 3);
  const oneIntervalLater = nextHealthMultiplier(spiked, 0, 300, 300, 4);
  assert.ok(oneIntervalLater < spiked && oneIntervalLater > 1);
  // One unit a second, whatever the heartbeat interval.
  assert.equal(nextHealthMultiplier(spiked, 0, 1000, 300, 4), 2);
  assert.equal(nextHealthMultiplier(spiked, 0, 1000, 1000, 4), 2);
  assert.equal(nextHealthMultiplier(spiked, 0, 60_000, 300, 4), 1);
});

test('a tick gap above two heartbeat intervals is a local stall', () => {
  assert.equal(isLocalStall(600, 300), false);
  assert.equal(isLocalStall(601, 300), true);
});
