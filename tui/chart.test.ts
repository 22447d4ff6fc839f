import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bucketSizeMs, CHART_SPAN_MS, leadershipChart } from './chart.js';

test('the bucket is the smallest round size that lets the columns span five minutes', () => {
  assert.equal(bucketSizeMs(300), 1000);
  assert.equal(bucketSizeMs(68), 5000);
  assert.equal(bucketSizeMs(20), 15_000);
  assert.ok(bucketSizeMs(68) * 68 >= CHART_SPAN_MS);
});

test('a leaderless stretch fills the buckets it covers, in proportion', () => {
  // 10 columns of 30 s (300 s span); now at 300 s exactly, watched from 0.
  const history = [
    { atMs: 0, leader: 'a' },
    { atMs: 240_000, leader: null },
    { atMs: 255_000, leader: 'b' },
  ];
  const chart = leadershipChart(history, [], 300_000, 10);
  assert.equal(chart.bucketMs, 30_000);
  assert.equal(chart.leaderless, '        ▄ ');
  assert.equal(chart.leaderlessMs, 15_000);
});

test('a short gap still shows the lowest bar, and an ongoing gap runs until now', () => {
  const chart = leadershipChart([{ atMs: 0, leader: 'a' }, { atMs: 100_000, leader: null }, { atMs: 100_050, leader: 'b' }, { atMs: 290_000, leader: null }], [], 300_000, 10);
  assert.equal(chart.leaderless, '   ▁     ▃');
  assert.equal(chart.leaderlessMs, 10_050);
});

test('elections are counted per bucket; more than nine show as +', () => {
  const starts = [5_000, 6_000, ...Array.from({ length: 12 }, (_, i) => 61_000 + i)];
  const chart = leadershipChart([{ atMs: 0, leader: 'a' }], starts, 300_000, 10);
  assert.equal(chart.elections, '2 +       ');
  assert.equal(chart.electionCount, 14);
});

test('time before the dashboard attached is shown as unwatched', () => {
  const chart = leadershipChart([{ atMs: 200_000, leader: 'a' }], [], 300_000, 10);
  assert.equal(chart.leaderless, '······    ');
});
