import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { expectTooLow, expectTooLowBanner, expectTooLowLine, expectTooLowWarning, serversProtected, smallestSafeExpect } from './bootstrap-expect.js';

const majority = (n: number) => Math.floor(n / 2) + 1;
const popcount = (mask: number) => mask.toString(2).replaceAll('0', '').length;

/**
 * Whether two groups that never saw each other can each elect among `servers` servers: searched
 * over every pair of groups of at least `expect`, each needing a majority of its own size,
 * the two majorities disjoint (Hall: each fits its group, together they fit the union).
 */
function twoClustersPossible(expect: number, servers: number): boolean {
  const all = (1 << servers) - 1;
  for (let a = 1; a <= all; a++) {
    if (popcount(a) < expect) continue;
    for (let b = 1; b <= all; b++) {
      if (popcount(b) < expect) continue;
      if (majority(popcount(a)) + majority(popcount(b)) <= popcount(a | b)) return true;
    }
  }
  return false;
}

describe('bootstrap-expect', () => {
  it('protects as many servers as two majorities of bootstrapExpect cannot both fit in', () => {
    assert.equal(serversProtected(1), 1);
    assert.equal(serversProtected(3), 3);
    assert.equal(serversProtected(4), 5);
    assert.equal(serversProtected(5), 5);
    for (let servers = 1; servers <= 8; servers++) {
      for (let expect = 1; expect <= 9; expect++) {
        assert.equal(servers > serversProtected(expect), twoClustersPossible(expect, servers), `bootstrapExpect ${expect}, ${servers} servers`);
      }
    }
  });

  it('names the smallest bootstrapExpect that keeps the servers to one cluster', () => {
    assert.deepEqual([1, 2, 3, 4, 5, 6].map(smallestSafeExpect), [1, 2, 2, 4, 4, 6]);
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 2048 }), (servers) => {
        const e = smallestSafeExpect(servers);
        assert.ok(serversProtected(e) >= servers, `${e} protects ${servers}`);
        if (e > 1) assert.ok(serversProtected(e - 1) < servers, `${e - 1} would also do for ${servers}`);
      }),
    );
  });

  it('warns only when the live servers outnumber what bootstrapExpect protects', () => {
    assert.equal(expectTooLow(3, 3), null);
    assert.equal(expectTooLow(5, 5), null);
    assert.equal(expectTooLow(4, 5), null);
    assert.deepEqual(expectTooLow(3, 4), { expect: 3, live: 4, safeFrom: 4 });
    assert.deepEqual(expectTooLow(3, 5), { expect: 3, live: 5, safeFrom: 4 });
    assert.deepEqual(expectTooLow(1, 2), { expect: 1, live: 2, safeFrom: 2 });
    assert.deepEqual(expectTooLow(5, 6), { expect: 5, live: 6, safeFrom: 6 });
  });

  it('says what to set, where, and the range that also holds', () => {
    const five = expectTooLow(3, 5)!;
    assert.match(expectTooLowWarning(five), /^cluster\.bootstrapExpect is 3, but 5 members are live: a cluster formed anew .*could split in two.*not at risk/);
    assert.match(expectTooLowWarning(five), /--bootstrap-expect, CONCLAVE_BOOTSTRAP_EXPECT\) on every node to the number of servers, 5 \(any value from 4 keeps one cluster\)$/);
    assert.match(expectTooLowWarning(expectTooLow(3, 4)!), /the number of servers, 4$/);
    assert.equal(expectTooLowLine(five), 'expect 3 is too low for 5 live members: a new cluster formed with it could split in two; set --bootstrap-expect 5 (any value from 4 keeps one cluster)');
    assert.equal(expectTooLowBanner(five), '5 members, bootstrapExpect 3: a new cluster could split in two; set it to 5');
    assert.ok(expectTooLowBanner(expectTooLow(49, 99)!).length <= 80);
    assert.ok(expectTooLowBanner(expectTooLow(1024, 2048)!).length <= 100);
  });
});
