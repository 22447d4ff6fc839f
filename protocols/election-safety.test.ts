import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { leadersAtOnce, TermLeaders, termAboveToken, TokenHighWater } from './election-safety.js';

describe('election safety rules', () => {
  it('leadersAtOnce: the reports that say leader, in order', () => {
    const reports = [
      { id: 'a', role: 'follower' as const },
      { id: 'b', role: 'leader' as const },
      { id: 'c', role: 'candidate' as const },
      { id: 'd', role: 'leader' as const },
    ];
    assert.deepEqual(leadersAtOnce(reports).map((r) => r.id), ['b', 'd']);
    assert.deepEqual(leadersAtOnce([]), []);
  });

  it('TermLeaders: a term belongs to the first node that led it; a second leader of it is named with the holder', () => {
    const terms = new TermLeaders();
    assert.equal(terms.observe('a', { role: 'leader', term: 1 }), null);
    assert.equal(terms.observe('a', { role: 'leader', term: 1 }), null, 'leading the same term again is fine');
    assert.equal(terms.observe('b', { role: 'follower', term: 1 }), null, 'following says nothing about the term');
    assert.equal(terms.observe('b', { role: 'leader', term: 2 }), null);
    assert.equal(terms.observe('c', { role: 'leader', term: 1 }), 'a');
    assert.deepEqual([terms.led('a', 1), terms.led('c', 1), terms.led('b', 1), terms.led('b', 2)], [true, true, false, true]);
  });

  it('TokenHighWater: a token below the highest the node reported is a regression, also after a lower one', () => {
    const tokens = new TokenHighWater();
    assert.equal(tokens.observe('a', 3), null);
    assert.equal(tokens.observe('a', 3), null);
    assert.equal(tokens.observe('b', 1), null, 'each node has its own');
    assert.equal(tokens.observe('a', 2), 3);
    assert.equal(tokens.observe('a', 2), 3, 'the highest is remembered, not the last');
    assert.equal(tokens.observe('a', 5), null);
  });

  it('termAboveToken: an epoch ahead of the fencing token', () => {
    assert.equal(termAboveToken({ term: 4, fencingToken: 4 }), false);
    assert.equal(termAboveToken({ term: 3, fencingToken: 4 }), false);
    assert.equal(termAboveToken({ term: 5, fencingToken: 4 }), true);
  });
});
