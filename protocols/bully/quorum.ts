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

/** Members that count towards the cluster size: all but those that left gracefully, plus self. */
export function countedMembers<T extends QuorumMember>(members: readonly T[], selfId: NodeId): NodeId[] {
  const ids = members.filter((m) => m.state !== 'left').map((m) => m.id);
  if (!ids.includes(selfId)) ids.push(selfId);
  return ids;
}

export function clusterSize(members: readonly QuorumMember[], selfId: NodeId, expectedSize: number | null): number {
  return expectedSize ?? countedMembers(members, selfId).length;
}

/** Smallest number of members that is more than half of `size`. */
export function majorityOf(size: number): number {
  return Math.floor(Math.max(size, 1) / 2) + 1;
}

export function isMajority(count: number, size: number): boolean {
  return count >= majorityOf(size);
}
