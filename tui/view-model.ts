/**
 * The view-model: one daemon's view plus the UI state, turned into everything the widgets draw
 * (text segments with colours). Pure; widgets only render what this returns.
 */
import { basename } from 'node:path';
import { expectTooLow, expectTooLowBanner } from '../shared/bootstrap-expect.js';
import { formatDuration } from '../shared/format.js';
import type { BootstrapStatus, NodeRef, SecurityStatus, StatusResponse } from '../daemon/api/types.js';
import { MEMBER_STATES, type ProtocolName } from '../protocols/types.js';
import { leadershipChart } from './chart.js';
import type { Layout } from './layout.js';
import { scrollWindow } from './layout.js';
import { headerLine, memberRows, orderMembers, STATE_COLOURS, type Colour, type MemberRow, type Segment } from './members-table.js';
import type { DaemonView, LogEntry, LogTone, MemberView, TimelineEntry } from './model.js';
import { findDisagreement, findStaleLeaders, isSplitBrain, type Disagreement, type StaleLeader } from './split-brain.js';
import { staleness, type Staleness } from './stale.js';
import { cell, clockTime } from './text.js';
import { describeCommand, selectedIndex, type UiState, type ViewedNode } from './ui.js';

export type { Colour, Segment } from './members-table.js';

export interface ScreenModel {
  header: [Segment[], Segment[]];
  /** The line under the header (see bannerFor), or null. */
  banner: Banner | null;
  membersTitle: string;
  membersHeader: string;
  /** Only the rows that fit, from `membersFirst`. */
  memberRows: MemberRow[];
  /** Index into `memberRows` of the selected member, or -1. */
  selectedRow: number;
  membersFirst: number;
  /** Every member in display order (what ↑/↓ and `t` work on). */
  memberOrder: NodeRef[];
  /** Raft: the store's revision and size, and each named election's leader (the box shows when the layout gives it room). */
  electionsTitle: string;
  electionLines: Segment[][];
  chartTitle: string;
  chartLines: Segment[][];
  timelineTitle: string;
  timeline: Segment[][];
  logTitle: string;
  log: Segment[][];
  footer: Segment[];
  help: string[] | null;
  /** The viewed daemon, for `r` (see ui.ts). */
  viewed: ViewedNode | null;
}

export interface Banner {
  text: string;
  /** `alarm`: white on red (split brain); `warn`: yellow (a node waiting to bootstrap, an open cluster). */
  tone: 'alarm' | 'warn';
}

const TONE_COLOURS: Readonly<Record<LogTone, Colour | null>> = { info: null, good: 'green', warn: 'yellow', bad: 'red' };

export function buildScreen(view: DaemonView, ui: UiState, nowMs: number, layout: Layout): ScreenModel {
  const stale = staleness(view, nowMs);
  // A stale view is greyed out whole: it may no longer be true, so nothing in it may look healthy.
  const paint = stale ? greyOut : (segments: Segment[]) => segments;
  const innerMembers = layout.members.width - 2;
  const rows = memberRows(view.members.values(), view.status, nowMs, innerMembers);
  const memberOrder = orderMembers(view.members.values(), view.status).map((m) => ({ id: m.id, name: m.name }));
  const selected = selectedIndex(ui, memberOrder);
  const membersFirst = scrollWindow(rows.length, Math.max(0, selected), layout.memberRows, ui.membersFirst);
  const visible = rows.slice(membersFirst, membersFirst + Math.max(0, layout.memberRows));
  const chartCells = Math.max(0, layout.chart.width - 2 - CHART_LABEL_WIDTH);
  const chart = leadershipChart(view.leaderHistory, view.electionStarts, nowMs, chartCells);
  const filtered = view.log.filter((entry) => matchesFilter(entry.type, ui.filter));
  const logWindow = windowFromEnd(filtered, layout.logRows, ui.logBack);
  const shownAfter = membersFirst + visible.length;
  return {
    header: headerLines(view, ui, nowMs, stale),
    banner: bannerFor(view, nowMs),
    membersTitle: ` members ${view.members.size}${rows.length > visible.length ? ` (${membersFirst + 1}-${shownAfter})` : ''}${stale ? ' (stale)' : ''} `,
    membersHeader: headerLine(innerMembers, view.status?.raft !== undefined),
    memberRows: visible.map((row) => ({ ...row, segments: paint(row.segments) })),
    selectedRow: selected === -1 ? -1 : selected - membersFirst,
    membersFirst,
    memberOrder,
    electionsTitle: electionsTitle(view),
    electionLines: electionLines(view, layout.elections.width - 2, layout.elections.height - 2).map(paint),
    chartTitle: ` leaderless time and elections, ${formatDuration(chart.bucketMs)}/column: ${chart.leaderlessMs} ms, ${plural(chart.electionCount, 'election')} `,
    chartLines: [
      paint([{ text: cell('no leader', CHART_LABEL_WIDTH), colour: 'grey' }, { text: chart.leaderless, colour: 'red' }]),
      paint([{ text: cell('elections', CHART_LABEL_WIDTH), colour: 'grey' }, { text: chart.elections, colour: 'yellow' }]),
    ],
    timelineTitle: view.status?.protocol === 'raft' ? ` leaders, terms, configurations ${view.timeline.length} ` : ` leader changes ${view.timeline.length} `,
    timeline: timelineRows(view.timeline, layout.timeline.width - 2, layout.timeline.height - 2).map(paint),
    logTitle: ` events${ui.filter ? ` [${ui.filter}] ${filtered.length}/${view.log.length}` : ` ${view.log.length}`}${ui.logBack > 0 ? ' (scrolled, PgDn)' : ''} `,
    log: logWindow.map((entry) => paint(logRow(entry))),
    footer: footerLine(ui),
    help: ui.mode === 'help' ? HELP : null,
    viewed: viewedNode(view.status),
  };
}

/** Lines the elections box wants: Raft only, one per election (one saying there are none), at least one. */
export function electionRowsFor(view: DaemonView): number {
  if (view.status?.protocol !== 'raft') return 0;
  return Math.max(1, view.elections?.length ?? 1);
}

function electionsTitle(view: DaemonView): string {
  const kv = view.status?.raft?.kv;
  const store = kv ? `store rev ${kv.revision} · ${plural(kv.keys, 'key')}` : 'store';
  return ` ${store} · ${plural(view.elections?.length ?? 0, 'election')} `;
}

/** `scheduler   led by n2 (token 41) · 2 waiting`; elections beyond the box say how many more there are. */
function electionLines(view: DaemonView, width: number, rows: number): Segment[][] {
  if (rows <= 0) return [];
  const elections = view.elections;
  if (elections === null) return [[{ text: cell('elections not read yet (raft only)', width), colour: 'grey' }]];
  if (elections.length === 0) return [[{ text: cell('no named elections: conclave elections campaign NAME starts one', width), colour: 'grey' }]];
  const nameWidth = Math.min(24, Math.max(...elections.map((e) => e.name.length)));
  const shown = elections.length > rows ? elections.slice(0, rows - 1) : elections;
  const lines = shown.map((e): Segment[] => {
    const waiting = e.candidates - (e.leader ? 1 : 0);
    const leader: Segment = e.leader
      ? { text: `led by ${e.leader.value === '' ? `session ${e.leader.session ?? '?'}` : e.leader.value} (token ${e.leader.token})`, colour: 'cyan' }
      : { text: 'no leader', colour: 'red' };
    return [{ text: `${cell(e.name, nameWidth)}  `, colour: null }, leader, { text: waiting > 0 ? ` · ${waiting} waiting` : '', colour: 'grey' }];
  });
  if (shown.length < elections.length) lines.push([{ text: `… and ${plural(elections.length - shown.length, 'more election')}: conclave elections ls`, colour: 'grey' }]);
  return lines;
}

/** Every colour turns grey (bold stays, so the screen keeps its shape). */
function greyOut(segments: Segment[]): Segment[] {
  return segments.map((s) => ({ ...s, colour: 'grey' }));
}

/**
 * The line under the header: the split-brain alarm, else a node waiting for `bootstrapExpect`
 * members, else more members live than `bootstrapExpect` keeps to one cluster at a cold start,
 * else a cluster open to anyone (no pre-shared key). None on a stale view: its claims
 * are as old as its data, and the header says so.
 */
export function bannerFor(view: DaemonView, nowMs: number): Banner | null {
  if (staleness(view, nowMs)) return null;
  const split = isSplitBrain(view.disagreeSinceMs, nowMs) ? findDisagreement(view.members.values(), view.status?.protocol ?? null) : null;
  if (split) return { text: bannerText(split, nowMs - (view.disagreeSinceMs ?? nowMs)), tone: 'alarm' };
  // Raft refuses whatever a stale leader sends, so it warns rather than alarms; the same grace lets a hand-off pass.
  const stale = isSplitBrain(view.staleLeaderSinceMs, nowMs) ? findStaleLeaders(view.members.values(), view.status?.protocol ?? null) : [];
  if (stale.length > 0) return { text: staleLeaderText(stale, nowMs - (view.staleLeaderSinceMs ?? nowMs)), tone: 'warn' };
  const persist = view.status?.persistError;
  if (view.status && persist) {
    return { text: `${view.status.name} cannot write ${basename(persist.path)} (${persist.code ?? 'error'}): it takes no part in elections until it can`, tone: 'alarm' };
  }
  // Absent from a daemon older than the field: then nothing is known to wait for.
  const boot = view.status?.bootstrap as BootstrapStatus | undefined;
  if (view.status && boot && !boot.complete) {
    return { text: `waiting for the cluster: seen ${boot.seen} of ${boot.expect} members (bootstrapExpect); ${view.status.name} will not lead before`, tone: 'warn' };
  }
  const live = [...view.members.values()].filter((m) => m.state === 'alive' || m.state === 'suspect').length;
  const tooLow = view.status && boot ? expectTooLow(boot.expect, live) : null;
  if (tooLow) return { text: expectTooLowBanner(tooLow), tone: 'warn' };
  const security = view.status?.security as SecurityStatus | undefined;
  if (view.status && security && !security.psk) {
    // Fits 80 columns: mDNS announces the cluster name, so knowing it is no bar.
    return { text: 'open cluster: no pre-shared key, anyone on the LAN can join (run conclave init)', tone: 'warn' };
  }
  return null;
}

function viewedNode(s: StatusResponse | null): ViewedNode | null {
  return s ? { self: { id: s.id, name: s.name }, role: s.role, leader: s.leader } : null;
}

const CHART_LABEL_WIDTH = 10;

function headerLines(view: DaemonView, ui: UiState, nowMs: number, stale: Staleness | null): [Segment[], Segment[]] {
  const s = view.status;
  const where = ui.viewCount > 1 ? ` [${ui.viewIndex + 1}/${ui.viewCount}, Tab]` : '';
  // Only the stale notice and the dashboard's own state (PAUSED) keep their colour on a stale view.
  const dim = stale ? greyOut : (segments: Segment[]) => segments;
  // Connection state first: it must survive a narrow terminal cutting the line short.
  const first: Segment[] = [
    ...dim([{ text: 'conclave ', colour: 'cyan', bold: true }]),
    stale ? staleNotice(view, nowMs, stale) : connectionSegment(view, nowMs),
    ...(ui.paused ? [{ text: ' PAUSED (p)', colour: 'yellow', bold: true } as const] : []),
    ...dim([{ text: s ? ` · ${s.cluster} · ${protocolLabel(s)} · viewing ${s.name} (${s.role})${where} · ${view.address}` : ` · ${view.address}${where}`, colour: null }]),
  ];
  if (!s) return [first, [{ text: 'waiting for the first snapshot…', colour: 'grey' }]];
  // Durations end where the knowledge ends: a stale view does not know the leader still reigns.
  const asOfMs = stale ? nowMs - stale.ageMs : nowMs;
  const q = quorum(view.members.values(), s.protocol);
  const since = view.leaderSinceMs === null ? '' : ` for ${view.leaderSinceExact ? '' : '≥'}${formatDuration(asOfMs - view.leaderSinceMs)}`;
  const leaderless = leaderlessFor(view, asOfMs);
  const second: Segment[] = [
    ...(stale ? [{ text: 'last known: ', colour: null }] : []),
    s.leader
      ? { text: `leader ${s.leader.name}`, colour: 'cyan', bold: true }
      : { text: `NO LEADER${leaderless}`, colour: 'red', bold: true },
    { text: ` term ${s.term} · token ${s.fencingToken}${s.leader ? since : ''} · `, colour: null },
    // Raft: how far the log has committed, as last polled (it moves with every entry, not with events).
    ...(s.raft ? [{ text: `commit ${s.raft.commitIndex} · `, colour: null }] : []),
    ...leaseSegments(s),
    { text: `${q.reachable}/${q.known} reachable, ${q.ok ? 'quorum ok' : 'NO QUORUM'}`, colour: q.ok ? 'green' : 'red' },
  ];
  return [first, dim(second)];
}

/** On the leader, how long its lease still runs, as last polled; nothing from a daemon too old to say. */
function leaseSegments(s: StatusResponse): Segment[] {
  if (s.role !== 'leader' || typeof s.leaseRemainingMs !== 'number') return [];
  const lease: Segment = s.leaseRemainingMs > 0 ? { text: `lease ${formatDuration(s.leaseRemainingMs)}`, colour: null } : { text: 'lease expired', colour: 'red', bold: true };
  return [lease, { text: ' · ', colour: null }];
}

/** `stale: no update for 12s · disconnected, retrying in 1.0s (connection refused)`. */
function staleNotice(view: DaemonView, nowMs: number, stale: Staleness): Segment {
  const connection = view.connection.kind === 'connected' ? 'connected, but the daemon is silent' : connectionSegment(view, nowMs).text;
  return { text: `stale: no update for ${formatDuration(stale.ageMs)} · ${connection}`, colour: 'red', bold: true };
}

function connectionSegment(view: DaemonView, nowMs: number): Segment {
  const c = view.connection;
  switch (c.kind) {
    case 'connecting':
      return { text: 'connecting…', colour: 'yellow' };
    case 'connected':
      return { text: 'connected', colour: 'green' };
    case 'retrying':
      return { text: `disconnected, retrying in ${formatDuration(Math.max(0, c.retryAtMs - nowMs))} (${c.reason})`, colour: 'red', bold: true };
  }
}

function leaderlessFor(view: DaemonView, nowMs: number): string {
  const last = view.leaderHistory[view.leaderHistory.length - 1];
  return last && last.leader === null ? ` for ${formatDuration(nowMs - last.atMs)}` : '';
}

/** Live members over known ones (left and other-protocol members do not count); ok at a strict majority. */
export function quorum(members: Iterable<MemberView>, protocol: ProtocolName): { reachable: number; known: number; ok: boolean } {
  let known = 0;
  let reachable = 0;
  for (const m of members) {
    if (m.state === 'left' || m.protocol !== protocol) continue;
    known++;
    if (m.state === 'alive') reachable++;
  }
  return { reachable, known, ok: known > 0 && reachable * 2 > known };
}

/** One line that names who disagrees: the claimants when two or more lead, else the camps. */
export function bannerText(d: Disagreement, forMs: number): string {
  const camps = d.camps.map((c) => `${c.leader.name} ${c.followers.length}`).join(', ');
  const what =
    d.claimants.length >= 2
      ? `${joinNames(d.claimants.map((c) => c.name))} ${d.claimants.length === 2 ? 'both' : 'all'} claim to lead${d.camps.length >= 2 ? ` (followers: ${camps})` : ''}`
      : `members follow different leaders: ${d.camps.map((c) => `${c.leader.name} (${c.followers.join(', ')})`).join(', ')}`;
  return `SPLIT BRAIN for ${formatDuration(forMs)}: ${what}`;
}

/** `STALE LEADER for 3.0s: alpha still leads term 4; the cluster is at term 5`. */
export function staleLeaderText(stale: readonly StaleLeader[], forMs: number): string {
  const who = stale.map((s) => `${s.leader.name} still leads term ${s.term}`).join(', ');
  return `STALE LEADER for ${formatDuration(forMs)}: ${who}; the cluster is at term ${stale[0]!.currentTerm} (not split brain: its term is over)`;
}

function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

function joinNames(names: string[]): string {
  return names.length <= 1 ? names.join('') : `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]}`;
}

/**
 * Newest first. A leader change shows its gap, green when there was none, yellow under a second,
 * red above; under Raft a term change and a configuration change (voters, then `+` learners) get
 * a line of their own.
 */
export function timelineRows(timeline: readonly TimelineEntry[], width: number, rows: number): Segment[][] {
  const nameWidth = Math.max(4, Math.floor((width - 21) / 2));
  return timeline
    .slice(-Math.max(0, rows))
    .reverse()
    .map((c): Segment[] => {
      if (c.kind === 'term') {
        return [
          { text: `${clockTime(c.atMs)} `, colour: 'grey' },
          { text: `term ${c.from} → ${c.to}`, colour: 'yellow' },
        ];
      }
      if (c.kind === 'configuration') {
        const names = c.voters.map((v) => v.name).join(',') + (c.learners.length > 0 ? ` +${c.learners.map((l) => l.name).join(',')}` : '');
        return [
          { text: `${clockTime(c.atMs)} `, colour: 'grey' },
          { text: cell(`config @${c.index}: ${names || 'none'}`, Math.max(0, width - 9)), colour: 'magenta' },
        ];
      }
      const from = c.from?.name ?? 'none';
      const to = c.to?.name ?? 'none';
      return [
        { text: `${clockTime(c.atMs)} `, colour: 'grey' },
        { text: `${cell(from, nameWidth)}→${cell(to, nameWidth)} t${c.term} `, colour: c.to ? null : 'red' },
        { text: `${c.leaderlessMs}ms`, colour: c.leaderlessMs === 0 ? 'green' : c.leaderlessMs < 1000 ? 'yellow' : 'red' },
      ];
    });
}

/**
 * Filter by event type: comma- or space-separated terms; an entry shows when its type contains any
 * plain term (or there is none) and no `!term`. Case-insensitive.
 */
export function matchesFilter(type: string, filter: string): boolean {
  const terms = filter.toLowerCase().split(/[\s,]+/).filter(Boolean);
  const t = type.toLowerCase();
  const include = terms.filter((x) => !x.startsWith('!'));
  const exclude = terms.filter((x) => x.startsWith('!') && x.length > 1).map((x) => x.slice(1));
  return (include.length === 0 || include.some((x) => t.includes(x))) && !exclude.some((x) => t.includes(x));
}

/** The `rows` entries ending `back` entries before the newest (clamped to the oldest page). */
export function windowFromEnd<T>(items: readonly T[], rows: number, back: number): T[] {
  const visible = Math.max(0, rows);
  const end = Math.max(Math.min(visible, items.length), items.length - Math.max(0, back));
  return items.slice(Math.max(0, end - visible), end);
}

function logRow(entry: LogEntry): Segment[] {
  return [
    { text: `${clockTime(entry.atMs)} `, colour: 'grey' },
    { text: entry.text, colour: TONE_COLOURS[entry.tone] },
  ];
}

function footerLine(ui: UiState): Segment[] {
  if (ui.mode === 'confirm' && ui.pending) return [{ text: `${describeCommand(ui.pending)}? y/n`, colour: 'yellow', bold: true }];
  if (ui.mode === 'filter') return [{ text: `filter events by type: ${ui.filterDraft}_`, colour: 'cyan' }, { text: '  (Enter apply, Esc cancel, !type hides)', colour: 'grey' }];
  if (ui.message) return [{ text: ui.message.text, colour: ui.message.tone === 'good' ? 'green' : ui.message.tone === 'bad' ? 'red' : null, bold: true }];
  return [{ text: '↑↓ select  t transfer  r resign  e elect  / filter  p pause  Tab view  ? help  q quit', colour: 'grey' }];
}

const HELP = [
  'Keys',
  '  ↑/↓ j/k   select a member (Home/End: first/last)',
  '  t         transfer leadership to the selected member (y/n)',
  '  r         ask the leader to resign (y/n); a follower relays it to the leader',
  '  e         start an election (y/n)',
  '  /         filter events by type: "leader,election", "!updated" hides',
  '  PgUp/PgDn scroll the event log',
  '  p         pause / resume the display (events are still collected)',
  '  Tab       next daemon (with several --api)',
  '  q Ctrl-C  quit',
  '',
  'Members',
  '  leader first; * after a name: the daemon being viewed',
  '  ! follows another leader or claims to lead   ~ runs another protocol',
  '  raft: VOTE voter/learner; LAG entries behind (when viewing the leader)',
  `  ${MEMBER_STATES.map((state) => `${state} ${STATE_COLOURS[state]}`).join(', ')}`,
  '  all grey: stale, the daemon sent nothing lately (the header says since when)',
  '',
  'any key closes this help',
];

/** The protocol in the header: `raft`, then its era and a switch under way once the daemon reports them. */
function protocolLabel(s: NonNullable<DaemonView['status']>): string {
  const e = s.era;
  if (!e) return s.protocol;
  const asks = e.requested !== s.protocol ? `, asks ${e.requested}` : '';
  const switching = e.switch ? `, switching to ${e.switch.to} ${e.switch.holding}/${e.switch.needed}` : '';
  return `${s.protocol} era ${e.era}${asks}${switching}`;
}
