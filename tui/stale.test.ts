import { test } from 'node:test';
import assert from 'node:assert/strict';
import { STALE_AFTER_MS, staleness } from './stale.js';
import { initialView, reduce } from './state.js';
import { snapshotEvent, status, threeMembers } from './testing.js';

const attached = (nowMs: number) => reduce(initialView('unix:/x'), { kind: 'event', nowMs, event: snapshotEvent() });
const gone = { kind: 'disconnected', code: 'unreachable', reason: 'connection refused' } as const;

test('nothing is stale before the first snapshot, even while the daemon is unreachable', () => {
  assert.equal(staleness(initialView('unix:/x'), 99_000), null);
  assert.equal(staleness(reduce(initialView('unix:/x'), { ...gone, nowMs: 1000, retryAtMs: 2000 }), 99_000), null);
});

test('a disconnected view is stale at once, aged from its last update, not from the disconnection', () => {
  const view = reduce(attached(1000), { ...gone, nowMs: 4000, retryAtMs: 5000 });
  assert.deepEqual(staleness(view, 4000), { ageMs: 3000 });
  assert.deepEqual(staleness(view, 13_000), { ageMs: 12_000 });
});

test('a connected view turns stale after STALE_AFTER_MS of silence; a poll freshens it', () => {
  const view = attached(1000);
  assert.equal(staleness(view, 1000 + STALE_AFTER_MS - 1), null);
  assert.deepEqual(staleness(view, 1000 + STALE_AFTER_MS), { ageMs: STALE_AFTER_MS });
  const polled = reduce(view, { kind: 'polled', nowMs: 1000 + STALE_AFTER_MS, status: status(), members: threeMembers() });
  assert.equal(staleness(polled, 1000 + STALE_AFTER_MS), null);
});

test('a reconnection snapshot makes the view fresh again', () => {
  const view = reduce(reduce(attached(1000), { ...gone, nowMs: 2000, retryAtMs: 3000 }), { kind: 'event', nowMs: 9000, event: snapshotEvent() });
  assert.equal(staleness(view, 9000), null);
});
