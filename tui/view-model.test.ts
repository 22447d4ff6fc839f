import { test } from 'node:test';
import assert from 'node:assert/strict';
import { computeLayout } from './layout.js';
import { columnsFor, headerLine, memberRows, orderMembers, STATE_COLOURS } from './members-table.js';
import { initialView, reduce } from './state.js';
import { STALE_AFTER_MS } from './stale.js';
import { event, idOf, member, memberView, raftMembers, raftStatus, snapshotEvent, status, threeMembers } from './testing.js';
import { initialUi } from './ui.js';
import { bannerFor, bannerText, buildScreen, electionRowsFor, matchesFilter, quorum, timelineRows, windowFromEnd } from './view-model.js';
import { findDisagreement } from './split-brain.js';
import { describeEvent } from './describe.js';
import { MEMBER_STATES } from '../protocols/types.js';

const text = (segments: { text: string }[]) => segments.map((s) => s.text).join('');

test('the leader the viewed node follows comes first, other protocols last, names in between', () => {
  const members = [memberView('alpha'), memberView('zulu', { protocol: 'raft' }), memberView('delta'), memberView('charlie', { role: 'leader' })];
  const ordered = orderMembers(members, status({ leader: { id: idOf('delta'), name: 'delta' } }));
  assert.deepEqual(ordered.map((m) => m.name), ['delta', 'alpha', 'charlie', 'zulu']);
});

test('each state has its colour: alive green, suspect yellow, dead red, left grey', () => {
  assert.deepEqual(STATE_COLOURS, { alive: 'green', suspect: 'yellow', dead: 'red', left: 'grey' });
  const states = MEMBER_STATES;
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
  let view = reduce(initialView('unix:/x'), { kind: 'event', nowMs: 1000, event: snapshotEvent() });
  view = reduce(view, { kind: 'polled', nowMs: 4000, status: status(), members: threeMembers() });
  const screen = buildScreen(view, initialUi(1), 4000, computeLayout(100, 30, false));
  const second = text(screen.header[1]);
  assert.match(second, /leader alpha term 3 · token 11 for ≥3\.0s/);
  assert.match(second, /3\/3 reachable, quorum ok/);
  assert.match(text(screen.header[0]), /connected/);
});

test('while the daemon is away the header says how stale the view is and that it is retrying', () => {
  let view = reduce(initialView('unix:/x'), { kind: 'event', nowMs: 1000, event: snapshotEvent() });
  view = reduce(view, { kind: 'disconnected', nowMs: 2000, code: 'unreachable', reason: 'connection refused', retryAtMs: 3000 });
  const screen = buildScreen(view, initialUi(1), 2000, computeLayout(80, 24, false));
  assert.match(text(screen.header[0]), /^conclave stale: no update for 1\.0s · disconnected, retrying in 1\.0s \(connection refused\)/);
});

test('before the first snapshot a failed connection is not stale, only disconnected', () => {
  const view = reduce(initialView('unix:/x'), { kind: 'disconnected', nowMs: 2000, code: 'unreachable', reason: 'connection refused', retryAtMs: 3000 });
  const screen = buildScreen(view, initialUi(1), 2000, computeLayout(80, 24, false));
  assert.match(text(screen.header[0]), /^conclave disconnected, retrying in 1\.0s \(connection refused\)/);
});

/** A healthy view (leader alpha, quorum ok, a leader change and log lines), then its daemon gone at 2000. */
function disconnectedView() {
  let view = reduce(initialView('unix:/x'), { kind: 'event', nowMs: 1000, event: snapshotEvent() });
  view = reduce(view, { kind: 'event', nowMs: 1500, event: event('leader-changed', { from: null, to: { id: idOf('alpha'), name: 'alpha' }, term: 3, fencingToken: 11, leaderlessMs: 0 }) });
  return reduce(view, { kind: 'disconnected', nowMs: 2000, code: 'unreachable', reason: 'connection refused', retryAtMs: 2500 });
}

function allSegments(screen: ReturnType<typeof buildScreen>) {
  return [...screen.header.flat(), ...screen.memberRows.flatMap((r) => r.segments), ...screen.chartLines.flat(), ...screen.timeline.flat(), ...screen.log.flat(), ...screen.footer];
}

test('a stale view is grey throughout and never green: only its stale notice keeps a colour', () => {
  const layout = computeLayout(100, 30, false);
  const fresh = buildScreen(reduce(initialView('unix:/x'), { kind: 'event', nowMs: 1000, event: snapshotEvent() }), initialUi(1), 1000, layout);
  assert.ok(allSegments(fresh).some((s) => s.colour === 'green'), 'a fresh healthy view shows green');
  const stale = buildScreen(disconnectedView(), initialUi(1), 13_500, layout);
  assert.deepEqual(allSegments(stale).filter((s) => s.colour === 'green'), []);
  const notice = stale.header[0]![1]!;
  assert.match(notice.text, /^stale: no update for 12s/);
  assert.equal(notice.colour, 'red');
  const daemonData = [...stale.header.flat().filter((s) => s !== notice), ...stale.memberRows.flatMap((r) => r.segments), ...stale.chartLines.flat(), ...stale.timeline.flat(), ...stale.log.flat()];
  assert.ok(stale.memberRows.length > 0 && stale.timeline.length > 0 && stale.log.length > 0);
  assert.deepEqual(daemonData.filter((s) => s.colour !== 'grey'), []);
  assert.match(stale.membersTitle, /\(stale\)/);
  assert.match(text(stale.header[1]), /^last known: leader alpha/);
});

test('the stale age moves with the render clock while the daemon stays away', () => {
  const layout = computeLayout(100, 30, false);
  const view = disconnectedView();
  assert.match(text(buildScreen(view, initialUi(1), 6500, layout).header[0]), /no update for 5\.0s/);
  assert.match(text(buildScreen(view, initialUi(1), 21_500, layout).header[0]), /no update for 20s/);
});

test("a stale view's leader reign ends at the last update: it is not known to go on", () => {
  let view = reduce(initialView('unix:/x'), { kind: 'event', nowMs: 1000, event: snapshotEvent() });
  view = reduce(view, { kind: 'polled', nowMs: 3000, status: status(), members: threeMembers() });
  view = reduce(view, { kind: 'disconnected', nowMs: 3500, code: 'unreachable', reason: 'connection refused', retryAtMs: 4000 });
  assert.match(text(buildScreen(view, initialUi(1), 60_000, computeLayout(100, 30, false)).header[1]), /leader alpha term 3 · token 11 for ≥2\.0s/);
});

test('a connected view that hears nothing for STALE_AFTER_MS turns stale too', () => {
  const view = reduce(initialView('unix:/x'), { kind: 'event', nowMs: 1000, event: snapshotEvent() });
  const layout = computeLayout(100, 30, false);
  assert.match(text(buildScreen(view, initialUi(1), 1000 + STALE_AFTER_MS - 1, layout).header[0]), /^conclave connected/);
  assert.match(text(buildScreen(view, initialUi(1), 1000 + STALE_AFTER_MS, layout).header[0]), /^conclave stale: no update for 3\.0s · connected, but the daemon is silent/);
});

test("the header shows the leader's remaining lease when viewing the leader, and an expired one in red", () => {
  const layout = computeLayout(120, 30, false);
  const header = (s: ReturnType<typeof status>) => buildScreen(reduce(initialView('unix:/x'), { kind: 'event', nowMs: 1000, event: snapshotEvent(threeMembers(), s) }), initialUi(1), 1000, layout).header[1];
  assert.match(text(header(status({ leaseRemainingMs: 2600 }))), /token 11 for ≥0\.0s · lease 2\.6s · 3\/3 reachable/);
  assert.doesNotMatch(text(header(status({ role: 'follower', leaseRemainingMs: null }))), /lease/);
  const expired = header(status({ leaseRemainingMs: 0 })).find((s) => s.text.startsWith('lease'));
  assert.deepEqual(expired, { text: 'lease expired', colour: 'red', bold: true });
});

test('a role change drops the lease until the next poll brings the new one', () => {
  let view = reduce(initialView('unix:/x'), { kind: 'event', nowMs: 1000, event: snapshotEvent() });
  view = reduce(view, { kind: 'event', nowMs: 1100, event: event('role-changed', { from: 'leader', to: 'follower', term: 4 }) });
  assert.equal(view.status?.leaseRemainingMs, null);
  assert.doesNotMatch(text(buildScreen(view, initialUi(1), 1100, computeLayout(120, 30, false)).header[1]), /lease/);
});

test('a node short of bootstrapExpect members says so in a warning line', () => {
  const waiting = status({ role: 'follower', leader: null, leaseRemainingMs: null, bootstrap: { expect: 3, seen: 2, complete: false } });
  const view = reduce(initialView('unix:/x'), { kind: 'event', nowMs: 1000, event: snapshotEvent(threeMembers(), waiting) });
  const banner = bannerFor(view, 1000);
  assert.equal(banner?.tone, 'warn');
  assert.match(banner?.text ?? '', /^waiting for the cluster: seen 2 of 3 members \(bootstrapExpect\)/);
  assert.deepEqual(buildScreen(view, initialUi(1), 1000, computeLayout(100, 30, true)).banner, banner);
  // Complete, or from a daemon too old to report it: no line.
  assert.equal(bannerFor(reduce(initialView('unix:/x'), { kind: 'event', nowMs: 1000, event: snapshotEvent() }), 1000), null);
  const { bootstrap: _omitted, ...old } = waiting;
  assert.equal(bannerFor(reduce(initialView('unix:/x'), { kind: 'event', nowMs: 1000, event: snapshotEvent(threeMembers(), old as typeof waiting) }), 1000), null);
  // A stale view raises no line of its own: the header says it is stale.
  const gone = reduce(view, { kind: 'disconnected', nowMs: 2000, code: 'unreachable', reason: 'connection refused', retryAtMs: 3000 });
  assert.equal(bannerFor(gone, 2000), null);
});

test('more members live than bootstrapExpect keeps to one cluster: a warning line naming the value to set', () => {
  const five = [...threeMembers(), member('delta'), member('echo', { state: 'suspect' }), member('foxtrot', { state: 'dead' })];
  const view = reduce(initialView('unix:/x'), { kind: 'event', nowMs: 1000, event: snapshotEvent(five, status({ security: { psk: false } })) });
  const banner = bannerFor(view, 1000);
  assert.deepEqual(banner, { text: '5 members, bootstrapExpect 3: a new cluster could split in two; set it to 5', tone: 'warn' });
  assert.deepEqual(buildScreen(view, initialUi(1), 1000, computeLayout(100, 30, true)).banner, banner);
  // Enough: 4 keeps five to one cluster; three members live (the others dead): nothing to say.
  const enough = reduce(initialView('unix:/x'), { kind: 'event', nowMs: 1000, event: snapshotEvent(five, status({ bootstrap: { expect: 4, seen: 5, complete: true }, security: { psk: true } })) });
  assert.equal(bannerFor(enough, 1000), null);
  const fewer = [...threeMembers(), member('delta', { state: 'dead' }), member('echo', { state: 'left' })];
  assert.equal(bannerFor(reduce(initialView('unix:/x'), { kind: 'event', nowMs: 1000, event: snapshotEvent(fewer, status({ security: { psk: true } })) }), 1000), null);
});

test('a cluster without a pre-shared key says so in a warning line, after the more urgent ones', () => {
  const snapshot = (s: ReturnType<typeof status>) => reduce(initialView('unix:/x'), { kind: 'event', nowMs: 1000, event: snapshotEvent(threeMembers(), s) });
  const open = snapshot(status({ security: { psk: false } }));
  const banner = bannerFor(open, 1000);
  assert.deepEqual(banner, { text: 'open cluster: no pre-shared key, anyone on the LAN can join (run conclave init)', tone: 'warn' });
  assert.deepEqual(buildScreen(open, initialUi(1), 1000, computeLayout(100, 30, true)).banner, banner);
  // A key, or a daemon too old to say: no line.
  assert.equal(bannerFor(snapshot(status({ security: { psk: true } })), 1000), null);
  const { security: _omitted, ...old } = status({ security: { psk: false } });
  assert.equal(bannerFor(snapshot(old as ReturnType<typeof status>), 1000), null);
  // Waiting for bootstrap says more about why nobody leads: it takes the line.
  const waiting = snapshot(status({ role: 'follower', leader: null, leaseRemainingMs: null, bootstrap: { expect: 3, seen: 2, complete: false }, security: { psk: false } }));
  assert.match(bannerFor(waiting, 1000)?.text ?? '', /^waiting for the cluster/);
  // A stale view raises no line of its own.
  assert.equal(bannerFor(reduce(open, { kind: 'disconnected', nowMs: 2000, code: 'unreachable', reason: 'connection refused', retryAtMs: 3000 }), 2000), null);
});

test('a daemon that cannot write its election state says so in an alarm line, above every other', () => {
  const snapshot = (s: ReturnType<typeof status>) => reduce(initialView('unix:/x'), { kind: 'event', nowMs: 1000, event: snapshotEvent(threeMembers(), s) });
  const persistError = { path: '/var/lib/conclave/bully-state.json', code: 'ENOSPC', message: 'cannot write /var/lib/conclave/bully-state.json: ENOSPC' };
  const failing = snapshot(status({ name: 'bravo', persistError, security: { psk: false } }));
  assert.deepEqual(bannerFor(failing, 1000), { text: 'bravo cannot write bully-state.json (ENOSPC): it takes no part in elections until it can', tone: 'alarm' });
  assert.deepEqual(bannerFor(snapshot(status({ persistError: null, security: { psk: true } })), 1000), null);
});

test('the screen names the viewed node, its role and its leader for r', () => {
  const view = reduce(initialView('unix:/x'), { kind: 'event', nowMs: 1000, event: snapshotEvent(threeMembers(), status({ id: idOf('bravo'), name: 'bravo', role: 'follower' })) });
  assert.deepEqual(buildScreen(view, initialUi(1), 1000, computeLayout(100, 30, false)).viewed, {
    self: { id: idOf('bravo'), name: 'bravo' },
    role: 'follower',
    leader: { id: idOf('alpha'), name: 'alpha' },
  });
  assert.equal(buildScreen(initialView('unix:/x'), initialUi(1), 0, computeLayout(100, 30, false)).viewed, null);
});

test('the confirmation on a follower names the leader that is asked to resign', () => {
  const ui = { ...initialUi(1), mode: 'confirm' as const, pending: { kind: 'resign' as const, leader: { id: idOf('alpha'), name: 'alpha' }, relayed: true } };
  const screen = buildScreen(initialView('unix:/x'), ui, 0, computeLayout(100, 30, false));
  assert.equal(text(screen.footer), 'ask the leader (alpha) to resign? y/n');
});

test('the split-brain banner appears only after the grace period and names both sides', () => {
  let view = reduce(initialView('unix:/x'), { kind: 'event', nowMs: 1000, event: snapshotEvent() });
  view = reduce(view, { kind: 'event', nowMs: 2000, event: event('member-updated', { member: member('charlie', { role: 'leader', leader: idOf('charlie') }) }) });
  const layout = computeLayout(100, 30, true);
  assert.equal(buildScreen(view, initialUi(1), 2500, layout).banner, null);
  const banner = buildScreen(view, initialUi(1), 3500, layout).banner;
  assert.equal(banner?.tone, 'alarm');
  assert.match(banner?.text ?? '', /^SPLIT BRAIN for 1\.5s: alpha and charlie both claim to lead \(followers: alpha 2, charlie 1\)$/);
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

test('under raft the members table shows each vote and, viewing the leader, each follower\'s lag coloured by size', () => {
  const rows = memberRows(raftMembers().map((m) => memberView(m.name, m)), raftStatus(), 0, 120);
  const header = headerLine(118, true);
  assert.match(header, /ROLE\s+VOTE\s+LAG\s+TERM/);
  const cells = Object.fromEntries(rows.map((r) => [r.id, r.segments.map((s) => s.text.trim())]));
  const voteAt = columnsFor(120, true).findIndex((c) => c.key === 'vote');
  assert.deepEqual([idOf('alpha'), idOf('bravo'), idOf('charlie')].map((id) => cells[id]!.slice(voteAt, voteAt + 2)), [['voter', '-'], ['voter', '0'], ['learner', '140']]);
  const lagColour = (id: string) => rows.find((r) => r.id === id)!.segments[voteAt + 1]!.colour;
  assert.equal(lagColour(idOf('bravo')), 'green');
  assert.equal(lagColour(idOf('charlie')), 'red');
  // A follower knows no lag: the column stays, blank of numbers.
  const follower = memberRows(raftMembers().map((m) => memberView(m.name, m)), raftStatus({ role: 'follower', raft: { ...raftStatus().raft!, peers: [] } }), 0, 120);
  assert.deepEqual(follower.map((r) => r.segments[voteAt + 1]!.text.trim()), ['-', '-', '-']);
  // Bully has neither column.
  assert.doesNotMatch(headerLine(118), /VOTE|LAG/);
});

test('raft member rows are never wider than the table, at any width', () => {
  const members = raftMembers().map((m) => memberView(m.name, m));
  for (let width = 30; width <= 200; width++) {
    for (const row of memberRows(members, raftStatus(), 5000, width)) assert.ok(text(row.segments).length <= width, `width ${width}`);
  }
});

test('under raft the header shows the commit index', () => {
  const view = reduce(initialView('unix:/x'), { kind: 'event', nowMs: 1000, event: snapshotEvent(raftMembers(), raftStatus()) });
  const second = text(buildScreen(view, initialUi(1), 1000, computeLayout(120, 30, false)).header[1]);
  assert.match(second, /term 5 · token 11 .*· commit 200 · /);
  const bully = reduce(initialView('unix:/x'), { kind: 'event', nowMs: 1000, event: snapshotEvent() });
  assert.doesNotMatch(text(buildScreen(bully, initialUi(1), 1000, computeLayout(120, 30, false)).header[1]), /commit/);
});

test('under raft a leader of an older term is a stale leader (a warning, after the grace period), not a split brain', () => {
  let view = reduce(initialView('unix:/x'), { kind: 'event', nowMs: 1000, event: snapshotEvent(raftMembers(), raftStatus()) });
  const old = member('charlie', { protocol: 'raft', role: 'leader', term: 4, leader: idOf('charlie') });
  view = reduce(view, { kind: 'event', nowMs: 2000, event: event('member-updated', { member: old }) });
  assert.equal(view.disagreeSinceMs, null);
  assert.equal(view.staleLeaderSinceMs, 2000);
  const layout = computeLayout(120, 30, true);
  assert.equal(buildScreen(view, initialUi(1), 2500, layout).banner, null);
  const banner = bannerFor(view, 3500);
  assert.equal(banner?.tone, 'warn');
  assert.match(banner?.text ?? '', /^STALE LEADER for 1\.5s: charlie still leads term 4; the cluster is at term 5/);
  view = reduce(view, { kind: 'event', nowMs: 4000, event: event('member-updated', { member: { ...old, role: 'follower', term: 5, leader: idOf('alpha') } }) });
  assert.equal(view.staleLeaderSinceMs, null);
});

test('the timeline shows raft term and configuration changes between leader changes, newest first', () => {
  const rows = timelineRows(
    [
      { kind: 'leader', atMs: 1000, from: null, to: { id: 'a', name: 'alpha' }, term: 4, fencingToken: 1, leaderlessMs: 0 },
      { kind: 'term', atMs: 2000, from: 4, to: 5 },
      { kind: 'configuration', atMs: 3000, index: 57, voters: [{ id: 'a', name: 'alpha' }, { id: 'b', name: 'bravo' }], learners: [{ id: 'c', name: 'charlie' }] },
    ],
    44,
    5,
  );
  assert.match(text(rows[0]!).trimEnd(), /config @57: alpha,bravo \+charlie$/);
  assert.equal(rows[0]![1]!.colour, 'magenta');
  assert.match(text(rows[1]!), /term 4 → 5$/);
  assert.match(text(rows[2]!), /none\s*→alpha\s+t4 0ms$/);
  for (const row of rows) assert.ok(text(row).length <= 44);
  assert.match(text(timelineRows([{ kind: 'configuration', atMs: 0, index: 57, voters: [{ id: 'a', name: 'a-long-name' }, { id: 'b', name: 'another-long-one' }], learners: [] }], 30, 1)[0]!), /…$/, 'cut to the panel');
});

test('the raft events read as sentences', () => {
  const line = (e: Parameters<typeof describeEvent>[0]) => describeEvent(e).text;
  assert.equal(line(event('stepped-down', { term: 4, reason: 'check-quorum' })), 'stepped down in term 4: lost contact with a majority (check-quorum)');
  assert.equal(describeEvent(event('stepped-down', { term: 4, reason: 'transfer' })).tone, 'info');
  assert.equal(
    line(event('configuration-changed', { index: 57, voters: [{ id: 'a', name: 'alpha' }, { id: 'b', name: 'bravo' }], learners: [{ id: 'c', name: 'charlie' }] })),
    'configuration changed at index 57: voters alpha, bravo; learners charlie',
  );
  assert.equal(line(event('raft-snapshot', { action: 'sent', index: 90, term: 5, peer: { id: 'c', name: 'charlie' } })), 'snapshot at index 90 (term 5) sent to charlie: it was too far behind for the log');
  assert.equal(line(event('raft-snapshot', { action: 'taken', index: 90, term: 5, peer: null })), 'snapshot taken at index 90 (term 5): log compacted');
  assert.match(line(event('heartbeat-late', { lateMs: 312.4 })), /^heartbeats went out 312 ms late/);
});

test('raft: the elections box shows the store and each named election\'s leader, token and waiting candidates', () => {
  const leader = (name: string, value: string, token: number) => ({ name, key: `conclave/elections/${name}/s`, session: 's', value, token });
  const polled = reduce(initialView('x'), {
    kind: 'polled',
    nowMs: 1000,
    status: raftStatus({ raft: { ...raftStatus().raft!, kv: { revision: 57, keys: 9 } } }),
    members: raftMembers(),
    elections: [
      { name: 'scheduler', leader: leader('scheduler', 'bravo', 41), candidates: 3 },
      { name: 'billing-export', leader: null, candidates: 0 },
    ],
  });
  assert.equal(electionRowsFor(polled), 2);
  const screen = buildScreen(polled, initialUi(1), 1000, computeLayout(100, 30, false, electionRowsFor(polled)));
  assert.equal(screen.electionsTitle, ' store rev 57 · 9 keys · 2 elections ');
  assert.deepEqual(screen.electionLines.map((l) => text(l).trimEnd()), ['scheduler       led by bravo (token 41) · 2 waiting', 'billing-export  no leader']);
  const many = reduce(polled, { kind: 'polled', nowMs: 2000, status: polled.status!, members: raftMembers(), elections: Array.from({ length: 7 }, (_, i) => ({ name: `e${i}`, leader: leader(`e${i}`, 'alpha', i + 1), candidates: 1 })) });
  const cut = buildScreen(many, initialUi(1), 2000, computeLayout(100, 30, false, electionRowsFor(many)));
  assert.equal(cut.electionLines.length, 4);
  assert.equal(text(cut.electionLines[3]!), '… and 4 more elections: conclave elections ls');
  assert.equal(electionRowsFor(reduce(initialView('y'), { kind: 'polled', nowMs: 0, status: status(), members: threeMembers() })), 0, 'none under bully');
});
