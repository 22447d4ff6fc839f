/**
 * The etcd comparison reads when each survivor named the new leader from its log (zap JSON lines
 * of etcd 3.4's raft/node.go), to compare with our events' times on the same clock.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { leaderNamedAtMs } from './etcd.js';

const line = (ts: string, msg: string, caller = 'raft/node.go:325') => JSON.stringify({ level: 'info', ts, caller, msg });

describe('leaderNamedAtMs', () => {
  it("a follower's first line naming the leader, whichever way raft says it", () => {
    const log = [
      line('2026-12-07T01:49:11.200Z', 'raft.node: 8e9e05c52164694d lost leader a2a592c86d0ee294 at term 6'),
      line('2026-12-07T01:49:11.254Z', 'raft.node: 8e9e05c52164694d elected leader 91bc3c398fb3c146 at term 7'),
      line('2026-12-07T01:49:13.000Z', 'raft.node: 8e9e05c52164694d changed leader from 91bc3c398fb3c146 to 5a9c4b1e at term 8'),
    ].join('\n');
    assert.equal(leaderNamedAtMs(log, '91bc3c398fb3c146'), Date.parse('2026-12-07T01:49:11.254Z'));
    assert.equal(leaderNamedAtMs(log, '5a9c4b1e'), Date.parse('2026-12-07T01:49:13.000Z'));
  });

  it('is null when no line names that leader: another leader, an id it only starts with, a lost leader, text that is not JSON', () => {
    const log = [
      'spawn /usr/bin/etcd: ENOENT',
      line('2026-12-07T01:49:11.200Z', 'raft.node: 8e9e05c52164694d lost leader 91bc at term 6'),
      line('2026-12-07T01:49:11.254Z', 'raft.node: 8e9e05c52164694d elected leader 91bc3c at term 7'),
      line('2026-12-07T01:49:11.260Z', '8e9e05c52164694d became follower at term 7; leader 91bc', 'raft/raft.go:700'),
      '{"level":"info","ts":"not a time","msg":"raft.node: 8e9e05c52164694d elected leader 91bc at term 7"}',
    ].join('\n');
    assert.equal(leaderNamedAtMs(log, '91bc'), null);
  });
});
