import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { compareRank, highestRanked, outranks } from './rank.js';

describe('bully rank', () => {
  it('higher priority wins regardless of id', () => {
    assert.ok(outranks({ id: 'a', priority: 2 }, { id: 'z', priority: 1 }));
  });

  it('equal priorities: the greater id wins', () => {
    assert.ok(outranks({ id: 'n5', priority: 0 }, { id: 'n4', priority: 0 }));
    assert.equal(compareRank({ id: 'n4', priority: 0 }, { id: 'n4', priority: 0 }), 0);
  });

  it('is a strict total order on distinct ids (antisymmetric, transitive)', () => {
    const ranked = fc.record({ id: fc.string({ minLength: 1, maxLength: 4 }), priority: fc.integer({ min: -3, max: 3 }) });
    fc.assert(
      fc.property(ranked, ranked, ranked, (a, b, c) => {
        assert.equal(Math.sign(compareRank(a, b)) + Math.sign(compareRank(b, a)), 0);
        if (a.id !== b.id) assert.notEqual(compareRank(a, b), 0);
        if (outranks(a, b) && outranks(b, c)) assert.ok(outranks(a, c));
      }),
    );
  });

  it('highestRanked picks the top, null for none', () => {
    assert.equal(highestRanked([]), null);
    assert.equal(highestRanked([{ id: 'b', priority: 0 }, { id: 'a', priority: 1 }, { id: 'c', priority: 0 }])!.id, 'a');
  });
});
