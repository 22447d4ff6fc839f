/**
 * Log compaction and InstallSnapshot (§7; etcd-raft's snapshot flow, hashicorp/raft's chunked
 * install). Every node compacts on its own once `snapshotEntries` entries committed since its last
 * snapshot: the state as of an index half that far back (so a follower slightly behind still
 * catches up from entries) replaces the log up to there. A follower whose next entry the leader
 * no longer holds gets the leader's snapshot in chunks that each fit one frame, one chunk in
 * flight, acknowledged by how many characters it holds in order; a lost chunk is resent from that
 * point on the next heartbeat. The follower checks the whole text against the snapshot codec
 * before it replaces anything, and its install is durable before it answers.
 *
 * The snapshot is the machine's state as of its index (messages.ts RaftSnapshotData): the
 * configuration in effect there, the newest leader record, and the key-value store (kv.ts).
 */
import type { NodeId } from '../types.js';
import type { RaftLog, RaftSnapshot } from './log.js';
import { MAX_SNAPSHOT_CHARS, raftSnapshotDataCodec, type RaftMessage } from './messages.js';
import type { Raft } from './raft.js';

/** Without a frame size from the host: a quarter of the daemon's default 64 KiB frame. */
export const DEFAULT_SNAPSHOT_CHUNK_BYTES = 16 * 1024;

/** A snapshot on its way to one follower (Progress.snapshot): its text and how much of it the follower holds. */
export interface OutgoingSnapshot {
  index: number;
  term: number;
  text: string;
  /** Characters the follower acknowledged holding in order: the next chunk starts here. */
  offset: number;
  /** The round of the last chunk sent: an answer from that round or later is about it, not a late one. */
  sentRound: number;
}

/** A snapshot arriving from the leader: the chunks so far. */
interface IncomingSnapshot {
  index: number;
  term: number;
  total: number;
  parts: string[];
  received: number;
}

type SnapshotChunk = Extract<RaftMessage, { type: 'SNAPSHOT' }>;

export class Snapshots {
  private incoming: IncomingSnapshot | null = null;

  constructor(
    private readonly m: Raft,
    /** Most bytes one chunk's JSON-encoded text may take in a frame. */
    readonly chunkBytes: number,
  ) {}

  // ---- compaction ----

  /** After the commit index rose: compact once snapshotEntries entries committed since the last snapshot. */
  maybeCompact(): void {
    const m = this.m;
    const every = m.config.snapshotEntries;
    const log = m.log;
    if (log.committed - log.snapshotIndex() < every) return;
    // At the index whose store state the apply took on its way (KvService.compactionPoint), so
    // nothing is replayed; else (the apply had passed that point before the last compaction
    // set it: more than half an interval committed at once) half an interval back from the
    // commit index, rebuilt.
    const captured = m.kv.capturedIndex();
    const index = captured !== null && captured > log.snapshotIndex() && captured <= log.committed ? captured : log.committed - Math.floor(every / 2);
    const term = log.term(index);
    if (term === null || index <= log.snapshotIndex()) return;
    const snapshot: RaftSnapshot = { index, term, data: { ...log.stateAt(index), kv: m.kv.stateAt(log, index) } };
    // Entries appended in this step go to disk ahead of the snapshot that covers some of them.
    m.out.flush();
    log.compact(snapshot);
    m.out.persistSnapshot(snapshot);
    m.out.emit({ type: 'snapshot', action: 'taken', index, term, peer: null });
  }

  // ---- leader: sending ----

  /** The snapshot a follower needs (the leader's newest), ready to send from its start. */
  static outgoing(log: RaftLog): OutgoingSnapshot | null {
    const snapshot = log.snapshot();
    return snapshot ? { index: snapshot.index, term: snapshot.term, text: JSON.stringify(snapshot.data), offset: 0, sentRound: 0 } : null;
  }

  /** The chunk of `s` from its offset: as many characters as fit chunkBytes once JSON-encoded, at least one. */
  chunk(s: OutgoingSnapshot, round: number): SnapshotChunk {
    const end = chunkEnd(s.text, s.offset, this.chunkBytes);
    return { type: 'SNAPSHOT', term: this.m.hard.term, index: s.index, snapshotTerm: s.term, offset: s.offset, total: s.text.length, chunk: s.text.slice(s.offset, end), round };
  }

  // ---- follower: receiving ----

  /** A chunk from the leader of our term: keep it if it continues what we hold, install when whole. */
  onChunk(from: NodeId, c: SnapshotChunk): void {
    const m = this.m;
    const answer = (received: number, installed: boolean) => {
      const ref = m.answerRef(from);
      m.out.send(from, { type: 'SNAPSHOT_RESPONSE', term: m.hard.term, index: c.index, received, installed, round: c.round, ...(ref !== undefined ? { ref } : {}) });
    };
    // Already covered by what we committed: nothing to install, and the leader may go on from there.
    if (c.index <= m.log.committed) {
      this.incoming = null;
      return answer(c.total, true);
    }
    let s = this.incoming;
    if (c.offset === 0 || !s || s.index !== c.index || s.term !== c.snapshotTerm || s.total !== c.total) {
      if (c.offset !== 0) return answer(0, false);
      s = this.incoming = { index: c.index, term: c.snapshotTerm, total: c.total, parts: [], received: 0 };
    }
    if (c.offset !== s.received) return answer(s.received, false);
    s.parts.push(c.chunk);
    s.received += c.chunk.length;
    if (s.received < s.total) return answer(s.received, false);
    this.incoming = null;
    const data = s.received === s.total && s.total <= MAX_SNAPSHOT_CHARS ? parseSnapshot(s.parts.join('')) : null;
    if (data === null) {
      m.out.refuse(from, 'malformed-snapshot', `snapshot at ${c.index} from the leader is not a valid raft snapshot; asking for it again`);
      return answer(0, false);
    }
    this.install(from, { index: s.index, term: s.term, data });
    answer(s.total, true);
  }

  /** §7: the snapshot replaces our log up to its index (and all of it unless we hold its last entry), durably, before we answer. */
  private install(from: NodeId, snapshot: RaftSnapshot): void {
    const m = this.m;
    m.out.flush();
    const { keptSuffix } = m.log.install(snapshot);
    m.out.persistSnapshot(snapshot);
    if (!keptSuffix) m.out.persistTruncation(snapshot.index);
    m.kv.installed();
    m.setHardState({ commit: m.log.committed, fencingFloor: m.committedTokenFloor(m.hard.term) });
    m.out.emit({ type: 'snapshot', action: 'installed', index: snapshot.index, term: snapshot.term, peer: from });
  }
}

function parseSnapshot(text: string): RaftSnapshot['data'] | null {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  const parsed = raftSnapshotDataCodec.parse(value);
  return parsed.ok ? parsed.value : null;
}

/**
 * Where a chunk starting at `from` ends: the most characters whose JSON string encoding takes at
 * most `budget` UTF-8 bytes (an escape counted at its longest), never splitting a surrogate pair,
 * and at least one character so a transfer always moves.
 */
export function chunkEnd(text: string, from: number, budget: number): number {
  let bytes = 2; // the quotes
  let i = from;
  while (i < text.length) {
    const code = text.charCodeAt(i);
    const pair = code >= 0xd800 && code <= 0xdbff && i + 1 < text.length;
    const cost = code === 0x22 || code === 0x5c ? 2 : code < 0x20 ? 6 : code < 0x80 ? 1 : code < 0x800 ? 2 : pair ? 4 : 3;
    if (bytes + cost > budget && i > from) break;
    bytes += cost;
    i += pair ? 2 : 1;
  }
  return i;
}
