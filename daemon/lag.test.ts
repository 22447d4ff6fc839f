import { test } from 'node:test';
import assert from 'node:assert/strict';
import { JITTER_MS, LagMeter } from './lag.js';

/** Timers due every `everyMs` from `fromMs` to `toMs`, each firing on time except the one due at `lateAtMs`. */
function run(meter: LagMeter, fromMs: number, toMs: number, everyMs: number, lateAtMs = -1, late = 0): { atMs: number; lag: number }[] {
  const out: { atMs: number; lag: number }[] = [];
  for (let due = fromMs; due <= toMs; due += everyMs) {
    const firedMs = due + (due === lateAtMs ? late : 0);
    out.push({ atMs: firedMs, lag: meter.fired(due, firedMs) });
  }
  return out;
}

test('timers on time report no lag, and neither does jitter up to JITTER_MS', () => {
  const meter = new LagMeter(1000);
  assert.ok(run(meter, 0, 5000, 100).every((r) => r.lag === 0));
  const jittery = new LagMeter(1000);
  assert.ok(run(jittery, 0, 5000, 100, 2000, JITTER_MS).every((r) => r.lag === 0));
});

test('a late timer is reported as lag once its window closes, for one whole window, then forgotten', () => {
  const meter = new LagMeter(1000);
  const rows = run(meter, 0, 4000, 100, 1500, 300);
  const reported = rows.filter((r) => r.lag > 0);
  assert.ok(reported.length > 0);
  assert.ok(reported.every((r) => r.lag === 300 - JITTER_MS), 'the lag is the lateness beyond the jitter allowance');
  assert.ok(reported[0]!.atMs >= 2000 && reported[0]!.atMs <= 2100, `first ${reported[0]!.atMs}`);
  const span = reported.at(-1)!.atMs - reported[0]!.atMs;
  assert.ok(span >= 900 && span <= 1000, `span ${span}`);
  assert.equal(rows.at(-1)!.lag, 0);
});

test('the worst lateness in a window wins, however far apart the deadlines are', () => {
  const meter = new LagMeter(1000);
  meter.fired(0, 0);
  meter.fired(300, 340); // late by 40
  meter.fired(500, 620); // late by 120
  meter.fired(900, 910); // late by 10
  assert.equal(meter.fired(1100, 1100), 120 - JITTER_MS);
  assert.equal(meter.lagMs, 120 - JITTER_MS);
});
