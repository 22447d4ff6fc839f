import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { scenarioFromSeed } from './scenario.js';
import { failureReport, replayCommand, runSwarm } from './swarm.js';
import type { SimResult } from './types.js';

describe('runSwarm and failure reports', () => {
  it('a violation reports the seed, the invariant, what led to it and the replay command', () => {
    const result: SimResult = {
      scenario: scenarioFromSeed(5),
      protocol: 'bully',
      stats: { virtualMs: 1000, steps: 1, messagesSent: 0, messagesDelivered: 0, messagesDropped: 0, faults: {}, convergedAfterHealMs: null, traceHash: '0' },
      violation: { seed: 5, invariant: 'one-leader-per-term', nowMs: 812, message: 'n02 leads term 3, which n01 already led', trace: ['step'], notable: ['fault crash n01'] },
    };
    const text = failureReport({ seed: 5, result, crash: null }, 'bully');
    for (const part of ['one-leader-per-term', 'seed 5', 'n02 leads term 3', 'fault crash n01', 'replay: npm run sim -- --seed 5 --protocol bully --verbose']) {
      assert.ok(text.includes(part), `${part} missing from:\n${text}`);
    }
  });

  it('a seed that throws is a failure with the error name and the replay command, and the swarm goes on', () => {
    const seen: number[] = [];
    const report = runSwarm({ seeds: [1, 2], protocol: 'paxos', onSeed: ({ seed }) => seen.push(seed) });
    assert.deepEqual(seen, [1, 2]);
    assert.deepEqual(report.failed.map((f) => [f.seed, f.crash?.name]), [[1, 'UnknownSimProtocolError'], [2, 'UnknownSimProtocolError']]);
    assert.ok(failureReport(report.failed[0]!, 'paxos').includes(`replay: ${replayCommand(1, 'paxos')}`));
  });

  it('the replay command leaves out the protocol for membership-only runs', () => {
    assert.equal(replayCommand(42, 'none'), 'npm run sim -- --seed 42 --verbose');
  });
});
