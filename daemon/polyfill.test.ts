import './polyfill.js';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

describe('polyfill', () => {
  it('provides Promise.withResolvers (missing on Node 20), whose resolve settles its promise', async () => {
    const withResolvers = (Promise as unknown as { withResolvers<T>(): { promise: Promise<T>; resolve(v: T): void; reject(e: unknown): void } }).withResolvers;
    assert.equal(typeof withResolvers, 'function');
    const resolved = withResolvers.call(Promise);
    resolved.resolve(42);
    assert.equal(await resolved.promise, 42);
    const rejected = withResolvers.call(Promise);
    rejected.reject(new RangeError('no'));
    await assert.rejects(rejected.promise, { name: 'RangeError' });
  });
});
