/**
 * Majority arithmetic for the quorum guard (etcd-raft's quorum/majority.go, for one voter set).
 * The cluster is `expectedSize` when configured, else every Bully member this node knows of,
 * itself included; dead members still count until membership forgets them (so a partition's
 * minority cannot shrink the cluster to itself), while `left` members announced their departure.
 */
import type { MemberState, NodeId } from '../types.js';

export interface QuorumMember {
  id: NodeId;
  state: MemberState;
}

/**
 * Members that count towards the cluster size: all but those that left gracefully, plus self,
 * plus `remembered` ones (known before a restart) the view does not list yet.
 */
export function countedMembers(members: readonly QuorumMember[], selfId: NodeId, remembered: readonly NodeId[] = []): NodeId[] {
  const listed = new Set(members.map((m) => m.id));
  const ids = new Set(members.filter((m) => m.state !== 'left').map((m) => m.id));
  for (const id of remembered) if (!listed.has(id)) ids.add(id);
  ids.add(selfId);
  return [...ids];
}

export function clusterSize(members: readonly QuorumMember[], selfId: NodeId, expectedSize: number | null, remembered: readonly NodeId[] = []): number {
  return expectedSize ?? countedMembers(members, selfId, remembered).length;
}

/** Smallest number of members that is more than half of `size`. */
export function majorityOf(size: number): number {
  return Math.floor(Math.max(size, 1) / 2) + 1;
}

export function isMajority(count: number, size: number): boolean {
  return count >= majorityOf(size);
}
