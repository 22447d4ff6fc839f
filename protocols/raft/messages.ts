/**
 * Raft's wire messages and log entry payloads, with strict, bounded codecs: a malformed or
 * hostile peer message is refused before it reaches the machine. Terms and indexes stay within
 * MAX_COUNTER (../bounds.ts); how far above the cluster's term a message may reach is the
 * machine's check (raft.ts, MAX_EPOCH_JUMP), since it needs the membership view.
 */
import { z } from 'zod';
import { MAX_COUNTER, MAX_MEMBERS, MAX_NODE_ID_CHARS } from '../bounds.js';
import type { CommandResult, LeadershipCommand } from '../election.js';
import { kvOperationSchema, kvSnapshotSchema } from '../kv/codec.js';
import { KV_REQUEST_ERRORS, type KvRequestErrorCode } from '../kv/requests.js';
import { DEFAULT_KV_LIMITS, type KvOperation, type KvSnapshotData } from '../kv/types.js';
import type { Codec, LogEntry, NodeId } from '../types.js';
import { codecOf, lazily } from '../zod-codec.js';

/**
 * Who votes, and who only follows: learners are replicated to but never counted, never asked for
 * votes, and never campaign (they are promoted by a configuration entry, autopilot.ts).
 */
export interface RaftConfiguration {
  voters: NodeId[];
  learners: NodeId[];
}

/**
 * What a log entry holds. `config`: the configuration from this index on (the bootstrap entry at
 * index 1). `leader`: the record every new leader appends first; once committed it makes the
 * leader's term a fencing token, and followers name the leader only from then on. A record in an
 * entry of an earlier term than the one it names is a handover: a leader shutting down names its
 * successor for the next term (leader.ts handOver). It says nothing unless that successor is
 * elected in that term; then, once committed, it is the successor's record (log.ts leaderRecord),
 * so the successor reports, and is named, without replicating a record of its own first.
 */
export type RaftEntryData =
  | ({ kind: 'config' } & RaftConfiguration)
  | { kind: 'leader'; leader: NodeId; term: number }
  /**
   * A write to the key-value store (kv.ts), applied by every node once committed. `origin` names
   * the node whose client asked for it and that node's request number: that node answers its
   * client with its own result of applying the entry.
   */
  | { kind: 'kv'; op: KvOperation; origin: KvOrigin | null };

/** Who proposed a key-value write: the node and its request number (random per life, see kv.ts). */
export interface KvOrigin {
  node: NodeId;
  request: number;
}

export type RaftEntry = LogEntry<RaftEntryData>;

/**
 * What a snapshot holds (the machine's state as of its index, replacing the log up to there): the
 * configuration in effect at that index, and the newest leader record at or below it (the fencing
 * token it proves, and whom a follower may name when no entry of that term follows).
 */
export interface RaftSnapshotData {
  v: 1;
  configuration: RaftConfiguration;
  leaderRecord: { leader: NodeId; term: number } | null;
  /** The key-value store as of the snapshot's index; absent in snapshots from before the store (an empty store). */
  kv?: KvSnapshotData;
}

/**
 * The Raft dialect this build speaks, gossiped in membership (MemberMeta.raftWire; absent from
 * older peers: 1). Dialect 2 adds the handover record (a leader record naming the next term,
 * leader.ts handOver), `VOTE_RESPONSE.holds` and `.promise` and `TRANSFER_VOTE.handover`. A node
 * of dialect 1 refuses a message with a field it does not know as malformed, and takes a handover
 * record for an ordinary leader record (its token floor would pass its term), so none of these
 * goes to a node that does not say it speaks dialect 2 (raft.ts speaks): during a rolling
 * upgrade a hand-off through an older node is a plain transfer, as before. Dialect 3 adds
 * `APPEND_RESPONSE.ref`, `SNAPSHOT_RESPONSE.ref`, `TRANSFER_VOTE.answered` and
 * `VOTE_RESPONSE.since` (a grant the old leader asked for promises too, raft.ts voteForSuccessor). What a later build adds that an older one would refuse raises
 * this number, and goes only where it is spoken (raft.ts speaks): a message field to nodes that
 * speak it, a new kind of log entry (which every node must take, or replication to it stops) only
 * once every member of the configuration does.
 */
export const RAFT_WIRE = 3;

/** The fields each dialect added to messages (an older node refuses a message with one: RAFT_WIRE). */
export const DIALECT_FIELDS: Readonly<Record<number, readonly string[]>> = { 2: ['holds', 'promise', 'handover'], 3: ['ref', 'answered', 'since'] };

/** A handover record: a leader record in an entry of an earlier term than the one it names (RaftEntryData). */
export function isHandoverRecord(entry: RaftEntry): boolean {
  return entry.data.kind === 'leader' && entry.data.term !== entry.term;
}

export type RaftMessage =
  /**
   * A (pre-)vote request for `term` (§5.2, §9.6). A pre-vote carries the term the sender would
   * campaign for and changes no one's term. `transfer`: the campaign follows a TimeoutNow, so
   * receivers set leader stickiness aside (thesis §3.10).
   */
  | { type: 'VOTE'; term: number; preVote: boolean; lastLogIndex: number; lastLogTerm: number; transfer: boolean }
  /**
   * The answer; on a refusal, `term` is the responder's, so a stale candidate catches up. `holds`:
   * the grant rests on the candidate's log holding the handover record at that index (the old
   * leader said so, TRANSFER_VOTE), which is on the voter's disk too: a candidate that does not
   * hold it must not count the grant, and one that does may count the voter as holding it.
   * `promise`: a grant to a transfer's request, with which the voter also promises to grant no
   * other (pre-)vote but a transfer's for an election timeout from its answer, as an append of a
   * leader's makes it promise: the candidate counts its lease from when it sent the request.
   * `since` (with `promise`, on a grant the old leader asked for: TRANSFER_VOTE): the promise
   * counts from when the candidate made its answer of that `ref` to the old leader, which the old
   * leader had received before it asked (TRANSFER_VOTE answered), as the candidate sent no request.
   */
  | { type: 'VOTE_RESPONSE'; term: number; preVote: boolean; granted: boolean; holds?: number; promise?: true; since?: number }
  /**
   * AppendEntries (§5.3), also the heartbeat. `round` numbers the leader's heartbeat rounds (its
   * lease counts from when the acknowledged round was sent); `leaseMs` is how long the leader's
   * lease still ran when it sent this, which bounds how long a follower names it: 0 before the
   * commit of the leader record is on the leader's disk, and after TimeoutNow. A 0 ends the
   * follower's naming, except with `keepLease`, which neither extends nor ends it. Leaders of
   * this version send appends without waiting for their own writes and never set it; earlier
   * leaders held an append behind their write and marked it so, and a follower still honours that
   * during a rolling upgrade.
   */
  | { type: 'APPEND'; term: number; prevLogIndex: number; prevLogTerm: number; entries: RaftEntry[]; leaderCommit: number; round: number; leaseMs: number; keepLease?: true }
  /**
   * On success `index` is the last index the follower now holds from this leader; on a refusal,
   * the prevLogIndex it refused, and the fast back-off hint (thesis §5.3's optimisation, as etcd's findConflictByTerm):
   * `hintIndex` is the follower's last index at or below the refused prevLogIndex whose term is
   * at most the refused prevLogTerm, and `hintTerm` that entry's term. The leader's next probe
   * skips every entry of a term the follower cannot hold.
   * `ref` names this answer among all its sender's answers in this life (raft.ts answerRef).
   */
  | { type: 'APPEND_RESPONSE'; term: number; success: boolean; index: number; hintIndex: number; hintTerm: number; round: number; ref?: number }
  /** From the leader to a caught-up transferee: campaign now (thesis §3.10). */
  | { type: 'TIMEOUT_NOW'; term: number }
  /**
   * From the leader, beside its TimeoutNow, to the other voters: vote for `candidate` in term + 1
   * now, if its log (`lastLogIndex`/`lastLogTerm`, which the leader knows it holds) is as up to
   * date as yours, and send the grant straight to it. The candidate has its majority a hop sooner
   * than by asking (raft.ts voteForSuccessor). `handover`: the index of the handover record naming
   * `candidate` that the leader sent it (and the voter) just before: a voter that holds it judges
   * the candidate's log as ending there, and says so in its grant (VOTE_RESPONSE holds).
   * `answered`: the `ref` of the candidate's answer the leader received last before it sent this;
   * the voter's grant passes it on (VOTE_RESPONSE since).
   */
  | { type: 'TRANSFER_VOTE'; term: number; candidate: NodeId; lastLogIndex: number; lastLogTerm: number; handover?: number; answered?: number }
  /**
   * InstallSnapshot (§7), in chunks that fit a frame: characters [offset, offset + chunk.length)
   * of the snapshot's JSON text (`total` in all), for a follower whose next entry the leader
   * compacted away. `round` counts like an append's for the lease.
   */
  | { type: 'SNAPSHOT'; term: number; index: number; snapshotTerm: number; offset: number; total: number; chunk: string; round: number }
  /**
   * The answer to every chunk: `received` is how many characters of snapshot `index` the follower holds
   * in order (the leader sends from there; 0 restarts), `installed` once it is in place.
   */
  | { type: 'SNAPSHOT_RESPONSE'; term: number; index: number; received: number; installed: boolean; round: number; ref?: number }
  /**
   * A leadership command a member relays to the leader it knows (relay.ts); answered by
   * COMMAND_RESULT with the same requestId. Not part of the protocol's term logic: no term.
   */
  | { type: 'COMMAND'; requestId: number; command: RelayedCommand }
  | { type: 'COMMAND_RESULT'; requestId: number; result: CommandResult }
  /**
   * A key-value write a follower's client asked for, to the leader (kv.ts): the leader appends it
   * with the follower as its origin, and the follower answers its client once it applies it. A
   * leader that cannot take it answers KV_REFUSED.
   */
  | { type: 'KV_PROPOSE'; request: number; op: KvOperation }
  | { type: 'KV_REFUSED'; request: number; code: KvRequestErrorCode; message: string }
  /**
   * ReadIndex (thesis §6.4) for a follower's linearizable read: the leader answers with its
   * commit index once a quorum round proved it still leads; the follower reads once it has
   * applied that far. `index` null: the leader could not confirm (the follower's client retries).
   */
  | { type: 'READ_INDEX'; request: number }
  | { type: 'READ_INDEX_RESULT'; request: number; index: number | null };

/** The commands a member may relay to the leader (`elect` campaigns where it is asked). */
export type RelayedCommand = Exclude<LeadershipCommand, { kind: 'elect' }>;

export type RaftMessageType = RaftMessage['type'];

/** The messages of the protocol proper, each with a term; the rest (relayed commands, key-value requests) carry none. */
export type TermMessage = Exclude<RaftMessage, { type: 'COMMAND' | 'COMMAND_RESULT' | 'KV_PROPOSE' | 'KV_REFUSED' | 'READ_INDEX' | 'READ_INDEX_RESULT' }>;

/** Most entries one message may carry, whatever a sender's config says. */
export const MAX_ENTRIES_PER_MESSAGE = 256;
/** Largest snapshot a follower accepts (the characters of its JSON text), and largest chunk of one. */
export const MAX_SNAPSHOT_CHARS = 64 * 1024 * 1024;
export const MAX_SNAPSHOT_CHUNK_CHARS = 1024 * 1024;

/** Longest error code and message a relayed result may carry. */
export const MAX_RESULT_CODE_CHARS = 64;
export const MAX_RESULT_MESSAGE_CHARS = 512;

/** Entries must be consecutive, their terms never falling (Log Matching makes any other list a lie). */
const consecutive = (entries: readonly RaftEntry[]): boolean => entries.every((e, i) => i === 0 || (e.index === entries[i - 1]!.index + 1 && e.term >= entries[i - 1]!.term));

/**
 * The schemas, made on first use (../zod-codec.ts lazily): `counter` and `nodeId` for the hard
 * state's codec (durable.ts), the rest for the codecs below.
 */
export const raftSchemas = lazily(() => {
  const counter = z.number().int().min(0).max(MAX_COUNTER);
  const nodeId = z.string().min(1).max(MAX_NODE_ID_CHARS);
  const ids = z.array(nodeId).max(MAX_MEMBERS);

  const entryData = z.discriminatedUnion('kind', [
    z.strictObject({ kind: z.literal('config'), voters: ids.min(1), learners: ids }),
    z.strictObject({ kind: z.literal('leader'), leader: nodeId, term: counter }),
    z.strictObject({ kind: z.literal('kv'), op: kvOperationSchema(), origin: z.strictObject({ node: nodeId, request: counter }).nullable() }),
  ]);

  const entrySchema = z.strictObject({ index: counter.min(1), term: counter, data: entryData });


  const relayedCommand = z.discriminatedUnion('kind', [
    z.strictObject({ kind: z.literal('transfer'), to: nodeId.nullable() }),
    z.strictObject({ kind: z.literal('resign') }),
    z.strictObject({ kind: z.literal('remove'), id: nodeId }),
    z.strictObject({ kind: z.literal('forget'), id: nodeId }),
  ]);

  const commandResult = z.discriminatedUnion('ok', [
    z.strictObject({ ok: z.literal(true), detail: z.string().max(MAX_RESULT_MESSAGE_CHARS) }),
    z.strictObject({ ok: z.literal(false), code: z.string().regex(/^[a-z][a-z-]*$/).max(MAX_RESULT_CODE_CHARS), message: z.string().max(MAX_RESULT_MESSAGE_CHARS) }),
  ]);


  const messageSchema = z.discriminatedUnion('type', [
    z.strictObject({ type: z.literal('VOTE'), term: counter.min(1), preVote: z.boolean(), lastLogIndex: counter, lastLogTerm: counter, transfer: z.boolean() }),
    z.strictObject({ type: z.literal('VOTE_RESPONSE'), term: counter, preVote: z.boolean(), granted: z.boolean(), holds: counter.min(1).optional(), promise: z.literal(true).optional(), since: counter.min(1).optional() }),
    z
      .strictObject({
        type: z.literal('APPEND'),
        term: counter.min(1),
        prevLogIndex: counter,
        prevLogTerm: counter,
        entries: z.array(entrySchema).max(MAX_ENTRIES_PER_MESSAGE),
        leaderCommit: counter,
        round: counter,
        leaseMs: counter,
        keepLease: z.literal(true).optional(),
      })
      .refine((m) => consecutive(m.entries) && (m.entries.length === 0 || (m.entries[0]!.index === m.prevLogIndex + 1 && m.entries[0]!.term >= m.prevLogTerm && m.entries.at(-1)!.term <= m.term)), {
        error: 'entries must follow prevLogIndex consecutively, with terms between prevLogTerm and term',
        path: ['entries'],
      }),
    z.strictObject({ type: z.literal('APPEND_RESPONSE'), term: counter, success: z.boolean(), index: counter, hintIndex: counter, hintTerm: counter, round: counter, ref: counter.min(1).optional() }),
    z.strictObject({ type: z.literal('TIMEOUT_NOW'), term: counter.min(1) }),
    z.strictObject({ type: z.literal('TRANSFER_VOTE'), term: counter.min(1), candidate: nodeId, lastLogIndex: counter, lastLogTerm: counter, handover: counter.min(1).optional(), answered: counter.min(1).optional() }),
    z
      .strictObject({
        type: z.literal('SNAPSHOT'),
        term: counter.min(1),
        index: counter.min(1),
        snapshotTerm: counter.min(1),
        offset: counter,
        total: z.number().int().min(1).max(MAX_SNAPSHOT_CHARS),
        chunk: z.string().max(MAX_SNAPSHOT_CHUNK_CHARS),
        round: counter,
      })
      .refine((m) => m.offset <= m.total && m.snapshotTerm <= m.term, { error: 'offset must lie within total, and the snapshot term at most the term', path: ['offset'] }),
    z.strictObject({ type: z.literal('SNAPSHOT_RESPONSE'), term: counter, index: counter, received: counter, installed: z.boolean(), round: counter, ref: counter.min(1).optional() }),
    z.strictObject({ type: z.literal('COMMAND'), requestId: counter, command: relayedCommand }),
    z.strictObject({ type: z.literal('COMMAND_RESULT'), requestId: counter, result: commandResult }),
    z.strictObject({ type: z.literal('KV_PROPOSE'), request: counter, op: kvOperationSchema() }),
    z.strictObject({ type: z.literal('KV_REFUSED'), request: counter, code: z.enum(KV_REQUEST_ERRORS), message: z.string().max(MAX_RESULT_MESSAGE_CHARS) }),
    z.strictObject({ type: z.literal('READ_INDEX'), request: counter }),
    z.strictObject({ type: z.literal('READ_INDEX_RESULT'), request: counter, index: counter.nullable() }),
  ]);

  const configuration = z.strictObject({ voters: ids.min(1), learners: ids });

  const snapshotDataSchema = z.strictObject({
    v: z.literal(1),
    configuration,
    leaderRecord: z.strictObject({ leader: nodeId, term: counter.min(1) }).nullable(),
    // Every node of a cluster runs with the same store limits (kv/types.ts); these are the defaults.
    kv: kvSnapshotSchema(DEFAULT_KV_LIMITS).optional(),
  });
  return { counter, nodeId, entrySchema, messageSchema: messageSchema as z.ZodType<RaftMessage>, snapshotDataSchema };
});

/** One stored log entry, checked when the log store is opened. */
export const raftEntryCodec: Codec<RaftEntry> = codecOf<RaftEntry>(() => raftSchemas().entrySchema, 'raft log entry');

/** Snapshot data from a leader's chunks or from disk: checked before it replaces anything. */
export const raftSnapshotDataCodec: Codec<RaftSnapshotData> = codecOf<RaftSnapshotData>(() => raftSchemas().snapshotDataSchema, 'raft snapshot');

export const raftMessageCodec: Codec<RaftMessage> = codecOf<RaftMessage>(() => raftSchemas().messageSchema, 'raft message');
