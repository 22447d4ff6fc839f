import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ABUSE_ADVICE, ABUSE_KINDS, AbuseTally } from './abuse.js';

const MINUTE_MS = 60_000;

describe('abuse tally', () => {
  it('the first refusal of a kind is reported at once; later ones within the interval wait for it to pass', () => {
    const tally = new AbuseTally(MINUTE_MS);
    const first = tally.record('bad-target', 1_000, { from: '10.0.0.9', detail: 'the target "//"' });
    assert.deepEqual(first, { kind: 'bad-target', count: 1, total: 1, from: '10.0.0.9', detail: 'the target "//"', advice: ABUSE_ADVICE['bad-target'] });
    for (let i = 0; i < 20_999; i++) assert.equal(tally.record('bad-target', 1_001 + i, { from: '10.0.0.7' }), null);
    assert.deepEqual(tally.due(1_000 + MINUTE_MS - 1), []);
    const [summary, ...rest] = tally.due(1_000 + MINUTE_MS);
    assert.deepEqual(rest, []);
    assert.equal(summary!.count, 20_999, 'the count since the previous report');
    assert.equal(summary!.total, 21_000);
    assert.equal(summary!.from, '10.0.0.7', 'the latest offender');
    assert.equal(summary!.detail, null);
    assert.deepEqual(tally.due(1_000 + 10 * MINUTE_MS), [], 'nothing new, nothing reported');
  });

  it('a refusal after a quiet interval is reported at once again', () => {
    const tally = new AbuseTally(MINUTE_MS);
    assert.notEqual(tally.record('unauthorized', 0), null);
    assert.equal(tally.record('unauthorized', 10), null);
    const next = tally.record('unauthorized', MINUTE_MS);
    assert.equal(next?.count, 2, 'the one held back and this one');
    assert.equal(next?.total, 3);
  });

  it('kinds are counted and throttled apart', () => {
    const tally = new AbuseTally(MINUTE_MS);
    assert.equal(tally.record('sse-cap', 0)?.kind, 'sse-cap');
    assert.equal(tally.record('connection-cap', 5)?.kind, 'connection-cap');
    assert.equal(tally.record('sse-cap', 10), null);
    assert.deepEqual(tally.due(MINUTE_MS + 5).map((r) => [r.kind, r.count]), [['sse-cap', 1]]);
  });

  it('nextDueMs says when due() will have a report; null while nothing is pending', () => {
    const tally = new AbuseTally(MINUTE_MS);
    assert.equal(tally.nextDueMs(), null);
    tally.record('idle-timeout', 500);
    assert.equal(tally.nextDueMs(), null, 'reported at once, nothing pending');
    tally.record('idle-timeout', 700);
    tally.record('bad-request', 800);
    tally.record('bad-request', 900);
    assert.equal(tally.nextDueMs(), 500 + MINUTE_MS);
    tally.due(500 + MINUTE_MS);
    assert.equal(tally.nextDueMs(), 800 + MINUTE_MS);
  });

  it('flush reports every pending count at once (shutdown), then nothing is pending', () => {
    const tally = new AbuseTally(MINUTE_MS);
    tally.record('sse-slow-client', 0);
    tally.record('sse-slow-client', 1);
    tally.record('sse-slow-client', 2);
    assert.deepEqual(tally.flush(3).map((r) => [r.kind, r.count, r.total]), [['sse-slow-client', 2, 3]]);
    assert.deepEqual(tally.flush(4), []);
    assert.equal(tally.nextDueMs(), null);
  });

  it('every kind has advice for the operator', () => {
    for (const kind of ABUSE_KINDS) assert.ok(ABUSE_ADVICE[kind].length > 20, kind);
  });
});
