import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_LOG_ENTRIES, type LeaderChange } from './model.js';
import { initialView, reduce } from './state.js';
import { event, idOf, member, raftMembers, raftStatus, snapshotEvent, status, threeMembers } from './testing.js';

const attached = (nowMs = 1000) => reduce(initialView('unix:/x'), { kind: 'event', nowMs, event: snapshotEvent() });

test('a snapshot attaches: status, members and a connected state', () => {
  const view = attached(1000);
  assert.equal(view.connection.kind, 'connected');
  assert.equal(view.status?.name, 'alpha');
  assert.deepEqual([...view.members.values()].map((m) => m.name), ['alpha', 'bravo', 'charlie']);
  // The first leader is known to reign only "at least since" the snapshot.
  assert.equal(view.leaderSinceMs, 1000);
  assert.equal(view.leaderSinceExact, false);
});

test('a member is last heard lastSeenMs before the dashboard received it', () => {
  const view = reduce(initialView('a'), { kind: 'event', nowMs: 10_000, event: snapshotEvent([member('bravo', { lastSeenMs: 300 })]) });
  assert.equal(view.members.get(idOf('bravo'))?.heardAtMs, 9700);
});

test('leader-changed adds a timeline entry with its gap and moves the header leader', () => {
  const view = reduce(attached(), {
    kind: 'event',
    nowMs: 2000,
    event: event('leader-changed', { from: null, to: { id: idOf('bravo'), name: 'bravo' }, term: 4, fencingToken: 12, leaderlessMs: 840 }),
  });
  assert.equal(view.timeline.length, 1);
  const change = view.timeline[0] as LeaderChange;
  assert.equal(change.to?.name, 'bravo');
  assert.equal(change.term, 4);
  assert.equal(change.leaderlessMs, 840);
  assert.equal(change.atMs, Date.parse('2024-05-01T12:00:01.000Z'));
  assert.equal(view.status?.leader?.name, 'bravo');
  assert.equal(view.status?.fencingToken, 12);
  assert.equal(view.leaderSinceMs, 2000);
  assert.equal(view.leaderSinceExact, true);
  // The viewed node's own row follows the change before the next poll.
  assert.equal(view.members.get(idOf('alpha'))?.leader, idOf('bravo'));
});

test('member state events change only that member, keeping the rest', () => {
  let view = attached();
  view = reduce(view, { kind: 'event', nowMs: 2000, event: event('member-suspect', { id: idOf('bravo'), name: 'bravo', incarnation: 1, reason: 'silence' }) });
  assert.equal(view.members.get(idOf('bravo'))?.state, 'suspect');
  view = reduce(view, { kind: 'event', nowMs: 3000, event: event('member-dead', { id: idOf('bravo'), name: 'bravo', incarnation: 1, suspectedForMs: 1000 }) });
  assert.equal(view.members.get(idOf('bravo'))?.state, 'dead');
  view = reduce(view, { kind: 'event', nowMs: 4000, event: event('member-alive', { id: idOf('bravo'), name: 'bravo', incarnation: 2, previous: 'dead' }) });
  assert.equal(view.members.get(idOf('bravo'))?.state, 'alive');
  assert.equal(view.members.get(idOf('bravo'))?.incarnation, 2);
  view = reduce(view, { kind: 'event', nowMs: 5000, event: event('member-forgotten', { id: idOf('charlie'), name: 'charlie' }) });
  assert.deepEqual([...view.members.values()].map((m) => m.name), ['alpha', 'bravo']);
  assert.equal(view.log.filter((e) => e.type.startsWith('member-')).length, 4);
});

test('member-joined adds the member, member-updated replaces it', () => {
  let view = attached();
  view = reduce(view, { kind: 'event', nowMs: 2000, event: event('member-joined', { member: member('delta') }) });
  assert.ok(view.members.has(idOf('delta')));
  view = reduce(view, { kind: 'event', nowMs: 3000, event: event('member-updated', { member: member('delta', { role: 'candidate' }) }) });
  assert.equal(view.members.get(idOf('delta'))?.role, 'candidate');
});

test('a poll replaces the members and refreshes their ages', () => {
  const view = reduce(attached(), { kind: 'polled', nowMs: 5000, status: status(), members: [member('alpha', { lastSeenMs: 0 }), member('bravo', { lastSeenMs: 250 })] });
  assert.equal(view.members.size, 2);
  assert.equal(view.members.get(idOf('bravo'))?.heardAtMs, 4750);
});

test('an outage is logged once, however many retries fail', () => {
  let view = attached();
  for (let i = 0; i < 5; i++) view = reduce(view, { kind: 'disconnected', nowMs: 2000 + i, code: 'unreachable', reason: 'connection refused', retryAtMs: 3000 + i });
  assert.equal(view.connection.kind, 'retrying');
  assert.equal(view.log.filter((e) => e.type === 'disconnected').length, 1);
  view = reduce(view, { kind: 'event', nowMs: 9000, event: snapshotEvent() });
  assert.equal(view.connection.kind, 'connected');
});

test('the log keeps only the newest entries', () => {
  let view = attached();
  for (let i = 0; i < MAX_LOG_ENTRIES + 10; i++) view = reduce(view, { kind: 'note', nowMs: i, type: 'log', text: `line ${i}`, tone: 'info' });
  assert.equal(view.log.length, MAX_LOG_ENTRIES);
  assert.equal(view.log[view.log.length - 1]!.text, `line ${MAX_LOG_ENTRIES + 9}`);
});

test('the disagreement clock starts when members split and stops when they agree again', () => {
  let view = attached(1000);
  assert.equal(view.disagreeSinceMs, null);
  const split = member('charlie', { role: 'leader', leader: idOf('charlie') });
  view = reduce(view, { kind: 'event', nowMs: 2000, event: event('member-updated', { member: split }) });
  assert.equal(view.disagreeSinceMs, 2000);
  // Still split a poll later: the clock keeps its start.
  view = reduce(view, { kind: 'polled', nowMs: 3000, status: status(), members: [...threeMembers().slice(0, 2), split] });
  assert.equal(view.disagreeSinceMs, 2000);
  view = reduce(view, { kind: 'polled', nowMs: 4000, status: status(), members: threeMembers() });
  assert.equal(view.disagreeSinceMs, null);
});

test('election-started is counted for the chart', () => {
  const view = reduce(attached(), { kind: 'event', nowMs: 7000, event: event('election-started', { term: 4, reason: 'leader dead' }) });
  assert.deepEqual(view.electionStarts, [7000]);
});

test('snapshots, events and polls mark the view updated; the dashboard notes and outages do not', () => {
  let view = attached(1000);
  assert.equal(view.updatedAtMs, 1000);
  view = reduce(view, { kind: 'event', nowMs: 2000, event: event('member-suspect', { id: idOf('bravo'), name: 'bravo', incarnation: 1, reason: 'silence' }) });
  assert.equal(view.updatedAtMs, 2000);
  view = reduce(view, { kind: 'polled', nowMs: 3000, status: status(), members: threeMembers() });
  assert.equal(view.updatedAtMs, 3000);
  view = reduce(view, { kind: 'note', nowMs: 4000, type: 'log', text: 'a daemon log line', tone: 'info' });
  view = reduce(view, { kind: 'disconnected', nowMs: 5000, code: 'unreachable', reason: 'connection refused', retryAtMs: 6000 });
  assert.equal(view.updatedAtMs, 3000);
});

test('under raft term and configuration changes join the timeline; the configuration updates the status at once', () => {
  let view = reduce(initialView('unix:/x'), { kind: 'event', nowMs: 1000, event: snapshotEvent(raftMembers(), raftStatus()) });
  view = reduce(view, { kind: 'event', nowMs: 2000, event: event('term-changed', { from: 5, to: 6 }) });
  const learners = [{ id: idOf('charlie'), name: 'charlie' }];
  const voters = [{ id: idOf('alpha'), name: 'alpha' }, { id: idOf('bravo'), name: 'bravo' }, { id: idOf('delta'), name: 'delta' }];
  view = reduce(view, { kind: 'event', nowMs: 3000, event: event('configuration-changed', { index: 201, voters, learners }) });
  assert.deepEqual(view.timeline.map((e) => e.kind), ['term', 'configuration']);
  assert.equal(view.status?.term, 6);
  assert.deepEqual(view.status?.raft?.voters.map((v) => v.name), ['alpha', 'bravo', 'delta']);
});

test('under bully a term change is not a timeline entry (the leader change shows the epoch)', () => {
  const view = reduce(attached(), { kind: 'event', nowMs: 2000, event: event('term-changed', { from: 3, to: 4 }) });
  assert.deepEqual(view.timeline, []);
  assert.equal(view.status?.term, 4);
});
