import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { createRng } from '../rng.js';
import { kvModel } from './kv-model.js';
import type { KvHistoryShape } from './kv-testing.js';
import { linearizableKvHistory, withStaleRead } from './kv-testing.js';
import { checkLinearizability } from './linearizability.js';

const small: KvHistoryShape = { operations: 100, keys: 3, clients: 5, unknownRate: 0.05, spreadMs: 25 };

describe('linearizability checker, histories of a real sequential execution', () => {
  it('a 240-operation history on 4 keys with overlapping intervals passes; one stale read makes it fail', () => {
    const history = linearizableKvHistory(createRng(12), { operations: 240, keys: 4, clients: 8, unknownRate: 0.05, spreadMs: 40 });
    const overlapping = history.filter((a, i) => history.some((b, j) => i !== j && b.callMs < (a.returnMs ?? Infinity) && a.callMs < (b.returnMs ?? Infinity)));
    assert.ok(overlapping.length > 200, `most operations overlap another (${overlapping.length})`);
    assert.equal(checkLinearizability(kvModel, history).ok, true);

    const stale = withStaleRead(history);
    assert.ok(stale, 'the history has a read that can be made stale');
    const result = checkLinearizability(kvModel, stale.history);
    assert.equal(result.ok, false);
    assert.ok(result.ok === false && result.failingOps.includes(stale.mutated), 'the mutated read is among the operations that cannot be placed');
  });

  it('property: every history a correct sequential store produces passes', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 31 - 1 }), (seed) => {
        const result = checkLinearizability(kvModel, linearizableKvHistory(createRng(seed), small));
        assert.equal(result.ok, true, `seed ${seed}: ${JSON.stringify(result)}`);
      }),
      { numRuns: 100 },
    );
  });

  it('property: the same history with one read made stale fails', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 31 - 1 }), (seed) => {
        const stale = withStaleRead(linearizableKvHistory(createRng(seed), small));
        fc.pre(stale !== null);
        const result = checkLinearizability(kvModel, stale.history);
        assert.equal(result.ok, false, `seed ${seed}: ${JSON.stringify(result)}`);
      }),
      { numRuns: 100 },
    );
  });

  it('property: wider overlaps and more unknown outcomes still pass', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 31 - 1 }), (seed) => {
        const history = linearizableKvHistory(createRng(seed), { operations: 60, keys: 2, clients: 6, unknownRate: 0.15, spreadMs: 60 });
        assert.equal(checkLinearizability(kvModel, history).ok, true, `seed ${seed}`);
      }),
      { numRuns: 50 },
    );
  });
});
