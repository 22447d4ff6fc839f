import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MEMBERSHIP_PRESETS, OBSERVERS_PER_MEMBER } from '../membership/index.js';
import { runScaleSim, type ScaleSimOptions } from './membership-scale.js';

const base = (nodes: number): ScaleSimOptions => ({
  nodes,
  seed: 7,
  timings: MEMBERSHIP_PRESETS.lan,
  latencyMs: [0.2, 2],
  startSpreadMs: nodes * 10,
  loadWindowMs: 5000,
  failures: 2,
  failureWindowMs: 8000,
});

test('scale simulator: with observers a node sends the same few heartbeats a second at 20 and at 60 nodes, and every failure is declared at every node', () => {
  for (const nodes of [20, 60]) {
    const r = runScaleSim(base(nodes));
    assert.ok(Number.isFinite(r.convergedMs), `${nodes}: converged`);
    // Five observers and one probed member an interval (1 s), and the answer to the probe it got.
    assert.ok(r.sentPerSec.mean <= OBSERVERS_PER_MEMBER + 2.2, `${nodes}: ${r.sentPerSec.mean} sent/s`);
    assert.ok(r.receivedPerSec.max <= 2 * (OBSERVERS_PER_MEMBER + 2), `${nodes}: at most ${r.receivedPerSec.max} received/s at one node`);
    assert.equal(r.failures.length, 2);
    for (const f of r.failures) {
      assert.equal(f.perNodeMs.length, nodes - 1 - r.failures.indexOf(f), `${nodes}: every live node declared the failure`);
      assert.ok(f.allDeadMs <= MEMBERSHIP_PRESETS.lan.suspectAfterMs + MEMBERSHIP_PRESETS.lan.suspicionMinMs + 100, `${nodes}: all dead after ${f.allDeadMs} ms`);
    }
    assert.equal(r.falseSuspicions, 0);
    assert.equal(r.falseDeaths, 0);
  }
});

test('scale simulator: everyone watching everyone sends to every other node each interval (the baseline the bench compares with)', () => {
  const r = runScaleSim({ ...base(20), observersPerMember: Number.POSITIVE_INFINITY });
  assert.ok(Math.abs(r.sentPerSec.mean - 19) < 0.5, `${r.sentPerSec.mean} sent/s`);
});

test('scale simulator: one seed, one run', () => {
  assert.deepEqual(runScaleSim(base(20)), runScaleSim(base(20)));
});
