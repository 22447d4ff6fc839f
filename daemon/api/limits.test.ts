import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { connectionsCheckIntervalMs, DEFAULT_API_LIMITS, resolveApiLimits } from './limits.js';

describe('API limits', () => {
  it('the defaults leave plain requests room when every event stream and long-poll slot is taken', () => {
    const d = DEFAULT_API_LIMITS;
    assert.ok(d.maxEventStreams + d.maxLeaderWaits < d.maxConnections);
    assert.ok(d.headersTimeoutMs <= d.requestTimeoutMs, 'Node refuses headersTimeout > requestTimeout');
  });

  it('options override the defaults one by one', () => {
    assert.deepEqual(resolveApiLimits({}), DEFAULT_API_LIMITS);
    assert.deepEqual(resolveApiLimits({ maxConnections: 3, keepAliveMs: undefined }), { ...DEFAULT_API_LIMITS, maxConnections: 3 });
  });

  it('a limit that is not a positive integer, or headers allowed longer than the request, is ApiConfigError', () => {
    for (const bad of [{ maxConnections: 0 }, { maxEventStreams: -1 }, { maxEventBufferBytes: 1.5 }, { keepAliveMs: Number.NaN }, { headersTimeoutMs: 2_000, requestTimeoutMs: 1_000 }]) {
      assert.throws(() => resolveApiLimits(bad), { name: 'ApiConfigError' }, JSON.stringify(bad));
    }
  });

  it('Node scans for late headers every quarter of the timeout, at most every second', () => {
    assert.equal(connectionsCheckIntervalMs(DEFAULT_API_LIMITS.headersTimeoutMs), 1_000);
    assert.equal(connectionsCheckIntervalMs(200), 50);
    assert.equal(connectionsCheckIntervalMs(1), 10);
  });
});
