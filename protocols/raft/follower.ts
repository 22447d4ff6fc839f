/**
 * The follower's side of replication: AppendEntries (§5.3) against this node's log.
 */
import type { NodeId } from '../types.js';
import { isHandoverRecord, type RaftMessage } from './messages.js';
import type { Raft } from './raft.js';

/**
 * §5.3 AppendEntries from the leader of our term: refuse unless our log holds prevLogIndex at
 * prevLogTerm (the consistency check, with the fast back-off hint); else drop any conflicting
 * suffix, append what is new, and commit up to min(leaderCommit, index of the last new entry).
 * Entries are persisted ahead of the acknowledgement (the outbox flushes before a send). A
 * position below our commit index is acknowledged as far as we committed (etcd does the same):
 * committed entries never change.
 *
 * An append that brings no entries and only a commit index (the leader tells followers of a
 * commit at once, etcd's bcastAppend) is not answered when the answer would repeat the last one
 * to the same leader word for word: the same term, round and index. The leader learns nothing
 * from it: its match, its round (the lease counts a round by when it was sent) and check-quorum
 * are as the last answer left them, the next heartbeat round is answered, and an empty append
 * takes no place in flight (progress.ts). With one client writing through a follower, these
 * answers were 4 of the 17 messages each write cost.
 */
export function appendEntries(r: Raft, from: NodeId, m: Extract<RaftMessage, { type: 'APPEND' }>): void {
  const log = r.log;
  const last = r.lastAppendAnswer;
  const respond = (success: boolean, index: number, hintIndex = 0, hintTerm = 0) => {
    const ref = r.answerRef(from);
    r.out.send(from, { type: 'APPEND_RESPONSE', term: r.hard.term, success, index, hintIndex, hintTerm, round: m.round, ...(ref !== undefined ? { ref } : {}) });
  };
  // Only an answer of the last line below is remembered: after any other the next append is answered.
  r.lastAppendAnswer = null;
  if (m.prevLogIndex < log.committed) return respond(true, log.committed);
  if (!log.matchTerm(m.prevLogIndex, m.prevLogTerm)) {
    const hintIndex = log.lastIndexAtOrBelowTerm(Math.min(m.prevLogIndex, log.lastIndex()), m.prevLogTerm);
    return respond(false, m.prevLogIndex, hintIndex, log.term(hintIndex) ?? 0);
  }
  for (const [i, e] of m.entries.entries()) {
    const held = log.term(e.index);
    if (held === e.term) continue;
    if (held !== null) {
      log.truncateAfter(e.index - 1);
      r.out.persistTruncation(e.index - 1);
    }
    for (const add of m.entries.slice(i)) {
      log.append(add);
      r.out.persistEntry(add);
    }
    break;
  }
  const lastNew = m.prevLogIndex + m.entries.length;
  r.advanceCommit(Math.min(m.leaderCommit, lastNew));
  r.lastAppendAnswer = { to: from, term: r.hard.term, round: m.round, index: lastNew };
  if (m.entries.length === 0 && last && last.to === from && last.term === r.hard.term && last.round === m.round && last.index === lastNew) return;
  // The leader's handover record (leader.ts handOver): it is leaving and gave its lease away with
  // the TimeoutNow that follows; the successor's election commits the record. The answer would
  // tell it nothing it uses, in the milliseconds the hand-off needs every core for.
  if (m.entries.length > 0 && isHandoverRecord(m.entries.at(-1)!)) return;
  respond(true, lastNew);
}
