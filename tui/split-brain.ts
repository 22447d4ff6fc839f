/**
 * Leader disagreement among live members. A handoff looks like a split for a gossip round (the old
 * leader's last heartbeat still says "leader"), so the alarm waits `SPLIT_BRAIN_GRACE_MS` before it
 * fires; a disagreement that lasts longer is a real split brain.
 *
 * Under Raft terms order the claims: a member that still says it leads in an older term than the
 * cluster's newest is a stale leader (cut off, it has not heard of the new term yet; Raft refuses
 * everything it sends), not a second leader. Only members at the newest term can disagree.
 */
import { shortId } from '../shared/format.js';
import type { NodeRef } from '../daemon/api/types.js';
import type { NodeId, ProtocolName } from '../protocols/types.js';
import type { MemberView } from './model.js';

/** About two gossip rounds at the default heartbeat interval. */
export const SPLIT_BRAIN_GRACE_MS = 1000;

export interface Disagreement {
  /** Live members that say they lead, by name. */
  claimants: NodeRef[];
  /** Each leader that someone follows, with its followers' names. */
  camps: { leader: NodeRef; followers: string[] }[];
}

/**
 * Live members on `protocol` that contradict each other: two claim to lead, or they follow
 * different leaders. Members without a leader (mid-election) contradict no one.
 */
export function findDisagreement(members: Iterable<MemberView>, protocol: ProtocolName | null): Disagreement | null {
  const all = [...members];
  const live = current(liveOn(all, protocol), protocol);
  const names = new Map<NodeId, string>(all.map((m) => [m.id, m.name]));
  // A leader no one knows by name (forgotten, or never heard) shows as its short id.
  const refOf = (id: NodeId): NodeRef => ({ id, name: names.get(id) ?? shortId(id) });
  const claimants = live.filter((m) => m.role === 'leader').map((m) => refOf(m.id));
  const byLeader = new Map<NodeId, string[]>();
  for (const m of live) {
    if (m.leader === null) continue;
    const followers = byLeader.get(m.leader) ?? [];
    followers.push(m.name);
    byLeader.set(m.leader, followers);
  }
  if (claimants.length < 2 && byLeader.size < 2) return null;
  const camps = [...byLeader.entries()]
    .map(([leader, followers]) => ({ leader: refOf(leader), followers: followers.sort() }))
    .sort((a, b) => b.followers.length - a.followers.length || a.leader.name.localeCompare(b.leader.name));
  return { claimants: claimants.sort((a, b) => a.name.localeCompare(b.name)), camps };
}

/** A member that claims to lead in an older term than the newest any live member reports (Raft only). */
export interface StaleLeader {
  leader: NodeRef;
  term: number;
  /** The newest term among live members. */
  currentTerm: number;
}

/** Raft's stale leaders, oldest term first; always none under Bully (an epoch's claim is not superseded the same way). */
export function findStaleLeaders(members: Iterable<MemberView>, protocol: ProtocolName | null): StaleLeader[] {
  if (protocol !== 'raft') return [];
  const live = liveOn([...members], protocol);
  const currentTerm = Math.max(0, ...live.map((m) => m.term));
  return live
    .filter((m) => m.role === 'leader' && m.term < currentTerm)
    .map((m) => ({ leader: { id: m.id, name: m.name }, term: m.term, currentTerm }))
    .sort((a, b) => a.term - b.term || a.leader.name.localeCompare(b.leader.name));
}

function liveOn(members: MemberView[], protocol: ProtocolName | null): MemberView[] {
  return members.filter((m) => m.state === 'alive' && (protocol === null || m.protocol === protocol));
}

/** Under Raft, the members at the newest term (the others' claims are stale); everyone elsewhere. */
function current(live: MemberView[], protocol: ProtocolName | null): MemberView[] {
  if (protocol !== 'raft') return live;
  const newest = Math.max(0, ...live.map((m) => m.term));
  return live.filter((m) => m.term === newest);
}

/** Whether a disagreement that began at `sinceMs` has outlasted the grace period at `nowMs`. */
export function isSplitBrain(sinceMs: number | null, nowMs: number): boolean {
  return sinceMs !== null && nowMs - sinceMs >= SPLIT_BRAIN_GRACE_MS;
}
