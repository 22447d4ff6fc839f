/**
 * Types shared by every pure machine and by the daemon that hosts them.
 * Nothing here does I/O; see ../shared/DESIGN.md section 1.
 */

/** A libp2p peer id in its string form. */
export type NodeId = string;

export type ProtocolName = 'bully' | 'raft';
export const PROTOCOL_NAMES: readonly ProtocolName[] = ['bully', 'raft'];

export type Role = 'leader' | 'follower' | 'candidate' | 'observer';
export const ROLES: readonly Role[] = ['leader', 'follower', 'candidate', 'observer'];

export type MemberState = 'alive' | 'suspect' | 'dead' | 'left';
export const MEMBER_STATES: readonly MemberState[] = ['alive', 'suspect', 'dead', 'left'];

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
