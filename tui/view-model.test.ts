import { test } from 'node:test';
import assert from 'node:assert/strict';
import { computeLayout } from './layout.js';
import { memberRows, orderMembers, STATE_COLOURS } from './members-table.js';
import { initialView, reduce } from './state.js';
import { event, idOf, member, memberView, snapshotEvent, status } from './testing.js';
import { initialUi } from './ui.js';
import { bannerText, buildScreen, matchesFilter, quorum, timelineRows, windowFromEnd } from './view-model.js';
import { findDisagreement } from './split-brain.js';
import { describeEvent } from './describe.js';

const text = (segments: { text: string }[]) => segments.map((s) => s.text).join('');

test('the leader the viewed node follows comes first, other protocols last, names in between', () => {
  const members = [memberView('alpha'), memberView('zulu', { protocol: 'raft' }), memberView('delta'), memberView('charlie', { role: 'leader' })];
  const ordered = orderMembers(members, status({ leader: { id: idOf('delta'), name: 'delta' } }));
  assert.deepEqual(ordered.map((m) => m.name), ['delta', 'alpha', 'charlie', 'zulu']);
});

test('each state has its colour: alive green, suspect yellow, dead red, left grey', () => {
  assert.deepEqual(STATE_COLOURS, { alive: 'green', suspect: 'yellow', dead: 'red', left: 'grey' });
  const states = ['alive', 'suspect', 'dead', 'left'] as const;
  const rows = memberRows(states.map((state) => memberView(`m-${state}`, { state })), status(), 0, 100);
  for (const row of rows) {
    const stateCell = row.segments.find((s) => states.includes(s.text.trim() as (typeof states)[number]))!;
    assert.equal(stateCell.colour, STATE_COLOURS[stateCell.text.trim() as (typeof states)[number]]);
  }
});

test('members following another leader or running another protocol carry a marker', () => {
  const rows = memberRows(
    [
      memberView('alpha', { role: 'leader', leader: idOf('alpha') }),
      memberView('bravo'),
      memberView('charlie', { leader: idOf('charlie'), role: 'leader' }),
      memberView('delta', { leader: idOf('charlie') }),
      memberView('echo', { protocol: 'raft' }),
      memberView('foxtrot', { state: 'dead', leader: idOf('charlie') }),
    ],
    status(),
    0,
    100,
  );
  const markers = Object.fromEntries(rows.map((r) => [r.id, r.segments[0]!.text.trim()]));
  assert.deepEqual(markers, {
    [idOf('alpha')]: '',
    [idOf('bravo')]: '',
    [idOf('charlie')]: '!',
    [idOf('delta')]: '!',
    [idOf('echo')]: '~',
    // A dead member's last claim is history, not a live disagreement.
    [idOf('foxtrot')]: '',
  });
});

test('every member row is exactly as wide as the table at any width', () => {
  const members = [memberView('a-very-long-member-name-indeed', { addrs: ['/ip4/192.168.100.200/tcp/40001'] }), memberView('b')];
  for (let width = 30; width <= 200; width++) {
    for (const row of memberRows(members, status(), 5000, width)) assert.ok(text(row.segments).length <= width, `width ${width}`);
  }
});

test('the last-heard column shows the age on the dashboard clock, self for the viewed node', () => {
  const rows = memberRows([memberView('alpha', { self: true }), memberView('bravo', { heardAtMs: 1000 })], status(), 5200, 100);
  assert.match(text(rows[0]!.segments), /\bself\b/);
  assert.match(text(rows[1]!.segments), /\b4\.2s\b/);
});

test('quorum counts alive members of this protocol over all known but left ones', () => {
  const members = [
    memberView('a'),
    memberView('b'),
    memberView('c', { state: 'suspect' }),
    memberView('d', { state: 'dead' }),
    memberView('e', { state: 'left' }),
    memberView('f', { protocol: 'raft' }),
  ];
  assert.deepEqual(quorum(members, 'bully'), { reachable: 2, known: 4, ok: false });
  assert.deepEqual(quorum(members.slice(0, 3), 'bully'), { reachable: 2, known: 3, ok: true });
});

test('the header reads "N/M reachable, quorum ok" and names the leader with term and token', () => {
  const view = reduce(initialView('unix:/x'), { kind: 'event', nowMs: 1000, event: snapshotEvent() });
  const screen = buildScreen(view, initialUi(1), 4000, computeLayout(100, 30, false));
  const second = text(screen.header[1]);
  assert.match(second, /leader alpha term 3 · token 11 for ≥3\.0s/);
  assert.match(second, /3\/3 reachable, quorum ok/);
  assert.match(text(screen.header[0]), /connected/);
});

test('while the daemon is away the header says disconnected, retrying', () => {
  let view = reduce(initialView('unix:/x'), { kind: 'event', nowMs: 1000, event: snapshotEvent() });
  view = reduce(view, { kind: 'disconnected', nowMs: 2000, code: 'unreachable', reason: 'connection refused', retryAtMs: 3000 });
  const screen = buildScreen(view, initialUi(1), 2000, computeLayout(80, 24, false));
  assert.match(text(screen.header[0]), /^conclave disconnected, retrying in 1\.0s \(connection refused\)/);
});

test('the split-brain banner appears only after the grace period and names both sides', () => {
  let view = reduce(initialView('unix:/x'), { kind: 'event', nowMs: 1000, event: snapshotEvent() });
  view = reduce(view, { kind: 'event', nowMs: 2000, event: event('member-updated', { member: member('charlie', { role: 'leader', leader: idOf('charlie') }) }) });
  const layout = computeLayout(100, 30, true);
  assert.equal(buildScreen(view, initialUi(1), 2500, layout).banner, null);
  const banner = buildScreen(view, initialUi(1), 3500, layout).banner;
  assert.match(banner ?? '', /^SPLIT BRAIN for 1\.5s: alpha and charlie both claim to lead \(followers: alpha 2, charlie 1\)$/);
});

test('banner text for three claimants', () => {
  const d = findDisagreement([memberView('a', { role: 'leader' }), memberView('b', { role: 'leader', leader: null }), memberView('c', { role: 'leader', leader: null })], 'bully');
  assert.equal(bannerText(d!, 2000), 'SPLIT BRAIN for 2.0s: a, b and c all claim to lead');
});

test('banner text for followers of different leaders without rival claims', () => {
  const d = findDisagreement([memberView('a', { leader: idOf('x') }), memberView('b', { leader: idOf('y') }), memberView('c', { leader: idOf('y') })], 'bully');
  assert.equal(bannerText(d!, 1000), 'SPLIT BRAIN for 1.0s: members follow different leaders: xxxxxxxy (b, c), xxxxxxxx (a)');
});

test('the timeline lists newest first with from, to, term and the leaderless gap coloured by size', () => {
  const base = { term: 4, fencingToken: 1, from: { id: 'a', name: 'alpha' } };
  const rows = timelineRows(
    [
      { ...base, atMs: 1000, to: { id: 'b', name: 'bravo' }, leaderlessMs: 0 },
      { ...base, atMs: 2000, to: null, leaderlessMs: 0 },
      { ...base, atMs: 3000, to: { id: 'c', name: 'charlie' }, leaderlessMs: 450 },
      { ...base, atMs: 4000, to: { id: 'd', name: 'delta' }, leaderlessMs: 2300, term: 9 },
    ],
    40,
    3,
  );
  assert.equal(rows.length, 3);
  assert.match(text(rows[0]!), /alpha\s*→delta\s+t9 2300ms$/);
  assert.deepEqual(rows.map((r) => r[2]!.colour), ['red', 'yellow', 'green']);
  assert.match(text(rows[2]!), /→none/);
});

test('the log filter matches types by substring, several terms, and !term hides', () => {
  assert.equal(matchesFilter('leader-changed', ''), true);
  assert.equal(matchesFilter('leader-changed', 'leader'), true);
  assert.equal(matchesFilter('member-dead', 'leader'), false);
  assert.equal(matchesFilter('member-dead', 'leader, DEAD'), true);
  assert.equal(matchesFilter('member-updated', '!updated'), false);
  assert.equal(matchesFilter('member-dead', 'member !updated'), true);
});

test('the filtered log shows the newest lines that fit, or an older page when scrolled back', () => {
  let view = reduce(initialView('unix:/x'), { kind: 'event', nowMs: 1000, event: snapshotEvent() });
  for (let i = 0; i < 30; i++) view = reduce(view, { kind: 'note', nowMs: i, type: i % 2 ? 'odd' : 'even', text: `n${i}`, tone: 'info' });
  const layout = computeLayout(80, 24, false);
  const ui = { ...initialUi(1), filter: 'odd' };
  const screen = buildScreen(view, ui, 0, layout);
  assert.equal(screen.log.length, layout.logRows);
  assert.match(text(screen.log[screen.log.length - 1]!), /n29$/);
  assert.ok(screen.log.every((line) => /n\d*[13579]$/.test(text(line))));
  assert.match(screen.logTitle, /\[odd\] 15\/31/);
  assert.deepEqual(windowFromEnd([1, 2, 3, 4, 5, 6], 2, 0), [5, 6]);
  assert.deepEqual(windowFromEnd([1, 2, 3, 4, 5, 6], 2, 3), [2, 3]);
  assert.deepEqual(windowFromEnd([1, 2, 3, 4, 5, 6], 2, 99), [1, 2]);
});

test('100 members scroll: the selected member stays in the visible window', () => {
  const members = Array.from({ length: 100 }, (_, i) => member(`m${String(i).padStart(3, '0')}`));
  const view = reduce(initialView('unix:/x'), { kind: 'event', nowMs: 0, event: snapshotEvent(members, status({ leader: null })) });
  const layout = computeLayout(80, 24, false);
  const ui = { ...initialUi(1), selectedId: idOf('m057') };
  const screen = buildScreen(view, ui, 0, layout);
  assert.equal(screen.memberRows.length, layout.memberRows);
  assert.equal(screen.memberRows[screen.selectedRow]!.id, idOf('m057'));
  assert.match(screen.membersTitle, /members 100 \(\d+-\d+\)/);
});

test('a paused screen says so in the header', () => {
  const view = reduce(initialView('unix:/x'), { kind: 'event', nowMs: 0, event: snapshotEvent() });
  const screen = buildScreen(view, { ...initialUi(1), paused: true }, 0, computeLayout(80, 24, false));
  assert.match(text(screen.header[0]), /PAUSED/);
});

test('an election result reads in whole milliseconds', () => {
  assert.equal(describeEvent(event('election-finished', { result: 'lost', term: 2, durationMs: 62.749154000000544 })).text, 'election lost, term 2 in 63 ms');
});
