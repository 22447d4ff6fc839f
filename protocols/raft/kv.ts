/**
 * The key-value store as Raft's applied state (issue 12), and the requests of this node's
 * clients. Every node applies the committed `kv` entries to its own KvStore in log order, so
 * every node holds the same store at the same index; a snapshot carries the store as of its index.
 *
 * Writes go through the log. The leader appends its own clients' writes; a follower sends them
 * to the leader it knows (KV_PROPOSE), which appends them with the follower as `origin`. Either
 * way the node whose client asked answers it with its own result of applying the entry, the
 * moment it applies it (etcd's way: a proposal is answered where it was made). A write whose
 * entry never applies here (lost with a leader) gets no answer from the machine: the host
 * answers `timeout`, and whether it was applied is then unknown (it may still commit).
 *
 * Reads are linearizable by ReadIndex (thesis §6.4): the leader takes its commit index, proves
 * with a heartbeat round a majority acknowledges that it still led after the read arrived, and
 * serves the read once it has applied that far (at once: a node applies as it commits). A
 * follower asks the leader for such an index (READ_INDEX) and serves the read from its own store
 * once it applied that far. A leader reads only once its own leader record committed: before, its
 * commit index may lag what earlier leaders committed (§6.4 step 1). `serializable` reads answer
 * from this node's store at once, possibly stale.
 */
import { LEADER_RECORD_KEY } from '../kv/election.js';
import { kvOperationCodec } from '../kv/codec.js';
import type { KvAnswer, KvRead, KvRequest, KvRequestErrorCode } from '../kv/requests.js';
import { KvStore } from '../kv/store.js';
import { utf8ByteLength } from '../kv/text.js';
import { DEFAULT_KV_LIMITS, type KvOperation, type KvSession, type KvSnapshotData } from '../kv/types.js';
import type { NodeId } from '../types.js';
import type { RaftLog } from './log.js';
import type { RaftEntry, RaftMessage } from './messages.js';
import { majorityOf } from './quorum.js';
import type { Raft } from './raft.js';

/** Each life's request numbers start at random below this (well inside the codec's counter bound). */
const REQUEST_START_MAX = 2 ** 40;
/** Requests of this node's clients waiting at once; more are refused as `busy`. */
const MAX_PENDING = 4096;
/**
 * Followers' proposals a leader remembers at once (each for 2 × commandTimeoutMs), to take a
 * copy only once. Beyond it a new one is refused `busy` rather than an unexpired one forgotten:
 * 65,536 in 8 s is 8,000 writes a second, far above what one leader applies.
 */
const MAX_SEEN_PROPOSALS = 65_536;
/** Reads a leader confirms for followers at once; more are refused (their clients retry). */
const MAX_REMOTE_READS = 4096;

type KvMessage = Extract<RaftMessage, { type: 'KV_PROPOSE' | 'KV_REFUSED' | 'READ_INDEX' | 'READ_INDEX_RESULT' }>;

/** Who waits for a read the leader confirms: a client of this node, or a follower that asked for the index. */
type ReadRequester = { kind: 'local'; request: number } | { kind: 'remote'; from: NodeId; request: number };

interface PendingWrite {
  id: number;
  sinceMs: number;
  op: KvOperation;
  /** The leader it went to and the term then (null: proposed here as leader), and when it last went. */
  sentTo: NodeId | null;
  term: number;
  sentMs: number;
  /** Sent more than once: a refusal may answer a copy while the first is in the leader's log. */
  resent: boolean;
}

interface PendingRead {
  id: number;
  read: KvRead;
  sinceMs: number;
  /** Served once the store applied this far (null: waiting for the leader's read index). */
  index: number | null;
  /** The leader asked for the index (a follower's read), null when this node leads. */
  askedLeader: NodeId | null;
  /** When the leader was last asked. */
  sentMs: number;
}

/** What a leader did with a follower's proposal: a copy gets the same (nothing, or the same refusal). */
interface SeenProposal {
  /** When it came, by the leader's run clock (Raft.ranMs: its stalls left out). */
  atMs: number;
  refusal: { code: KvRequestErrorCode; message: string } | null;
}

/** A read the leader confirms once a majority acknowledged `round` (or a later one). */
interface Confirmation {
  requester: ReadRequester;
  index: number;
  round: number;
}

export class KvService {
  private store: KvStore;
  /** The last log index applied to the store (kv entries or not). */
  applied: number;
  private readonly writes = new Map<number, PendingWrite>();
  private readonly reads = new Map<number, PendingRead>();
  /** On the leader: reads waiting for a quorum round. */
  private confirmations: Confirmation[] = [];
  private nextRequest = 0;
  /** Followers' proposals this node took or refused as leader, oldest first (see onProposal). */
  private readonly seenProposals = new Map<string, SeenProposal>();
  private readonly entryBytes = new WeakMap<RaftEntry, number>();
  /**
   * The store as of the index the next compaction will cut at, taken as the apply passed that
   * index (compactionPoint): the compaction then takes it as it is. Without it, the store as of
   * an index half a compaction interval back is rebuilt by replaying that many entries onto the
   * last snapshot, which took 12–29 ms for 4,096 puts warm (more in a daemon, where that code
   * runs once every few thousand writes and is never optimized), every time, on every node at
   * once: 16 clients writing through the followers saw p99 30–49 ms with it, 22–25 without.
   */
  private captured: { index: number; kv: KvSnapshotData } | null = null;

  constructor(private readonly m: Raft) {
    const snapshot = m.log.snapshot();
    this.store = new KvStore(DEFAULT_KV_LIMITS, snapshot?.data.kv);
    this.applied = m.log.snapshotIndex();
  }

  // ---- the applied state ----

  /** Applies every committed entry not yet applied, answering this node's writes among them, then serves reads that waited for them. */
  applyCommitted(): void {
    const log = this.m.log;
    while (this.applied < log.committed) {
      const index = this.applied + 1;
      const entry = log.slice(index, 1)[0];
      if (!entry) throw new Error(`committed entry ${index} missing from the log (snapshot at ${log.snapshotIndex()})`);
      this.applied = index;
      const op = storeOperation(entry);
      if (op !== null) this.applyToStore(op, entry);
      if (index === this.compactionPoint()) this.captured = { index, kv: this.store.snapshot() };
    }
    this.serveReads();
  }

  /**
   * Where the next compaction cuts (Snapshots.maybeCompact): the last snapshot's index plus
   * snapshotEntries, less the half that stays in the log.
   */
  private compactionPoint(): number {
    const every = this.m.config.snapshotEntries;
    return this.m.log.snapshotIndex() + every - Math.floor(every / 2);
  }

  /** The index of the store state held for the next compaction (null: none). */
  capturedIndex(): number | null {
    return this.captured?.index ?? null;
  }

  /** Applies one committed entry's write to the store, and answers it if this node's client asked for it. */
  private applyToStore(op: KvOperation, entry: RaftEntry): void {
    const index = entry.index;
    const result = this.store.apply(op, index);
    if (result.ok && result.events.length > 0) this.m.out.emit({ type: 'kv-events', events: result.events });
    if (this.m.role === 'leader' && (op.kind === 'sessionGrant' || op.kind === 'sessionKeepAlive' || op.kind === 'sessionRevoke')) this.m.sessions.applied(op.id);
    const origin = entry.data.kind === 'kv' ? entry.data.origin : null;
    if (origin?.node !== this.m.selfId) return;
    const write = this.writes.get(origin.request);
    if (!write) return;
    this.writes.delete(origin.request);
    this.m.out.kvAnswer(write.id, { ok: true, kind: 'write', index, result });
  }

  /** A snapshot from the leader replaced the log up to its index: the store becomes the snapshot's. */
  installed(): void {
    const snapshot = this.m.log.snapshot()!;
    this.store = new KvStore(DEFAULT_KV_LIMITS, snapshot.data.kv);
    this.applied = snapshot.index;
    this.applyCommitted();
  }

  /**
   * The store as of `index` (committed, at or above the snapshot's): the store itself at the
   * applied index, the state taken for the compaction at its point, else the snapshot's store
   * with the entries after it replayed.
   */
  stateAt(log: RaftLog, index: number): KvSnapshotData {
    if (index === this.applied) return this.store.snapshot();
    if (this.captured?.index === index) {
      // Asked for once, by the compaction that cuts there: the copy need not outlive it.
      const { kv } = this.captured;
      this.captured = null;
      return kv;
    }
    const snapshot = log.snapshot();
    const store = new KvStore(DEFAULT_KV_LIMITS, snapshot?.data.kv);
    for (const entry of log.slice(log.snapshotIndex() + 1, index - log.snapshotIndex())) {
      const op = storeOperation(entry);
      if (op !== null) store.apply(op, entry.index);
    }
    return store.snapshot();
  }

  /** The store's sessions, sorted by id (what the leader times). */
  sessions(): KvSession[] {
    return this.store.sessions();
  }

  session(id: string): KvSession | null {
    return this.store.session(id);
  }

  sessionsOfNode(node: NodeId): string[] {
    return this.store.sessionsOfNode(node);
  }

  /** The store's revision and key count, for status. */
  summary(): { revision: number; keys: number } {
    return { revision: this.store.revision(), keys: this.store.keyCount() };
  }

  // ---- requests of this node's clients ----

  onRequest(id: number, request: KvRequest): void {
    const m = this.m;
    if (this.writes.size + this.reads.size >= MAX_PENDING) return this.fail(id, 'busy', `${MAX_PENDING} requests already wait at this node`);
    if (request.kind === 'read' && (request.consistency === 'serializable' || request.read.kind === 'events')) return m.out.kvAnswer(id, this.answerRead(request.read));
    if (m.role !== 'leader' && m.leaderId === null) return this.fail(id, 'no-leader', 'no leader is known (an election is under way); retry');
    const number = this.newRequest();
    if (request.kind === 'write') {
      // Checked as every peer checks a log entry: one they refused would stop replication for good.
      const parsed = kvOperationCodec.parse(request.op);
      if (!parsed.ok) return this.fail(id, 'invalid', `not a valid write: ${parsed.reason}`);
      const tooLarge = this.oversize(request.op);
      if (tooLarge) return this.fail(id, 'entry-too-large', tooLarge);
      const sentTo = m.role === 'leader' ? null : m.leaderId!;
      this.writes.set(number, { id, sinceMs: m.nowMs, op: request.op, sentTo, term: m.hard.term, sentMs: m.nowMs, resent: false });
      if (sentTo === null) this.propose(request.op, { node: m.selfId, request: number }, (code, message) => this.refuseWrite(number, code, message));
      else m.out.send(sentTo, { type: 'KV_PROPOSE', request: number, op: request.op });
      return;
    }
    const read: PendingRead = { id, read: request.read, sinceMs: m.nowMs, index: null, askedLeader: m.role === 'leader' ? null : m.leaderId, sentMs: m.nowMs };
    this.reads.set(number, read);
    if (m.role === 'leader') this.confirm({ kind: 'local', request: number });
    else m.out.send(m.leaderId!, { type: 'READ_INDEX', request: number });
  }

  onMessage(from: NodeId, msg: KvMessage): void {
    const m = this.m;
    switch (msg.type) {
      case 'KV_PROPOSE':
        if (!this.isMember(from)) return;
        return this.onProposal(from, msg.request, msg.op);
      case 'KV_REFUSED': {
        // A refusal of a copy says nothing of the first: the leader that refuses it may have
        // appended the first before a restart made it forget (simulator seeds 65348, 66833,
        // 69681: a write refused `no-leader`, then applied). Only a refusal every copy gets
        // (too large) is an answer then; otherwise the outcome is unknown, as after a timeout.
        const write = this.writes.get(msg.request);
        if (write?.resent && msg.code !== 'entry-too-large') {
          return this.refuseWrite(msg.request, 'timeout', `the leader refused a copy sent again (${msg.code}); the first may still be applied: read before retrying`);
        }
        return this.refuseWrite(msg.request, msg.code, msg.message);
      }
      case 'READ_INDEX':
        if (!this.isMember(from)) return;
        if (m.role !== 'leader' || this.confirmations.length >= MAX_REMOTE_READS) return m.out.send(from, { type: 'READ_INDEX_RESULT', request: msg.request, index: null });
        return this.confirm({ kind: 'remote', from, request: msg.request });
      case 'READ_INDEX_RESULT': {
        const read = this.reads.get(msg.request);
        if (!read || read.askedLeader !== from || read.index !== null) return;
        if (msg.index === null) {
          this.reads.delete(msg.request);
          return this.fail(read.id, 'no-leader', 'the leader could not confirm it still leads; retry');
        }
        read.index = msg.index;
        return this.serveReads();
      }
    }
  }

  // ---- the leader's side ----

  /**
   * A follower's proposal. A copy of one already taken (a network that duplicates, or the
   * follower's resend of one whose answer is slow) is dropped: applied twice, one write would
   * take two revisions, and a second put could undo a write made between the two. A copy of a
   * refused one gets the same refusal (the first may be what was lost).
   */
  private onProposal(from: NodeId, request: number, op: KvOperation): void {
    const m = this.m;
    const key = `${from} ${request}`;
    const seen = this.seenProposals.get(key);
    const refuse = (code: KvRequestErrorCode, message: string) => m.out.send(from, { type: 'KV_REFUSED', request, code, message });
    if (seen) return seen.refusal ? refuse(seen.refusal.code, seen.refusal.message) : undefined;
    this.forgetProposals();
    if (this.seenProposals.size >= MAX_SEEN_PROPOSALS) return refuse('busy', `the leader holds ${MAX_SEEN_PROPOSALS} recent proposals; retry`);
    const record: SeenProposal = { atMs: m.ranMs(), refusal: null };
    this.seenProposals.set(key, record);
    const refuseAndRemember = (code: KvRequestErrorCode, message: string) => {
      record.refusal = { code, message };
      refuse(code, message);
    };
    if (m.role !== 'leader') return refuseAndRemember('no-leader', 'the node asked does not lead any more; retry');
    const tooLarge = this.oversize(op);
    if (tooLarge) return refuseAndRemember('entry-too-large', tooLarge);
    this.propose(op, { node: from, request }, refuseAndRemember);
  }

  /**
   * Forgets proposals older than any copy a follower still sends (it resends for commandTimeoutMs),
   * measured by how long this node has run: copies sent before a stall of the leader's own (a
   * pause, a blocked event loop) wait in its socket and are read as it wakes, when its wall clock
   * has moved past them. Measured by that clock, such a copy found its proposal forgotten and was
   * appended a second time, one put taking two revisions (simulator, raft seed 2777: the leader
   * paused 5.2 s, then read two copies of a put it had appended before).
   */
  private forgetProposals(): void {
    const before = this.m.ranMs() - 2 * this.m.commandTimeoutMs();
    for (const [key, seen] of this.seenProposals) {
      if (seen.atMs >= before) break;
      this.seenProposals.delete(key);
    }
  }

  /** Appends a write (refused while a transfer is under way: thesis §3.10, the leader takes no new proposals then). */
  private propose(op: KvOperation, origin: { node: NodeId; request: number }, refuse: (code: KvRequestErrorCode, message: string) => void): void {
    const m = this.m;
    if (m.leader.transfer) return refuse('busy', 'leadership is being handed over; retry in a moment');
    m.leader.propose({ kind: 'kv', op, origin });
  }

  /**
   * ReadIndex step 2–3: the commit index now, and the next round, whose acknowledgement by a
   * majority proves this node still led after the read arrived. The round leaves at once.
   */
  private confirm(requester: ReadRequester): void {
    const m = this.m;
    const leader = m.leader;
    if (!leader.established() || leader.transfer?.timeoutNowSent) {
      // Not yet able to serve reads (its record is not committed), or handing over: the client retries.
      if (requester.kind === 'remote') return m.out.send(requester.from, { type: 'READ_INDEX_RESULT', request: requester.request, index: null });
      const read = this.reads.get(requester.request);
      this.reads.delete(requester.request);
      if (read) this.fail(read.id, 'no-leader', leader.established() ? 'leadership is being handed over; retry' : 'the leader was just elected and has not committed its first entry; retry');
      return;
    }
    // A read round already on its way was sent before this read came: this one needs the next.
    // That round goes at once when none is on its way, else once the one on its way is
    // confirmed (onAcknowledged): reads that arrive meanwhile share it.
    const inFlight = this.confirmations.length > 0;
    this.confirmations.push({ requester, index: m.log.committed, round: leader.lastRound() + 1 });
    if (!inFlight) leader.roundNow();
    this.onAcknowledged();
  }

  /** A follower answered a round (or the voters changed): reads whose round a majority acknowledged are confirmed. */
  onAcknowledged(): void {
    if (this.confirmations.length === 0) return;
    const m = this.m;
    const voters = m.leader.voterIds();
    const confirmed = (round: number) => voters.filter((id) => id === m.selfId || m.leader.ackedRoundOf(id) >= round).length >= majorityOf(voters.length);
    const waiting: Confirmation[] = [];
    for (const c of this.confirmations) {
      if (!confirmed(c.round)) {
        waiting.push(c);
        continue;
      }
      if (c.requester.kind === 'remote') m.out.send(c.requester.from, { type: 'READ_INDEX_RESULT', request: c.requester.request, index: c.index });
      else {
        const read = this.reads.get(c.requester.request);
        if (read) read.index = c.index;
      }
    }
    this.confirmations = waiting;
    // Reads that came while a round was on its way wait for one sent after them.
    if (waiting.length > 0 && waiting.every((c) => c.round > m.leader.lastRound())) m.leader.roundNow();
    this.serveReads();
  }

  /** Leadership ended: reads waiting for its confirmation cannot get it. */
  onLeadershipLost(): void {
    const m = this.m;
    for (const c of this.confirmations) {
      if (c.requester.kind === 'remote') m.out.send(c.requester.from, { type: 'READ_INDEX_RESULT', request: c.requester.request, index: null });
      else {
        const read = this.reads.get(c.requester.request);
        this.reads.delete(c.requester.request);
        if (read) this.fail(read.id, 'no-leader', 'this node lost leadership before it could confirm the read; retry');
      }
    }
    this.confirmations = [];
  }

  // ---- helpers ----

  private serveReads(): void {
    for (const [number, read] of this.reads) {
      if (read.index === null || read.index > this.applied) continue;
      this.reads.delete(number);
      this.m.out.kvAnswer(read.id, this.answerRead(read.read));
    }
  }

  private answerRead(read: KvRead): KvAnswer {
    if (read.kind === 'events') {
      const found = this.store.eventsSince(read.fromRevision, read.filter);
      return found.ok ? { ok: true, kind: 'events', events: found.events, revision: found.revision } : { ok: false, code: found.code, message: found.message };
    }
    if (read.kind === 'get') {
      const { kv, revision } = this.store.read(read.key);
      return { ok: true, kind: 'read', range: { kvs: kv ? [kv] : [], more: false, revision } };
    }
    return { ok: true, kind: 'read', range: this.store.range(read.prefix, read.limit) };
  }

  private refuseWrite(number: number, code: KvRequestErrorCode, message: string): void {
    const write = this.writes.get(number);
    if (!write) return;
    this.writes.delete(number);
    this.fail(write.id, code, message);
  }

  private fail(id: number, code: KvRequestErrorCode, message: string): void {
    this.m.out.kvAnswer(id, { ok: false, code, message });
  }

  /**
   * On every tick: forgets requests the host has long answered `timeout` for (it bounds every
   * request by commandTimeoutMs), and sends again what a follower forwarded and heard nothing
   * about for half an election timeout. A frame is lost now and then (a stream reset, a full
   * queue, a connection closed as a duplicate) and nothing else would ask again: without this the
   * client waits out its whole timeout. A write goes again only to the leader it went to, in the
   * same term (it dedupes copies; another leader could append it twice, the first may still
   * commit); a read asks whoever leads now.
   */
  tick(): void {
    const m = this.m;
    const before = m.nowMs - 2 * m.commandTimeoutMs();
    for (const [number, w] of this.writes) if (w.sinceMs < before) this.writes.delete(number);
    for (const [number, r] of this.reads) if (r.sinceMs < before) this.reads.delete(number);
    this.forgetProposals();
    if (m.role === 'leader' || m.leaderId === null) return;
    const dueBefore = m.nowMs - m.config.electionTimeoutMs / 2;
    const youngerThan = m.nowMs - m.commandTimeoutMs();
    for (const [number, w] of this.writes) {
      if (w.sentMs > dueBefore || w.sinceMs < youngerThan || w.sentTo !== m.leaderId || w.term !== m.hard.term) continue;
      w.sentMs = m.nowMs;
      w.resent = true;
      m.counters.kvResends++;
      m.out.send(w.sentTo, { type: 'KV_PROPOSE', request: number, op: w.op });
    }
    for (const [number, r] of this.reads) {
      if (r.index !== null || r.askedLeader === null || r.sentMs > dueBefore || r.sinceMs < youngerThan) continue;
      r.askedLeader = m.leaderId;
      r.sentMs = m.nowMs;
      m.counters.kvResends++;
      m.out.send(m.leaderId, { type: 'READ_INDEX', request: number });
    }
  }

  private newRequest(): number {
    if (this.nextRequest === 0) this.nextRequest = 1 + this.m.rng.int(0, REQUEST_START_MAX);
    return this.nextRequest++;
  }

  private isMember(id: NodeId): boolean {
    const c = this.m.configuration();
    return c !== null && (c.voters.includes(id) || c.learners.includes(id));
  }

  /** Why `op` cannot be one log entry (it would not fit an append to the followers), or null. */
  private oversize(op: KvOperation): string | null {
    const bytes = entryBytes({ index: 0, term: 0, data: { kind: 'kv', op, origin: { node: this.m.selfId, request: REQUEST_START_MAX } } });
    const budget = this.m.appendBytes;
    return bytes > budget ? `the write takes ${bytes} bytes as a log entry; one append to the followers carries at most ${budget} (half of messaging.maxFrameBytes)` : null;
  }

  /** The bytes an entry takes in an append (cached: entries never change). */
  bytesOf(entry: RaftEntry): number {
    let bytes = this.entryBytes.get(entry);
    if (bytes === undefined) {
      bytes = entryBytes(entry);
      this.entryBytes.set(entry, bytes);
    }
    return bytes;
  }
}

/** An entry's size as JSON text in UTF-8 (what it adds to a message). */
export function entryBytes(entry: RaftEntry): number {
  return utf8ByteLength(JSON.stringify(entry)) ?? Infinity;
}

/**
 * What a committed entry does to the store: a write its op; a leader record puts
 * `conclave/leader` (LEADER_RECORD_KEY), so the daemon's own leader record is read, watched and
 * compared like any key (its value `{"leader": id, "term": n}`, the term being the fencing
 * token); a configuration nothing.
 */
export function storeOperation(entry: RaftEntry): KvOperation | null {
  if (entry.data.kind === 'kv') return entry.data.op;
  if (entry.data.kind === 'leader') return { kind: 'put', key: LEADER_RECORD_KEY, value: JSON.stringify({ leader: entry.data.leader, term: entry.data.term }) };
  return null;
}
