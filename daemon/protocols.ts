/** Which election machine a protocol name runs, with its codecs and the state it starts from. */
import { randomInt } from 'node:crypto';
import { bullyMessageCodec, bullyPersistedCodec, createBully, INITIAL_BULLY_STATE, type BullyPersisted } from '../protocols/bully/index.js';
import { createRaft, INITIAL_RAFT_STATE, raftEntryCodec, raftMessageCodec, raftPersistedCodec, raftSnapshotDataCodec, type RaftHardState } from '../protocols/raft/index.js';
import { createRng } from '../protocols/rng.js';
import type { Codec, LogEntry, NodeId, Snapshot } from '../protocols/types.js';
import type { ConclaveConfig } from './config/types.js';
import type { ElectionHost } from './runtime.js';

/** How the configured protocol's durable election state is checked, and its value before any election. */
export interface ElectionState {
  codec: Codec<unknown>;
  initial: unknown;
  /** A log-based protocol's codecs for its stored snapshot data and entries. */
  logCodecs?: { snapshot: Codec<unknown>; entry: Codec<unknown> };
}

/** The configured protocol's election state. */
export function electionState(config: ConclaveConfig): ElectionState {
  switch (config.protocol) {
    case 'bully':
      return { codec: bullyPersistedCodec as Codec<unknown>, initial: { ...INITIAL_BULLY_STATE, members: [] } };
    case 'raft':
      return { codec: raftPersistedCodec as Codec<unknown>, initial: { ...INITIAL_RAFT_STATE }, logCodecs: { snapshot: raftSnapshotDataCodec as Codec<unknown>, entry: raftEntryCodec as Codec<unknown> } };
  }
}

/** A log-based protocol's log as the log store recovered it (empty for Bully). */
export interface StoredLog {
  snapshot: Snapshot | null;
  entries: readonly LogEntry[];
}

/**
 * Builds the election host for `config.protocol` from its stored state (validated by
 * electionState's codec; null: none yet) and, for Raft, its stored log.
 */
export function createElectionHost(config: ConclaveConfig, selfId: NodeId, persisted: unknown, log: StoredLog, nowMs: number): ElectionHost<unknown, unknown> {
  // Election timing jitter only; each process seeds itself, the simulator seeds per node.
  const rng = createRng(randomInt(2 ** 31));
  switch (config.protocol) {
    case 'bully': {
      const machine = createBully({
        selfId,
        config: config.bully,
        bootstrapExpect: config.cluster.bootstrapExpect,
        rng,
        persisted: persisted as BullyPersisted | null,
        nowMs,
      });
      return { machine, messageCodec: bullyMessageCodec } as ElectionHost<unknown, unknown>;
    }
    case 'raft': {
      // Half a frame per snapshot chunk, and for the entries of one append, leaves room for the message around them.
      const snapshotChunkBytes = Math.floor(config.messaging.maxFrameBytes / 2);
      const machine = createRaft({ selfId, config: config.raft, bootstrapExpect: config.cluster.bootstrapExpect, rng, persisted: persisted as RaftHardState | null, log, nowMs, snapshotChunkBytes, appendBytes: snapshotChunkBytes });
      return { machine, messageCodec: raftMessageCodec } as ElectionHost<unknown, unknown>;
    }
  }
}
