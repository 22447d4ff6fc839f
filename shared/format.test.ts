import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatDuration, shortId } from './format.js';

describe('shared formatting', () => {
  it('shortId keeps the last 8 characters (the distinctive end of a peer id)', () => {
    assert.equal(shortId('12D3KooWAbCdEfGh12345678'), '12345678');
    assert.equal(shortId('abc'), 'abc');
  });

  it('formatDuration uses one decimal under 10 s, then whole seconds, then two units', () => {
    const cases: [number, string][] = [
      [0, '0.0s'], [312, '0.3s'], [999, '0.9s'], [4_250, '4.2s'], [42_900, '42s'], [245_000, '4m05s'],
      [7_380_000, '2h03m'], [273_600_000, '3d04h'], [-1, '-'], [Number.NaN, '-'],
    ];
    for (const [ms, text] of cases) assert.equal(formatDuration(ms), text, `${ms} ms`);
  });
});
