import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkLeadershipHistory, type LeadershipSample } from './leadership-history.js';

const sample = (round: number, node: string, role: LeadershipSample['role'], term: number, leader: string | null, fencingToken = term): LeadershipSample => ({ round, node, role, term, leader, fencingToken });

describe('leadership history checker', () => {
  it('a clean hand-over has no round with two leaders, no ghost, no regression', () => {
    const report = checkLeadershipHistory([
      sample(1, 'a', 'leader', 1, 'a'),
      sample(1, 'b', 'follower', 1, 'a'),
      sample(2, 'a', 'follower', 1, null),
      sample(2, 'b', 'follower', 1, null),
      sample(3, 'a', 'follower', 2, 'b'),
      sample(3, 'b', 'leader', 2, 'b'),
    ]);
    assert.deepEqual([report.roundsWithTwoLeaders, report.ghostLeaders, report.tokenRegressions], [[], [], []]);
    assert.deepEqual(report.reigns, [{ leader: 'a', term: 1, firstRound: 1 }, { leader: 'b', term: 2, firstRound: 3 }]);
    assert.equal(report.rounds, 3);
  });

  it('reports a round with two leaders, a follower naming a node that never led that term, and a token going down', () => {
    const report = checkLeadershipHistory([
      sample(1, 'a', 'leader', 1, 'a'),
      sample(1, 'b', 'leader', 1, 'b'),
      sample(2, 'c', 'follower', 5, 'b'),
      sample(3, 'c', 'follower', 4, null, 4),
    ]);
    assert.deepEqual(report.roundsWithTwoLeaders, [{ round: 1, leaders: ['a', 'b'] }]);
    assert.deepEqual(report.ghostLeaders, [{ round: 2, node: 'c', named: 'b', term: 5 }]);
    assert.deepEqual(report.tokenRegressions, [{ round: 3, node: 'c', from: 5, to: 4 }]);
  });
});
