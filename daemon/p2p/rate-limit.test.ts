import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { TokenBucket } from './rate-limit.js';

const takeAll = (bucket: TokenBucket, nowMs: number, tries: number): number => {
  let taken = 0;
  for (let i = 0; i < tries; i++) if (bucket.take(nowMs)) taken++;
  return taken;
};

describe('token bucket', () => {
  it('starts full: admits `burst` at once, then nothing until time passes', () => {
    const bucket = new TokenBucket({ ratePerS: 10, burst: 5 }, 0);
    assert.equal(takeAll(bucket, 0, 100), 5);
    assert.equal(bucket.take(0), false);
  });

  it('refills at ratePerS, never beyond burst', () => {
    const bucket = new TokenBucket({ ratePerS: 10, burst: 5 }, 0);
    takeAll(bucket, 0, 5);
    assert.equal(bucket.take(99), false, 'a tenth of a second buys one token, not before');
    assert.equal(bucket.take(100), true);
    assert.equal(bucket.take(100), false);
    assert.equal(bucket.available(60_000), 5, 'a minute of quiet saves up no more than the burst');
  });

  it('over any stretch of time admits at most burst + rate × elapsed, whatever the pattern of calls', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 50 }), { minLength: 1, maxLength: 300 }), (gapsMs) => {
        const options = { ratePerS: 200, burst: 40 };
        const bucket = new TokenBucket(options, 0);
        let nowMs = 0;
        let admitted = 0;
        for (const gap of gapsMs) {
          nowMs += gap;
          admitted += takeAll(bucket, nowMs, 10);
        }
        assert.ok(admitted <= options.burst + (options.ratePerS * nowMs) / 1000);
      }),
    );
  });

  it('a clock that steps back refills nothing and does not break later refills', () => {
    const bucket = new TokenBucket({ ratePerS: 1000, burst: 1 }, 1000);
    assert.equal(bucket.take(1000), true);
    assert.equal(bucket.take(0), false);
    assert.equal(bucket.take(1001), true);
  });
});
