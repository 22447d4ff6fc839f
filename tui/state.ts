/**
 * The reducer: folds control-API events, polls and connection changes into a DaemonView. Pure:
 * the caller passes the dashboard clock (`nowMs`) with every action.
 */
import type { ApiEvent, MemberResponse, StatusResponse } from '../daemon/api/types.js';
import type { MemberState, NodeId } from '../protocols/types.js';
import { describeEvent } from './describe.js';
import { count, eventTimeMs, member, nodeRef, text } from './event-fields.js';
import {
  MAX_ELECTION_STARTS,
  MAX_LEADER_SAMPLES,
  MAX_LOG_ENTRIES,
  MAX_TIMELINE_ENTRIES,
  type DaemonView,
  type LogTone,
  type MemberView,
} from './model.js';
import { findDisagreement } from './split-brain.js';

export type Action =
  | { kind: 'event'; nowMs: number; event: ApiEvent }
  | { kind: 'polled'; nowMs: number; status: StatusResponse; members: readonly MemberResponse[] }
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
    updatedAtMs: null,
  };
}

export function reduce(view: DaemonView, action: Action): DaemonView {
  switch (action.kind) {
    case 'event': {
      const next = logEvent(applyEvent(view, action.event, action.nowMs), action.event, action.nowMs);
      return trackDisagreement(view, { ...next, updatedAtMs: action.nowMs }, action.nowMs);
    }
    case 'polled':
      return trackDisagreement(view, { ...applyPoll(view, action.status, action.members, action.nowMs), updatedAtMs: action.nowMs }, action.nowMs);
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

function applyEvent(view: DaemonView, event: ApiEvent, nowMs: number): DaemonView {
  switch (event.type) {
    case 'snapshot': {
      const snapshot = event as ApiEvent & { status?: StatusResponse; members?: MemberResponse[] };
      if (!snapshot.status || !Array.isArray(snapshot.members)) return view;
      const attached = { ...view, connection: { kind: 'connected' as const, sinceMs: nowMs } };
      return applyPoll(attached, snapshot.status, snapshot.members, nowMs);
    }
    case 'member-joined':
    case 'member-updated': {
      const m = member(event);
      return m ? withMembers(view, (map) => map.set(m.id, toView(m, nowMs))) : view;
    }
    case 'member-suspect':
    case 'member-alive':
    case 'member-dead':
    case 'member-left':
      return setState(view, event, event.type.slice('member-'.length) as MemberState);
    case 'member-forgotten': {
      const id = text(event, 'id');
      return id && view.members.has(id) ? withMembers(view, (map) => map.delete(id)) : view;
    }
    case 'role-changed':
    case 'term-changed':
      return view.status ? { ...view, status: { ...view.status, ...selfSummary(view.status, event) } } : view;
    case 'leader-changed':
      return applyLeaderChange(view, event, nowMs);
    case 'election-started':
      return { ...view, electionStarts: bounded([...view.electionStarts, nowMs], MAX_ELECTION_STARTS) };
    default:
      return view;
  }
}

function selfSummary(status: StatusResponse, event: ApiEvent): Partial<StatusResponse> {
  if (event.type === 'role-changed') {
    const to = text(event, 'to');
    // A lease belongs to one reign: whatever the new role, the next poll brings the lease it has.
    return { ...(to ? { role: to as StatusResponse['role'] } : {}), term: count(event, 'term') ?? status.term, leaseRemainingMs: null };
  }
  return { term: count(event, 'to') ?? status.term };
}

function applyLeaderChange(view: DaemonView, event: ApiEvent, nowMs: number): DaemonView {
  const to = nodeRef(event, 'to');
  const term = count(event, 'term') ?? view.status?.term ?? 0;
  const fencingToken = count(event, 'fencingToken') ?? view.status?.fencingToken ?? 0;
  const change = {
    atMs: eventTimeMs(event, nowMs),
    from: nodeRef(event, 'from') ?? view.status?.leader ?? null,
    to,
    term,
    fencingToken,
    leaderlessMs: count(event, 'leaderlessMs') ?? 0,
  };
  const status = view.status ? { ...view.status, leader: to, term, fencingToken } : null;
  // The viewed node's own row follows at once; the next poll confirms it.
  const self = status ? view.members.get(status.id) : undefined;
  const next: DaemonView = {
    ...view,
    status,
    timeline: bounded([...view.timeline, change], MAX_TIMELINE_ENTRIES),
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

function setState(view: DaemonView, event: ApiEvent, state: MemberState): DaemonView {
  const id = text(event, 'id');
  const current = id ? view.members.get(id) : undefined;
  if (!current) return view;
  const incarnation = count(event, 'incarnation') ?? current.incarnation;
  return withMembers(view, (map) => map.set(current.id, { ...current, state, incarnation }));
}

function toView(m: MemberResponse, nowMs: number): MemberView {
  return { ...m, heardAtMs: nowMs - (Number.isFinite(m.lastSeenMs) ? m.lastSeenMs : 0) };
}

function withMembers(view: DaemonView, change: (map: Map<NodeId, MemberView>) => void): DaemonView {
  const map = new Map(view.members);
  change(map);
  return { ...view, members: map };
}

function logEvent(view: DaemonView, event: ApiEvent, nowMs: number): DaemonView {
  const { text: line, tone } = describeEvent(event);
  return appendLog(view, eventTimeMs(event, nowMs), event.type, line, tone);
}

function appendLog(view: DaemonView, atMs: number, type: string, line: string, tone: LogTone): DaemonView {
  const entry = { seq: view.nextLogSeq, atMs, type, text: line, tone };
  return { ...view, log: bounded([...view.log, entry], MAX_LOG_ENTRIES), nextLogSeq: view.nextLogSeq + 1 };
}

/** Starts or ends the disagreement clock when the members' view of the leader changes. */
function trackDisagreement(before: DaemonView, after: DaemonView, nowMs: number): DaemonView {
  if (after.members === before.members && after.status?.protocol === before.status?.protocol) return after;
  const disagreeing = findDisagreement(after.members.values(), after.status?.protocol ?? null) !== null;
  const disagreeSinceMs = disagreeing ? (after.disagreeSinceMs ?? nowMs) : null;
  return disagreeSinceMs === after.disagreeSinceMs ? after : { ...after, disagreeSinceMs };
}

function bounded<T>(items: T[], max: number): T[] {
  return items.length > max ? items.slice(items.length - max) : items;
}
