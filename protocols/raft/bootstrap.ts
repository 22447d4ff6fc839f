/**
 * Who forms the first configuration (Consul's bootstrap-expect rule, without a configuration
 * written before an election). A node with an empty log that sees at least bootstrapExpect alive
 * raft members, none gossiping a fencing token (no leader record was ever committed), and has the
 * lowest id among them, campaigns for them as voters (the lowest `max(bootstrapExpect, maxVoters)`
 * ids when it sees more; the rest join as learners); nodes without a configuration grant it as
 * any vote (one per term). Once it wins, its first entries are the configuration (index 1, at its
 * term) and its leader record, replicated like any other entry (leader.ts begin).
 *
 * Why this way: no configuration exists before a leader wrote it, so two nodes that saw different
 * sets never hold different entries at one index and term (Log Matching). Every set a node
 * campaigns for holds bootstrapExpect members or more, so two winners of one term would need two
 * disjoint majorities of such sets: impossible when 2 * majority(bootstrapExpect) exceeds the
 * number of servers (the documented rule for choosing bootstrapExpect). A node that joins later
 * sees a fencing token gossiped, never bootstraps, and learns the configuration from the leader.
 *
 * "At least", not "exactly": five servers started together with bootstrapExpect 3 (the default)
 * each saw all five before any of them had seen exactly three, and no one ever campaigned.
 */
import type { ElectionMember } from '../election.js';
import type { NodeId } from '../types.js';
import { majorityOf } from './quorum.js';

/** Alive raft members in view, `selfId` included, sorted: who a bootstrap would make voters. */
export function aliveRaftMembers(selfId: NodeId, members: readonly ElectionMember[]): NodeId[] {
  const alive = members.filter((m) => m.protocol === 'raft' && m.state === 'alive').map((m) => m.id);
  return [...new Set([selfId, ...alive])].sort();
}

/** An alive raft peer that belongs to a formed Raft cluster (it saw a leader record). */
function formedRaftPeer(m: ElectionMember): boolean {
  return !m.self && m.protocol === 'raft' && m.state === 'alive' && (m.formed ?? m.fencingToken !== 0);
}

/**
 * The set `selfId` (whose log is empty) campaigns for, or null: at least `expect` alive raft
 * members, `selfId` the lowest, none that ever saw a leader record committed, and more than half
 * of every live member whatever protocol it runs: while most of the cluster still runs Bully (a
 * rolling switch by restart), the few that run Raft must not form a cluster of their own beside
 * it (README "Switching protocols"). Of more than `max(expect, maxVoters)` members, the lowest
 * ids that many: a configuration never starts with more voters than autopilot would promote.
 */
export function bootstrapSet(selfId: NodeId, expect: number, members: readonly ElectionMember[], maxVoters: number): NodeId[] | null {
  const ids = aliveRaftMembers(selfId, members);
  if (ids.length < expect || ids[0] !== selfId) return null;
  if (members.some(formedRaftPeer)) return null;
  const live = new Set([selfId, ...members.filter((m) => m.state === 'alive' || m.state === 'suspect').map((m) => m.id)]);
  if (ids.length < majorityOf(live.size)) return null;
  return ids.slice(0, Math.max(expect, maxVoters));
}

/**
 * The set the leader of a cluster that just switched to Raft campaigns for (its log empty, the
 * promises of the previous protocol held for it everywhere, ../carry-over.ts): every member it
 * knows, whatever it runs yet and whatever its state, once they are at least `expect` and no
 * alive raft member belongs to a formed Raft cluster. Members it cannot reach still count: a
 * leader cut off from most of the cluster must not form a configuration of the few it sees (it
 * campaigns only once a majority of the set runs Raft, raft.ts); and so do members that left,
 * which in a rolling restart come back (autopilot removes a voter that stays away). Only that one
 * node forms it while the promises hold, and the others grant no one else meanwhile, so one term
 * has one winner here too.
 */
export function switchBootstrapSet(selfId: NodeId, expect: number, members: readonly ElectionMember[]): NodeId[] | null {
  if (members.some(formedRaftPeer)) return null;
  const known = [...new Set([selfId, ...members.map((m) => m.id)])].sort();
  return known.length >= expect ? known : null;
}
