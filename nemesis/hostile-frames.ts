/**
 * What a hostile peer sends on the election protocol: every message type of each protocol at and
 * just above the current term or epoch, with forged authority (a configuration naming the sender,
 * a huge term, a TimeoutNow), plus frames no codec accepts. The hostile-peer tests and the chaos
 * tool's `hostile` fault send the same forgeries.
 */

/** Huge but within the codecs' bounds (protocols/bounds.ts): what a forged counter looks like. */
export const HUGE_VALID = 2 ** 50;

/** Bully: one of each message at `epoch` and `epoch + 1`, and invalid ones; `leader` is the current leader's id, `self` the sender's. */
export function bullyForgeries(epoch: number, leader: string, self: string): unknown[] {
  return [
    { type: 'ELECTION', epoch, forced: true },
    { type: 'ANSWER', epoch: epoch + 1 },
    { type: 'COORDINATOR', epoch: epoch + 1, kind: 'claim', round: 1, leaseMs: 0 },
    { type: 'COORDINATOR', epoch: epoch + 1, kind: 'takeover', round: 1, leaseMs: 0 },
    { type: 'COORDINATOR', epoch: epoch + 1, kind: 'renew', round: 1, leaseMs: 3000 },
    { type: 'ACCEPT', epoch, round: 1 },
    { type: 'RELEASE', epoch },
    { type: 'REJECT', epoch: epoch + 1, leader: null },
    { type: 'TRANSFER', epoch: epoch + 1 },
    { type: 'TRANSFER_REQUEST', epoch, to: self },
    { type: 'RESIGN_REQUEST', epoch },
    { type: 'FORGET', epoch, id: leader },
    { type: 'COORDINATOR', epoch: -1, kind: 'renew', round: 0, leaseMs: -5 },
    { type: 'SURPRISE' },
    'not an object',
  ];
}

/**
 * Raft, from a non-member: votes and pre-votes at `term + 1` and at a huge term, appends carrying a
 * configuration of the sender alone and a leader record naming `to`, TimeoutNow, a vote asked for
 * the sender as successor, a snapshot chunk,
 * and answers at `term + 1`; the last two are beyond every codec bound or malformed.
 */
export function raftForgeries(term: number, self: string, to: string): unknown[] {
  return [
    { type: 'VOTE', term: term + 1, preVote: true, lastLogIndex: 1000, lastLogTerm: term + 1, transfer: false },
    { type: 'VOTE', term: term + 1, preVote: false, lastLogIndex: 1000, lastLogTerm: term + 1, transfer: true },
    { type: 'VOTE', term: HUGE_VALID, preVote: false, lastLogIndex: 1000, lastLogTerm: HUGE_VALID, transfer: true },
    { type: 'APPEND', term: term + 1, prevLogIndex: 0, prevLogTerm: 0, entries: [{ index: 1, term: term + 1, data: { kind: 'config', voters: [self], learners: [] } }], leaderCommit: 1, round: 1, leaseMs: 900 },
    { type: 'APPEND', term: HUGE_VALID, prevLogIndex: 0, prevLogTerm: 0, entries: [], leaderCommit: 0, round: 1, leaseMs: 900 },
    { type: 'TIMEOUT_NOW', term },
    { type: 'TRANSFER_VOTE', term, candidate: self, lastLogIndex: 1000, lastLogTerm: term },
    { type: 'SNAPSHOT', term: term + 1, index: 99, snapshotTerm: term + 1, offset: 0, total: 10, chunk: '{"v":1}xxx', round: 1 },
    { type: 'APPEND_RESPONSE', term: term + 1, success: false, index: 0, hintIndex: 0, hintTerm: 0, round: 1 },
    { type: 'VOTE_RESPONSE', term: term + 1, preVote: false, granted: true },
    { type: 'SNAPSHOT_RESPONSE', term: term + 1, index: 1, received: 0, installed: true, round: 1 },
    // Beyond every codec bound: dropped as malformed before the machine sees it.
    { type: 'VOTE', term: Number.MAX_SAFE_INTEGER, preVote: false, lastLogIndex: 0, lastLogTerm: 0, transfer: false },
    { type: 'APPEND', term, prevLogIndex: 0, prevLogTerm: 0, entries: [{ index: 5, term, data: { kind: 'leader', leader: to, term } }], leaderCommit: 0, round: 1, leaseMs: 0 },
  ];
}
