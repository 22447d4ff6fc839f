import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { clusterSize, isMajority, majorityOf } from './quorum.js';

describe('bully quorum', () => {
  it('majority is more than half', () => {
    assert.deepEqual([1, 2, 3, 4, 5, 6, 7].map(majorityOf), [1, 2, 2, 3, 3, 4, 4]);
    assert.ok(isMajority(3, 5));
    assert.ok(!isMajority(2, 5));
  });

  it('"Cluster size: expectedSize if set, else members known (dead ones count until forgotten)"', () => {
    const members = [
      { id: 'a', state: 'alive' as const },
      { id: 'b', state: 'dead' as const },
      { id: 'c', state: 'suspect' as const },
      { id: 'd', state: 'left' as const },
    ];
    assert.equal(clusterSize(members, 'a', null), 3, 'dead counts, left does not');
    assert.equal(clusterSize(members, 'self', null), 4, 'self counts even before membership lists it');
    assert.equal(clusterSize(members, 'a', 7), 7);
  });
});
