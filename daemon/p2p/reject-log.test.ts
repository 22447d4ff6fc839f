import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createRejectLogLimiter, REJECT_LOG_WINDOW_MS } from './reject-log.js';

describe('reject log limiter', () => {
  it('logs the first reject per peer and reason, then nothing until a minute has passed', () => {
    const limiter = createRejectLogLimiter();
    assert.equal(limiter.shouldLog('a', 'oversized', 0), true);
    assert.equal(limiter.shouldLog('a', 'oversized', 1), false);
    assert.equal(limiter.shouldLog('a', 'oversized', REJECT_LOG_WINDOW_MS - 1), false);
    assert.equal(limiter.shouldLog('a', 'oversized', REJECT_LOG_WINDOW_MS), true);
    assert.equal(limiter.shouldLog('a', 'oversized', REJECT_LOG_WINDOW_MS + 1), false);
  });

  it('counts windows separately for each peer and each reason', () => {
    const limiter = createRejectLogLimiter(1000);
    assert.equal(limiter.shouldLog('a', 'oversized', 0), true);
    assert.equal(limiter.shouldLog('a', 'malformed', 0), true);
    assert.equal(limiter.shouldLog('b', 'oversized', 0), true);
    assert.equal(limiter.shouldLog('b', 'oversized', 500), false);
  });

  it('stays bounded: a flood of distinct peers does not grow memory without limit, and still logs', () => {
    const limiter = createRejectLogLimiter(1000);
    for (let i = 0; i < 10_000; i++) assert.equal(limiter.shouldLog(`peer-${i}`, 'malformed', 0), true);
    // The oldest entries were forgotten, so the first peer is logged again inside its window.
    assert.equal(limiter.shouldLog('peer-0', 'malformed', 1), true);
    assert.equal(limiter.shouldLog('peer-9999', 'malformed', 1), false);
  });
});
