import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LagMeter } from './lag.js';

/** Ticks every 25 ms from `fromMs` to `toMs`, with `late` ms of delay before the tick at `lateAtMs`. */
function run(meter: LagMeter, fromMs: number, toMs: number, lateAtMs = -1, late = 0): { atMs: number; lag: number }[] {
  const out: { atMs: number; lag: number }[] = [];
  let shift = 0;
  for (let t = fromMs; t <= toMs; t += 25) {
    if (t === lateAtMs) shift += late;
    out.push({ atMs: t + shift, lag: meter.tick(t + shift) });
  }
  return out;
}

test('ticks on time report no lag, and neither does jitter of up to one interval', () => {
  const meter = new LagMeter(25, 1000);
  assert.ok(run(meter, 0, 5000).every((r) => r.lag === 0));
  const jittery = new LagMeter(25, 1000);
  assert.ok(run(jittery, 0, 5000, 2000, 25).every((r) => r.lag === 0));
});

test('a late tick is reported as lag once its window closes, for one whole window, then forgotten', () => {
  const meter = new LagMeter(25, 1000);
  const rows = run(meter, 0, 4000, 1500, 300);
  const reported = rows.filter((r) => r.lag > 0);
  assert.ok(reported.length > 0);
  assert.ok(reported.every((r) => r.lag === 275), 'the lag is the lateness beyond one interval of jitter, not the gap');
  // Reported from the end of the window that held the stall, for one window.
  assert.ok(reported[0]!.atMs >= 2000 && reported[0]!.atMs <= 2325, `first ${reported[0]!.atMs}`);
  const span = reported.at(-1)!.atMs - reported[0]!.atMs;
  assert.ok(span >= 975 && span <= 1025, `span ${span}`);
  assert.equal(rows.at(-1)!.lag, 0);
});

test('the worst lateness in a window wins', () => {
  const meter = new LagMeter(25, 1000);
  for (const t of [0, 65, 210, 245]) meter.tick(t); // late by 40, then 120, then 10
  let lag = 0;
  for (let t = 270; t <= 1020; t += 25) lag = meter.tick(t);
  assert.equal(lag, 120 - 25);
});
