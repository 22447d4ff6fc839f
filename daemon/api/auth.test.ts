import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { bearerMatches } from './auth.js';

describe('bearer token check', () => {
  it('accepts exactly `Bearer <token>` (scheme case-insensitive)', () => {
    assert.equal(bearerMatches('Bearer abc', 'abc'), true);
    assert.equal(bearerMatches('bearer abc', 'abc'), true);
  });

  it('refuses a missing header, another scheme, a prefix, a longer value or an empty token offer', () => {
    for (const header of [undefined, '', 'Basic abc', 'Bearer ab', 'Bearer abcd', 'Bearer ', 'abc']) {
      assert.equal(bearerMatches(header, 'abc'), false, String(header));
    }
  });
});
