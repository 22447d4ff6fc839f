/**
 * What the dashboard knows about one daemon's view of the cluster. Built only by the reducer in
 * state.ts from control-API events and polls; read only by the view-model.
 */
import type { ElectionsResponse, MemberResponse, NodeRef, StatusResponse } from '../daemon/api/types.js';
import type { NodeId } from '../protocols/types.js';

export type Connection =
  | { kind: 'connecting' }
  | { kind: 'connected'; sinceMs: number }
  /** The stream or a poll failed; the link tries again at `retryAtMs`. */
  | { kind: 'retrying'; reason: string; code: string; retryAtMs: number };

/** A member as the viewed daemon reports it, plus when (dashboard clock) it was last heard. */
export interface MemberView extends MemberResponse {
  /** Dashboard-clock ms of the last first-hand heartbeat: receipt time minus `lastSeenMs`. */
  heardAtMs: number;
}

/** One leader change, as the viewed daemon saw it. */
export interface LeaderChange {
  /** Absent on entries built before the timeline held other kinds. */
  kind?: 'leader';
  /** The daemon's clock (event `at`), for display. */
  atMs: number;
  from: NodeRef | null;
  to: NodeRef | null;
  term: number;
  fencingToken: number;
  /** How long the cluster had no leader before `to` (0 when it went straight from one to the next). */
  leaderlessMs: number;
}

/** Raft: the viewed node's term moved (an election, or it heard of a newer one). */
export interface TermChange {
  kind: 'term';
  atMs: number;
  from: number;
  to: number;
}

/** Raft: the configuration the viewed node uses changed. */
export interface ConfigurationChange {
  kind: 'configuration';
  atMs: number;
  index: number;
  voters: NodeRef[];
  learners: NodeRef[];
}

/** What the timeline panel lists: leader changes, and under Raft term and configuration changes. */
export type TimelineEntry = LeaderChange | TermChange | ConfigurationChange;

export type LogTone = 'info' | 'good' | 'warn' | 'bad';

export interface LogEntry {
  seq: number;
  /** The daemon's clock (event `at`) or the dashboard's for its own notes. */
  atMs: number;
  type: string;
  text: string;
  tone: LogTone;
}

/** A point where the leader (as this daemon saw it) changed, on the dashboard clock; feeds the chart. */
export interface LeaderSample {
  atMs: number;
  leader: NodeId | null;
}

export interface DaemonView {
  address: string;
  connection: Connection;
  /** Null until the first snapshot. */
  status: StatusResponse | null;
  members: ReadonlyMap<NodeId, MemberView>;
  timeline: readonly TimelineEntry[];
  log: readonly LogEntry[];
  nextLogSeq: number;
  /** Dashboard-clock start of the current leader's reign; `leaderSinceExact` false when only "at least since". */
  leaderSinceMs: number | null;
  leaderSinceExact: boolean;
  leaderHistory: readonly LeaderSample[];
  /** Dashboard-clock times elections started (bounded), for the chart. */
  electionStarts: readonly number[];
  /** Since when members have disagreed about the leader (see split-brain.ts); null while they agree. */
  disagreeSinceMs: number | null;
  /** Raft: since when a member has claimed to lead in an older term (see split-brain.ts); null while none does. */
  staleLeaderSinceMs: number | null;
  /** Dashboard-clock time of the last snapshot, event or poll from the daemon (see stale.ts); null before the first. */
  updatedAtMs: number | null;
  /** Raft: the named elections with candidates, as last polled (its own store, serializable); null when not polled. */
  elections: ElectionsResponse['elections'] | null;
}

/** Bounds: the dashboard runs for days; nothing it keeps may grow without limit. */
export const MAX_LOG_ENTRIES = 2000;
export const MAX_TIMELINE_ENTRIES = 500;
export const MAX_LEADER_SAMPLES = 2000;
export const MAX_ELECTION_STARTS = 2000;
