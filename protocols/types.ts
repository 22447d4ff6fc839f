/**
 * Types shared by every pure machine and by the daemon that hosts them.
 * Nothing here does I/O; see ../shared/DESIGN.md section 1.
 */

/** A libp2p peer id in its string form. */
export type NodeId = string;

/*
 * The one list of each name set: config schemas (zod enums), CLI choices, codecs, metrics and
 * the dashboard derive from these arrays, and the types from the arrays.
 */

/** The election protocols (`protocol:` in config). */
export const PROTOCOL_NAMES = ['bully', 'raft'] as const;
export type ProtocolName = (typeof PROTOCOL_NAMES)[number];

/** What a node reports itself as; in this order in usage text and tables. */
export const ROLES = ['leader', 'follower', 'candidate', 'observer'] as const;
export type Role = (typeof ROLES)[number];

/** A member's state in a node's view (SWIM, plus `left` for a graceful leave). */
export const MEMBER_STATES = ['alive', 'suspect', 'dead', 'left'] as const;
export type MemberState = (typeof MEMBER_STATES)[number];

/** What an election machine reports about itself; gossiped in heartbeats and served by the API. */
export interface ElectionSummary {
  role: Role;
  /** Raft term or Bully epoch. */
  term: number;
  /** The node this machine follows (itself when leading), or null. */
  leader: NodeId | null;
  /** Only ever grows at one node; a deposed leader's writes can be refused downstream. */
  fencingToken: number;
}

export const OBSERVER_SUMMARY: ElectionSummary = Object.freeze({
  role: 'observer',
  term: 0,
  leader: null,
  fencingToken: 0,
});

/** Validates untrusted values into a machine's message or persisted-state type. */
export interface Codec<T> {
  parse(value: unknown): { ok: true; value: T } | { ok: false; reason: string };
  /** Does now, off the critical path, the one-time work of a first parse (zod-codec.ts `warmSchema`). */
  warm?(): void;
}

/** One entry of a replicated log (Raft): its position, the term it was created in, its payload. */
export interface LogEntry<E = unknown> {
  index: number;
  term: number;
  data: E;
}

/** A machine's state up to and including `index` (whose entry had `term`), replacing that prefix of its log. */
export interface Snapshot<S = unknown> {
  index: number;
  term: number;
  data: S;
}

/**
 * What a machine hands its host to make durable (etcd-io/raft's `Ready`: HardState, Entries,
 * Snapshot). The host applies the parts in this order: snapshot, truncation, entries, hard state;
 * it acknowledges once all of it is on disk, and nothing the machine emitted after the batch
 * leaves before that acknowledgement. Every part is optional; an empty batch is never emitted.
 */
export interface DurableBatch<H = unknown, E = unknown, S = unknown> {
  /** Small state that replaces the previous one whole (term and vote, Bully's epoch, an incarnation). */
  hardState?: H;
  /** Install this snapshot: entries up to its index are dropped (a log-based machine only). */
  snapshot?: Snapshot<S>;
  /** Drop every stored entry with an index above this before appending `entries` (conflicting suffix). */
  truncateAfter?: number;
  /** Entries to append, with consecutive indexes following the stored log (after any truncation). */
  entries?: readonly LogEntry<E>[];
}
