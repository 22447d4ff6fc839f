import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  expectedConfirmations,
  healthAt,
  healthTarget,
  isLocalStall,
  raiseHealth,
  stretchedTimeoutEndMs,
  suspicionTimeoutMs,
  type HealthPeak,
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

test('health rises at once to what lag calls for and decays one unit a second', () => {
  const healthy: HealthPeak = { multiplier: 1, atMs: 0 };
  const spiked = raiseHealth(healthy, 600, 25, 300, 4);
  assert.deepEqual(spiked, { multiplier: 3, atMs: 25 });
  const oneIntervalLater = healthAt(spiked, 325);
  assert.ok(oneIntervalLater < 3 && oneIntervalLater > 1);
  // One unit a second, whatever the heartbeat interval.
  assert.equal(healthAt(spiked, 1025), 2);
  assert.equal(healthAt(raiseHealth(healthy, 2000, 25, 1000, 4), 1025), 2);
  assert.equal(healthAt(spiked, 60_000), 1);
  // Before its peak (a question about an earlier moment) health is the peak, capped at the max.
  assert.equal(healthAt(spiked, 0), 3);
  assert.equal(raiseHealth(healthy, 100_000, 0, 300, 4).multiplier, 4);
});

test('health is a function of time: lag below the current value, or none, leaves the peak as it was', () => {
  const spiked = raiseHealth({ multiplier: 1, atMs: 0 }, 900, 0, 300, 4);
  assert.equal(raiseHealth(spiked, 0, 500, 300, 4), spiked);
  assert.equal(raiseHealth(spiked, 300, 500, 300, 4), spiked, 'lag calling for 2 while health is 3.5');
  assert.deepEqual(raiseHealth(spiked, 300, 2500, 300, 4), { multiplier: 2, atMs: 2500 }, 'once health fell to 1.5');
});

test('property: ticks without lag change nothing, so health seen at any moment ignores how often it was asked', () => {
  fc.assert(
    fc.property(fc.nat(5000), fc.array(fc.nat(3000), { maxLength: 10 }), fc.nat(10_000), (lagMs, gapsMs, atMs) => {
      const start = raiseHealth({ multiplier: 1, atMs: 0 }, lagMs, 0, 500, 4);
      let peak = start;
      let nowMs = 0;
      for (const gapMs of gapsMs) {
        nowMs += gapMs;
        peak = raiseHealth(peak, 0, nowMs, 500, 4);
      }
      assert.equal(peak, start);
      assert.equal(healthAt(peak, nowMs + atMs), healthAt(start, nowMs + atMs));
    }),
  );
});

test('a stretched timeout ends when elapsed time first reaches the timeout times health at that moment', () => {
  const healthy: HealthPeak = { multiplier: 1, atMs: 0 };
  assert.equal(stretchedTimeoutEndMs(100, 1500, healthy), 1600);
  // Health 2 from t=0, decaying to 1 at t=1000: 1500 ms of silence from 0 end after health is back to 1.
  assert.equal(stretchedTimeoutEndMs(0, 1500, { multiplier: 2, atMs: 0 }), 1500);
  // Health 4 at t=0: t = 600 * (4 - t/1000) solves to t = 2400 / 1.6 = 1500 (health 2.5 then).
  assert.equal(stretchedTimeoutEndMs(0, 600, { multiplier: 4, atMs: 0 }), 1500);
  // Reached before the peak: no decay yet.
  assert.equal(stretchedTimeoutEndMs(0, 100, { multiplier: 4, atMs: 1000 }), 400);
});

test('property: a stretched timeout ends at the first moment that satisfies it, never before', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: -20_000, max: 20_000 }),
      fc.nat(20_000),
      fc.double({ min: 1, max: 8, noNaN: true }),
      fc.integer({ min: -20_000, max: 20_000 }),
      (fromMs, timeoutMs, multiplier, atMs) => {
        const peak = { multiplier, atMs };
        const endMs = stretchedTimeoutEndMs(fromMs, timeoutMs, peak);
        const slack = 1e-6 * (1 + Math.abs(endMs));
        assert.ok(endMs - fromMs >= timeoutMs * healthAt(peak, endMs) - slack, 'satisfied at its end');
        const before = endMs - 1e-3;
        assert.ok(before - fromMs < timeoutMs * healthAt(peak, before) + slack, 'not a moment earlier');
        assert.ok(endMs >= fromMs + timeoutMs && endMs <= fromMs + timeoutMs * multiplier + slack);
      },
    ),
    { numRuns: 500 },
  );
});

test('a step is a stall when it comes over two intervals after the last one and an interval past the deadline', () => {
  assert.equal(isLocalStall(600, 300, 300), false);
  assert.equal(isLocalStall(601, 300, 300), true);
  // A host that ticks only when asked leaves long gaps while nothing is due: not a stall.
  assert.equal(isLocalStall(60_000, 0, 300), false);
  assert.equal(isLocalStall(60_000, 299, 300), false);
});
