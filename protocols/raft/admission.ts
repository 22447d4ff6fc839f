/**
 * Who may speak to this node, and at which term: the rules a Raft message passes before its term
 * is looked at (raft.ts onMessage). Only members of the configuration may lead or raise a term,
 * with the exceptions the thesis and the simulator's seeds below call for, and no term may jump
 * beyond what the cluster gossips: a stranger, or a member that forges, cannot depose a leader,
 * campaign, append, or push terms (and fencing tokens) towards the end of their range.
 */
import { clusterEpoch, MAX_COUNTER, MAX_EPOCH_JUMP } from '../bounds.js';
import type { NodeId } from '../types.js';
import type { RaftMessage, TermMessage } from './messages.js';
import type { Raft } from './raft.js';

/** Why a message is dropped (counted and logged by the host, as every refusal). */
export interface Refusal {
  reason: 'not-a-member' | 'epoch-out-of-range';
  detail: string;
}

/**
 * Why a valid message is not acted on, or null. Only voters (before bootstrap: live raft
 * members) may lead (campaign, append, install a snapshot, hand over). Only configuration
 * members may bring a higher term with any other message: a higher term deposes a leader, so an
 * answer from a stranger at term + 1 would otherwise force a leader change; a learner may, in an
 * answer to this leader's own round (it can have raised its term campaigning before it joined,
 * and must be able to make the cluster catch up, or it could never follow; learnerMayRaiseTerm).
 * And no term beyond reach (termCeiling). Two exceptions: the
 * leader this node follows in this term may append and hand over after its own removal reached
 * this log (§4.2.2: it manages the cluster until that commits); and appends and snapshots (not
 * votes) are taken from a voter of the newest *committed* configuration too, or, with none
 * committed, from any live raft member, because a newer configuration that is not committed may
 * be one the new leader never had (thesis §4.1: a server accepts AppendEntries from a leader
 * not in its latest configuration; simulator seed 4336 held a restarted node's uncommitted
 * bootstrap configuration, which lacked the elected leader, and refused it for ever); and from
 * the leader a live voter of that committed configuration gossips as its own in this term,
 * which a stranger cannot make a real voter say (raft-churn seed 289: a node cut off while a
 * learner was promoted and then led refused that leader for ever).
 */
export function refusal(r: Raft, from: NodeId, m: TermMessage): Refusal | null {
  const c = r.configuration();
  const leads = m.type === 'VOTE' || m.type === 'APPEND' || m.type === 'TIMEOUT_NOW' || m.type === 'TRANSFER_VOTE' || m.type === 'SNAPSHOT';
  const removedLeader = m.type !== 'VOTE' && from === r.leaderId && m.term === r.hard.term;
  if ((leads || m.term > r.hard.term) && !removedLeader) {
    const known = c
      ? c.voters.includes(from) ||
        (!leads && c.learners.includes(from) && learnerMayRaiseTerm(r, m)) ||
        ((m.type === 'APPEND' || m.type === 'SNAPSHOT') && (committedLeaderOrLiveMember(r, from, m.term) || electedByUs(r, from, m.term))) ||
        (m.type === 'VOTE' && aheadOfUs(r, from, m))
      : isLiveRaftMember(r, from);
    if (!known) return { reason: 'not-a-member', detail: `${m.type} at term ${m.term} from ${c ? 'a node that is not a voter' : 'a peer that is not a live raft member'}` };
  }
  const ceiling = termCeiling(r);
  if (m.term > ceiling) return { reason: 'epoch-out-of-range', detail: `${m.type} at term ${m.term}, more than ${MAX_EPOCH_JUMP} above the cluster's ${ceiling - MAX_EPOCH_JUMP}` };
  return null;
}

/**
 * A learner brings a higher term only in its answer to a round this node sent as leader: a
 * learner never campaigns, so it talks to the leader alone, and what it says in answer to
 * nothing (a member-stranger of an open cluster, added as a learner, forging answers at
 * term + 1; chaos seed 9) must not depose a leader or move a follower's term.
 */
function learnerMayRaiseTerm(r: Raft, m: TermMessage): boolean {
  if (m.term <= r.hard.term) return true;
  return (m.type === 'APPEND_RESPONSE' || m.type === 'SNAPSHOT_RESPONSE') && r.role === 'leader' && r.leader.sentRecently(m.round);
}

/**
 * A live raft member whose log is ahead of ours asks for a vote: it may be a voter of a newer
 * configuration this log has not received (thesis §4.1: servers answer without consulting their
 * configuration; switch seed 695: a node that missed a learner's promotion refused the only
 * candidate a majority of the newer configuration could elect, for ever). A stranger cannot
 * use it: it must be a live member, and its log must be ahead of ours to win our vote anyway.
 */
function aheadOfUs(r: Raft, from: NodeId, m: Extract<RaftMessage, { type: 'VOTE' }>): boolean {
  const lastTerm = r.log.lastTerm();
  return isLiveRaftMember(r, from) && (m.lastLogTerm > lastTerm || (m.lastLogTerm === lastTerm && m.lastLogIndex > r.log.lastIndex()));
}

/** We gave `from` our vote in `term`, our current one: it is that term's only possible leader. */
function electedByUs(r: Raft, from: NodeId, term: number): boolean {
  return term === r.hard.term && r.hard.votedFor === from;
}

function isLiveRaftMember(r: Raft, id: NodeId): boolean {
  return r.members.some((x) => x.id === id && x.protocol === 'raft' && (x.state === 'alive' || x.state === 'suspect'));
}

/**
 * A voter of the newest committed configuration, or the leader of `term` by the gossip of one of
 * its live voters (a term has one leader, and a voter names only the one whose appends it took;
 * a majority was asked before, and a node back from a crash whose old voters were mostly gone or
 * replaced refused the cluster's leader for ever: switch-churn seed 1405); with none committed,
 * a live raft member.
 */
function committedLeaderOrLiveMember(r: Raft, id: NodeId, term: number): boolean {
  const committed = r.log.committedConfiguration();
  if (!committed) return isLiveRaftMember(r, id);
  if (committed.voters.includes(id)) return true;
  return committed.voters.some((v) => r.members.some((x) => x.id === v && !x.self && x.protocol === 'raft' && (x.state === 'alive' || x.state === 'suspect') && x.leader === id && x.term === term));
}

/**
 * The highest term a message may carry: MAX_EPOCH_JUMP above ours or what most of the cluster
 * gossips, so a forged message cannot push terms (and fencing tokens) towards MAX_COUNTER.
 */
function termCeiling(r: Raft): number {
  const gossiped = r.members.filter((x) => x.protocol === 'raft' && (x.state === 'alive' || x.state === 'suspect')).map((x) => x.term);
  return Math.min(MAX_COUNTER, Math.max(r.hard.term, clusterEpoch(gossiped)) + MAX_EPOCH_JUMP);
}
