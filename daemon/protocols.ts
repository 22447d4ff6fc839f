/** Which election machine a protocol name runs, with its codecs and the state it starts from. */
import { randomInt } from 'node:crypto';
import { bullyMessageCodec, bullyPersistedCodec, createBully, INITIAL_BULLY_STATE, type BullyPersisted } from '../protocols/bully/index.js';
import { bullyCarryOver, carryOverAtStart, NO_CARRY_OVER, raftCarryOver, type CarryOver } from '../protocols/carry-over.js';
import { createRaft, INITIAL_RAFT_STATE, raftEntryCodec, raftMessageCodec, raftPersistedCodec, raftSnapshotDataCodec, storedLeaderRecord, type RaftEntry, type RaftHardState } from '../protocols/raft/index.js';
import { createRng } from '../protocols/rng.js';
import type { Codec, LogEntry, NodeId, ProtocolName, Snapshot } from '../protocols/types.js';
import type { ConclaveConfig } from './config/types.js';
import { DataFileError } from './errors.js';
import type { ElectionFactory, EraRecord } from '../protocols/host/core.js';
import type { ElectionHost } from './runtime.js';

/** How the configured protocol's durable election state is checked, and its value before any election. */
export interface ElectionState {
  codec: Codec<unknown>;
  initial: unknown;
}

/** The configured protocol's election state. */
export function electionState(config: ConclaveConfig): ElectionState {
  const codec = PERSISTED_CODECS[config.protocol];
  return { codec, initial: config.protocol === 'bully' ? { ...INITIAL_BULLY_STATE, members: [] } : { ...INITIAL_RAFT_STATE } };
}

/** Each protocol's stored election state codec (what a live switch and the node store validate). */
export const PERSISTED_CODECS: Readonly<Record<ProtocolName, Codec<unknown>>> = { bully: bullyPersistedCodec as Codec<unknown>, raft: raftPersistedCodec as Codec<unknown> };
/** Each protocol's message codec: a node reads a message with the codec of the stream it came on. */
export const MESSAGE_CODECS: Readonly<Record<ProtocolName, Codec<unknown>>> = { bully: bullyMessageCodec as Codec<unknown>, raft: raftMessageCodec as Codec<unknown> };

/** A log-based protocol's log as the log store recovered it (empty for Bully). */
export interface StoredLog {
  snapshot: Snapshot | null;
  entries: readonly LogEntry[];
}

/** Raft's log codecs: the log store holds only Raft's entries, checked at every start whatever protocol runs. */
export const RAFT_LOG_CODECS = { snapshot: raftSnapshotDataCodec as Codec<unknown>, entry: raftEntryCodec as Codec<unknown> };

/** What `carryOverFor` reads of the node store. */
export interface StoredElections {
  /** The log store's directory, for errors. */
  path: string;
  otherElections: ReadonlyMap<string, unknown>;
  ranLast: ProtocolName | null;
  log: StoredLog;
  /** The era record (protocols/host/switch.ts): its token floor carries over too. */
  era: EraRecord | null;
}

/**
 * What the other protocol's state in this data dir obliges `config.protocol` to
 * (protocols/carry-over.ts): a token floor from every protocol that ran here, and the promise of
 * the one that ran last, when that was not this one (a switch by restart). A data dir from
 * before the `running` record counts the other protocol as last when this one has no state yet.
 * Another protocol's state that does not parse is refused (DataFileError): its tokens are not guessed.
 */
export function carryOverFor(config: ConclaveConfig, stored: StoredElections, ownState: unknown): CarryOver {
  const carried = new Map<ProtocolName, CarryOver>();
  for (const [name, value] of stored.otherElections) {
    if (name === 'bully') carried.set(name, bullyCarryOver(parseOther(stored.path, name, bullyPersistedCodec, value), config.bully.leaseMs));
    else if (name === 'raft') {
      const hard = parseOther(stored.path, name, raftPersistedCodec, value);
      const record = storedLeaderRecord(stored.log.snapshot as Parameters<typeof storedLeaderRecord>[0], stored.log.entries as RaftEntry[]);
      carried.set(name, raftCarryOver(hard, record, config.raft.electionTimeoutMs));
    }
  }
  const last = stored.ranLast ?? (ownState === null && carried.size === 1 ? [...carried.keys()][0]! : null);
  return carryOverAtStart(config.protocol, carried, last, stored.era?.tokenFloor ?? 0);
}

function parseOther<T>(path: string, name: string, codec: Codec<T>, value: unknown): T {
  const parsed = codec.parse(value);
  if (!parsed.ok) throw new DataFileError(path, `its ${name} election state (kept from when this node ran ${name}) does not parse: ${parsed.reason}`);
  return parsed.value;
}

/**
 * Builds the election host for `config.protocol` from its stored state (validated by
 * electionState's codec; null: none yet), for Raft its stored log, and what another protocol
 * that ran here obliges it to (carryOverFor).
 */
export function createElectionHost(config: ConclaveConfig, selfId: NodeId, persisted: unknown, log: StoredLog, nowMs: number, carryOver: CarryOver = NO_CARRY_OVER): ElectionHost<unknown, unknown> {
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
        carryOver,
        memberForgetAfterMs: config.membership.forgetAfterMs,
      });
      return { machine, messageCodec: MESSAGE_CODECS.bully } as ElectionHost<unknown, unknown>;
    }
    case 'raft': {
      // Half a frame per snapshot chunk, and for the entries of one append, leaves room for the message around them.
      const snapshotChunkBytes = Math.floor(config.messaging.maxFrameBytes / 2);
      const machine = createRaft({ selfId, config: config.raft, bootstrapExpect: config.cluster.bootstrapExpect, rng, persisted: persisted as RaftHardState | null, log, nowMs, snapshotChunkBytes, appendBytes: snapshotChunkBytes, carryOver });
      return { machine, messageCodec: MESSAGE_CODECS.raft } as ElectionHost<unknown, unknown>;
    }
  }
}

/**
 * The machines of a live switch (protocols/host/switch.ts): a protocol that ran earlier in this
 * process starts from the image its machine left; one that did not, from what the store held at
 * start (its state, already checked by carryOverFor, and the log, which only Raft writes).
 */
export function electionFactory(config: ConclaveConfig, selfId: NodeId, stored: Pick<StoredElections, 'path' | 'otherElections' | 'log'>): ElectionFactory {
  return (protocol, carryOver, image, nowMs) => {
    const raw = stored.otherElections.get(protocol);
    const persisted = image ? image.persisted : raw === undefined ? null : parseOther(stored.path, protocol, PERSISTED_CODECS[protocol], raw);
    const log = image ? image.log : stored.log;
    return createElectionHost({ ...config, protocol }, selfId, persisted, log, nowMs, carryOver).machine;
  };
}
