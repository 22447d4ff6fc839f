/**
 * Raft leader election with pre-vote, check-quorum, leader stickiness, leadership transfer, a
 * leader record per term, log compaction with chunked snapshot install, and leadership as a lease
 * (DESIGN.md section 5).
 *
 * @example
 * const raft = createRaft({ selfId, config: DEFAULT_RAFT_CONFIG, bootstrapExpect: 3, rng, persisted: store.hardState(), log: store.log(), nowMs });
 * raft.step({ type: 'members', nowMs, members });
 * for (const effect of raft.drain()) ... // persist before send
 */
export { createRaft } from './raft.js';
export type { RaftElection, RaftInit, RaftRole, RaftStatus } from './raft.js';
export { DEFAULT_RAFT_CONFIG } from './config.js';
export type { RaftConfig } from './config.js';
export { DIALECT_FIELDS, isHandoverRecord, MAX_ENTRIES_PER_MESSAGE, RAFT_WIRE, raftEntryCodec, raftMessageCodec, raftSnapshotDataCodec } from './messages.js';
export type { RaftConfiguration, RaftEntry, RaftEntryData, RaftMessage, RaftMessageType, RaftSnapshotData, RelayedCommand } from './messages.js';
export { INITIAL_RAFT_STATE, raftPersistedCodec } from './durable.js';
export { storedLeaderRecord } from './log.js';
export type { RaftHardState } from './durable.js';
export { RAFT_COMMAND_ERRORS } from './commands.js';
export { RELAY_ERRORS } from './relay.js';
export { CAUGHT_UP_MAX_LAG } from './autopilot.js';
export { committedIndex, majorityOf, voteResult } from './quorum.js';
