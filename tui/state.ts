/**
 * The reducer: folds control-API events, polls and connection changes into a DaemonView. Pure:
 * the caller passes the dashboard clock (`nowMs`) with every action.
 */
import type { ApiEvent, ElectionsResponse, MemberResponse, StatusResponse, StreamEvent } from '../daemon/api/types.js';
import type { MemberState, NodeId } from '../protocols/types.js';
import { describeEvent } from './describe.js';
import {
  MAX_ELECTION_STARTS,
  MAX_LEADER_SAMPLES,
  MAX_LOG_ENTRIES,
  MAX_TIMELINE_ENTRIES,
  type DaemonView,
  type LogTone,
  type MemberView,
  type TimelineEntry,
} from './model.js';
import { findDisagreement, findStaleLeaders } from './split-brain.js';

export type Action =
  /** An event as the API client delivers it: checked against its type (daemon/api/event-codec.ts). */
  | { kind: 'event'; nowMs: number; event: StreamEvent }
  /** `elections`: Raft's named elections, when the link read them with the poll. */
  | { kind: 'polled'; nowMs: number; status: StatusResponse; members: readonly MemberResponse[]; elections?: ElectionsResponse['elections'] | null }
  | { kind: 'disconnected'; nowMs: number; code: string; reason: string; retryAtMs: number }
  /** A line from the dashboard itself or a caller's log source. */
  | { kind: 'note'; nowMs: number; type: string; text: string; tone: LogTone };

export function initialView(address: string): DaemonView {
  return {
    address,
    connection: { kind: 'connecting' },
    status: null,
    members: new Map(),
    timeline: [],
    log: [],
    nextLogSeq: 1,
    leaderSinceMs: null,
    leaderSinceExact: false,
    leaderHistory: [],
    electionStarts: [],
    disagreeSinceMs: null,
    staleLeaderSinceMs: null,
    updatedAtMs: null,
    elections: null,
  };
}

export function reduce(view: DaemonView, action: Action): DaemonView {
  switch (action.kind) {
    case 'event': {
      const next = logEvent(applyEvent(view, action.event, action.nowMs), action.event, action.nowMs);
      return trackDisagreement(view, { ...next, updatedAtMs: action.nowMs }, action.nowMs);
    }
    case 'polled':
      return trackDisagreement(view, { ...applyPoll(view, action.status, action.members, action.nowMs), updatedAtMs: action.nowMs, elections: action.elections ?? null }, action.nowMs);
    case 'disconnected': {
      const wasUp = view.connection.kind === 'connected';
      const next: DaemonView = { ...view, connection: { kind: 'retrying', code: action.code, reason: action.reason, retryAtMs: action.retryAtMs } };
      // One log line per outage, not one per failed retry.
      return wasUp || view.connection.kind === 'connecting' ? appendLog(next, action.nowMs, 'disconnected', `disconnected: ${action.reason}`, 'bad') : next;
    }
    case 'note':
      return appendLog(view, action.nowMs, action.type, action.text, action.tone);
  }
}

function applyEvent(view: DaemonView, event: StreamEvent, nowMs: number): DaemonView {
  switch (event.type) {
    case 'snapshot': {
      const attached = { ...view, connection: { kind: 'connected' as const, sinceMs: nowMs } };
      return applyPoll(attached, event.status, event.members, nowMs);
    }
    case 'member-joined':
    case 'member-updated':
      return withMembers(view, (map) => map.set(event.member.id, toView(event.member, nowMs)));
    case 'member-suspect':
      return setState(view, event.id, 'suspect', event.incarnation);
    case 'member-alive':
      return setState(view, event.id, 'alive', event.incarnation);
    case 'member-dead':
      return setState(view, event.id, 'dead', event.incarnation);
    case 'member-left':
      return setState(view, event.id, 'left', null);
    case 'member-forgotten':
      return view.members.has(event.id) ? withMembers(view, (map) => map.delete(event.id)) : view;
    case 'role-changed':
      // A lease belongs to one reign: whatever the new role, the next poll brings the lease it has.
      return view.status ? { ...view, status: { ...view.status, role: event.to, term: event.term, leaseRemainingMs: null } } : view;
    case 'term-changed': {
      const next = view.status ? { ...view, status: { ...view.status, term: event.to } } : view;
      // Under Bully the epoch moves with every leader change, which the timeline shows already.
      return view.status?.protocol === 'raft' ? addToTimeline(next, { kind: 'term', atMs: eventTimeMs(event, nowMs), from: event.from, to: event.to }) : next;
    }
    case 'leader-changed':
      return applyLeaderChange(view, event, nowMs);
    case 'election-started':
      return { ...view, electionStarts: bounded([...view.electionStarts, nowMs], MAX_ELECTION_STARTS) };
    case 'configuration-changed': {
      const change: TimelineEntry = { kind: 'configuration', atMs: eventTimeMs(event, nowMs), index: event.index, voters: event.voters, learners: event.learners };
      // The header and members table read the configuration from the status: follow it before the next poll.
      const raft = view.status?.raft;
      const status = view.status && raft ? { ...view.status, raft: { ...raft, voters: event.voters, learners: event.learners } } : view.status;
      return addToTimeline({ ...view, status }, change);
    }
    case 'election-finished':
    case 'protocol-mismatch':
    case 'refuted':
    case 'stepped-down':
    case 'raft-snapshot':
    case 'heartbeat-late':
    case 'protocol-switch-started':
      // Logged only; the members table marks a member of another protocol already.
      return view;
    case 'protocol-switched':
      // The header follows at once; the next poll brings the rest of the new protocol's status.
      return view.status && view.status.protocol !== event.to ? { ...view, status: { ...view.status, protocol: event.to } } : view;
  }
}

function applyLeaderChange(view: DaemonView, event: Extract<ApiEvent, { type: 'leader-changed' }>, nowMs: number): DaemonView {
  const { to, term, fencingToken } = event;
  const change = { atMs: eventTimeMs(event, nowMs), from: event.from, to, term, fencingToken, leaderlessMs: event.leaderlessMs };
  const status = view.status ? { ...view.status, leader: to, term, fencingToken } : null;
  // The viewed node's own row follows at once; the next poll confirms it.
  const self = status ? view.members.get(status.id) : undefined;
  const next: DaemonView = {
    ...view,
    status,
    timeline: bounded([...view.timeline, { kind: 'leader' as const, ...change }], MAX_TIMELINE_ENTRIES),
    leaderSinceMs: to ? nowMs : null,
    leaderSinceExact: to !== null,
    leaderHistory: bounded([...view.leaderHistory, { atMs: nowMs, leader: to?.id ?? null }], MAX_LEADER_SAMPLES),
  };
  return self ? withMembers(next, (map) => map.set(self.id, { ...self, leader: to?.id ?? null, term })) : next;
}

function applyPoll(view: DaemonView, status: StatusResponse, members: readonly MemberResponse[], nowMs: number): DaemonView {
  const leaderId = status.leader?.id ?? null;
  const previousId = view.status === null ? undefined : (view.status.leader?.id ?? null);
  const leaderMoved = previousId !== leaderId;
  return {
    ...view,
    status,
    members: new Map(members.map((m) => [m.id, toView(m, nowMs)])),
    // A leader first seen in a poll or snapshot reigns "at least since now"; the event gives the exact time.
    leaderSinceMs: leaderMoved ? (leaderId ? nowMs : null) : view.leaderSinceMs,
    leaderSinceExact: leaderMoved ? false : view.leaderSinceExact,
    leaderHistory: leaderMoved ? bounded([...view.leaderHistory, { atMs: nowMs, leader: leaderId }], MAX_LEADER_SAMPLES) : view.leaderHistory,
  };
}

function addToTimeline(view: DaemonView, entry: TimelineEntry): DaemonView {
  return { ...view, timeline: bounded([...view.timeline, entry], MAX_TIMELINE_ENTRIES) };
}

/** `incarnation` null: the event carries none (a leave), the member keeps the one it has. */
function setState(view: DaemonView, id: NodeId, state: MemberState, incarnation: number | null): DaemonView {
  const current = view.members.get(id);
  if (!current) return view;
  return withMembers(view, (map) => map.set(id, { ...current, state, incarnation: incarnation ?? current.incarnation }));
}

function toView(m: MemberResponse, nowMs: number): MemberView {
  return { ...m, heardAtMs: nowMs - (Number.isFinite(m.lastSeenMs) ? m.lastSeenMs : 0) };
}

function withMembers(view: DaemonView, change: (map: Map<NodeId, MemberView>) => void): DaemonView {
  const map = new Map(view.members);
  change(map);
  return { ...view, members: map };
}

function logEvent(view: DaemonView, event: StreamEvent, nowMs: number): DaemonView {
  const { text: line, tone } = describeEvent(event);
  return appendLog(view, eventTimeMs(event, nowMs), event.type, line, tone);
}

/** The daemon's time of the event (its `at`), or the dashboard's when that does not parse. */
function eventTimeMs(event: StreamEvent, nowMs: number): number {
  const atMs = Date.parse(event.at);
  return Number.isFinite(atMs) ? atMs : nowMs;
}

function appendLog(view: DaemonView, atMs: number, type: string, line: string, tone: LogTone): DaemonView {
  const entry = { seq: view.nextLogSeq, atMs, type, text: line, tone };
  return { ...view, log: bounded([...view.log, entry], MAX_LOG_ENTRIES), nextLogSeq: view.nextLogSeq + 1 };
}

/** Starts or ends the disagreement and stale-leader clocks when the members' view of the leader changes. */
function trackDisagreement(before: DaemonView, after: DaemonView, nowMs: number): DaemonView {
  if (after.members === before.members && after.status?.protocol === before.status?.protocol) return after;
  const protocol = after.status?.protocol ?? null;
  const disagreeing = findDisagreement(after.members.values(), protocol) !== null;
  const disagreeSinceMs = disagreeing ? (after.disagreeSinceMs ?? nowMs) : null;
  const stale = findStaleLeaders(after.members.values(), protocol).length > 0;
  const staleLeaderSinceMs = stale ? (after.staleLeaderSinceMs ?? nowMs) : null;
  return disagreeSinceMs === after.disagreeSinceMs && staleLeaderSinceMs === after.staleLeaderSinceMs ? after : { ...after, disagreeSinceMs, staleLeaderSinceMs };
}

function bounded<T>(items: T[], max: number): T[] {
  return items.length > max ? items.slice(items.length - max) : items;
}
