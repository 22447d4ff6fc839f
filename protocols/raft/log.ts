/**
 * The replicated log as this node holds it (etcd-raft's log.go): entries after an optional
 * snapshot, the commit index, and the lookups the consistency check and the election
 * restriction need. Durability is the machine's business (raft.ts persists every change before
 * anything that depends on it leaves); this class only keeps the entries in memory.
 */
import type { NodeId, Snapshot } from '../types.js';
import type { RaftConfiguration, RaftEntry, RaftSnapshotData } from './messages.js';

export type RaftSnapshot = Snapshot<RaftSnapshotData>;

export class RaftLog {
  /** The snapshot the entries follow (null: the log starts at index 1). */
  private snap: RaftSnapshot | null;
  /** Index and term of the last entry the snapshot replaced (0/0 without one). */
  private offsetIndex: number;
  private offsetTerm: number;
  private entries: RaftEntry[];
  /** Indexes of the configuration entries held, ascending (so the newest is found without a scan). */
  private configIndexes: number[];
  /** Indexes of the leader records held, ascending (the newest, and the newest committed, without a scan of the log). */
  private recordIndexes: number[];
  committed: number;

  constructor(snapshot: RaftSnapshot | null, entries: readonly RaftEntry[], committed: number) {
    this.snap = snapshot;
    this.offsetIndex = snapshot?.index ?? 0;
    this.offsetTerm = snapshot?.term ?? 0;
    this.entries = entries.filter((e) => e.index > this.offsetIndex).map((e) => ({ ...e }));
    this.entries.forEach((e, i) => {
      if (e.index !== this.offsetIndex + i + 1) throw new Error(`log entry ${e.index} out of place (expected ${this.offsetIndex + i + 1})`);
    });
    this.configIndexes = this.entries.filter((e) => e.data.kind === 'config').map((e) => e.index);
    this.recordIndexes = this.entries.filter((e) => e.data.kind === 'leader').map((e) => e.index);
    // A commit index beyond what survived would name entries this node no longer holds.
    this.committed = Math.min(Math.max(committed, this.offsetIndex), this.lastIndex());
  }

  /** Index of the last entry the snapshot replaced (0 without one). */
  snapshotIndex(): number {
    return this.offsetIndex;
  }

  snapshot(): RaftSnapshot | null {
    return this.snap;
  }

  /**
   * The state as of `index` (committed, held): the configuration in effect there and the newest
   * leader record at or below it, for a snapshot at that index.
   */
  stateAt(index: number): RaftSnapshotData {
    const configuration = this.configurationAt(index);
    const held = this.recordAtOrBelow(index);
    const leaderRecord: RaftSnapshotData['leaderRecord'] = held ? { leader: held.leader, term: held.term } : (this.snap?.data.leaderRecord ?? null);
    if (configuration === null) throw new Error(`no configuration at or below ${index}: nothing to snapshot`);
    return { v: 1, configuration, leaderRecord };
  }

  /** Log compaction (§7): the snapshot replaces every entry up to its index, which this log holds. */
  compact(snapshot: RaftSnapshot): void {
    if (snapshot.index <= this.offsetIndex || snapshot.index > this.committed) throw new Error(`compacting to ${snapshot.index} outside (${this.offsetIndex}, ${this.committed}]`);
    this.entries = this.entries.slice(snapshot.index - this.offsetIndex);
    this.setSnapshot(snapshot);
  }

  /**
   * A snapshot from the leader (§7): entries after it are kept when this log holds its last entry
   * (same index and term: Log Matching makes the prefix identical); otherwise the whole log goes.
   * It commits everything up to its index.
   */
  install(snapshot: RaftSnapshot): { keptSuffix: boolean } {
    const keptSuffix = this.matchTerm(snapshot.index, snapshot.term) && snapshot.index <= this.lastIndex();
    this.entries = keptSuffix ? this.entries.slice(snapshot.index - this.offsetIndex) : [];
    this.setSnapshot(snapshot);
    this.committed = Math.max(this.committed, snapshot.index);
    return { keptSuffix };
  }

  private setSnapshot(snapshot: RaftSnapshot): void {
    this.snap = snapshot;
    this.offsetIndex = snapshot.index;
    this.offsetTerm = snapshot.term;
    this.configIndexes = this.configIndexes.filter((i) => i > snapshot.index);
    this.recordIndexes = this.recordIndexes.filter((i) => i > snapshot.index && i <= this.lastIndex());
  }

  lastIndex(): number {
    return this.offsetIndex + this.entries.length;
  }

  lastTerm(): number {
    return this.entries.at(-1)?.term ?? this.offsetTerm;
  }

  /** The term of the entry at `index`, or null when this log does not hold it. */
  term(index: number): number | null {
    if (index === this.offsetIndex) return this.offsetTerm;
    return this.entry(index)?.term ?? null;
  }

  entry(index: number): RaftEntry | undefined {
    return this.entries[index - this.offsetIndex - 1];
  }

  matchTerm(index: number, term: number): boolean {
    return this.term(index) === term;
  }

  /** Up to `max` entries from `from` on (the snapshot's prefix is not available: from > offset). */
  slice(from: number, max: number): RaftEntry[] {
    const start = Math.max(from, this.offsetIndex + 1) - this.offsetIndex - 1;
    return this.entries.slice(start, start + max);
  }

  /** §5.4.1: a log is at least as up to date if its last term is higher, or equal with an index as high. */
  isUpToDate(lastIndex: number, lastTerm: number): boolean {
    return lastTerm > this.lastTerm() || (lastTerm === this.lastTerm() && lastIndex >= this.lastIndex());
  }

  append(entry: RaftEntry): void {
    if (entry.index !== this.lastIndex() + 1) throw new Error(`append at ${entry.index} after ${this.lastIndex()}`);
    this.entries.push(entry);
    if (entry.data.kind === 'config') this.configIndexes.push(entry.index);
    else if (entry.data.kind === 'leader') this.recordIndexes.push(entry.index);
  }

  /** Drops every entry above `index`; never a committed one (a machine bug if asked). */
  truncateAfter(index: number): void {
    if (index < this.committed) throw new Error(`truncating committed entries after ${index} (commit ${this.committed})`);
    this.entries = this.entries.slice(0, Math.max(0, index - this.offsetIndex));
    while ((this.configIndexes.at(-1) ?? 0) > index) this.configIndexes.pop();
    while ((this.recordIndexes.at(-1) ?? 0) > index) this.recordIndexes.pop();
  }

  /**
   * The last index holding an entry of `term` or lower, at or below `index` (fast back-off: both
   * sides of etcd's findConflictByTerm). When even the snapshot's last entry is of a higher term,
   * the answer lies in the compacted prefix: one below the snapshot, so the leader sends the
   * snapshot (answering the snapshot's index would probe the same position forever).
   */
  lastIndexAtOrBelowTerm(index: number, term: number): number {
    let i = Math.min(index, this.lastIndex());
    while (i > this.offsetIndex && (this.term(i) ?? 0) > term) i--;
    return i === this.offsetIndex && i > 0 && this.offsetTerm > term ? i - 1 : i;
  }

  /** The newest configuration in the log, committed or not (thesis §4.1: a server uses the latest it has). */
  configuration(): RaftConfiguration | null {
    return this.configurationAt(Infinity);
  }

  /**
   * The newest committed configuration (at or below the commit index), or null when none is:
   * what the cluster agreed on, where the newest may still be rolled back by a new leader.
   */
  committedConfiguration(): RaftConfiguration | null {
    return this.configurationAt(this.committed);
  }

  /** The newest configuration held at or below `index`, else the snapshot's (null when there is neither). */
  private configurationAt(index: number): RaftConfiguration | null {
    for (let k = this.configIndexes.length - 1; k >= 0; k--) {
      if (this.configIndexes[k]! > index) continue;
      const data = this.entry(this.configIndexes[k]!)?.data;
      if (data?.kind === 'config') return { voters: data.voters, learners: data.learners };
    }
    return this.snap?.data.configuration ?? null;
  }

  /** The index of the newest configuration entry held, or the snapshot's index (0 when there is neither). */
  configurationIndex(): number {
    return this.configIndexes.at(-1) ?? this.offsetIndex;
  }

  /**
   * The leader record of `term` (the first entry of that term, or a handover record naming that
   * term, which a leaving leader appends last in the term before) and its index, or null; the
   * snapshot's counts (at its index). Of two, the newer: a leader elected in place of the one a
   * handover named appends its own. Callers check whom it names (raft.ts namedLeader).
   */
  leaderRecord(term: number): { index: number; leader: string } | null {
    // The newest record held of `term` or earlier: of `term` it is the answer; an earlier one
    // means this log holds no record of `term` (a record is the first entry of its term).
    const held = this.newestRecord((r) => r.term <= term);
    if (held) return held.term === term ? { index: held.index, leader: held.leader } : null;
    // None held: the snapshot's, unless entries of an earlier term follow it (then `term` began after them).
    if ((this.entries[0]?.term ?? term) < term) return null;
    const r = this.snap?.data.leaderRecord;
    return r && r.term === term ? { index: this.offsetIndex, leader: r.leader } : null;
  }

  /** Whether this log holds, at `index`, a handover record (messages.ts) naming `to` as the leader of `term`, in an entry of the term before. */
  holdsHandover(index: number, to: NodeId, term: number): boolean {
    const e = this.entry(index);
    return e !== undefined && e.term === term - 1 && e.data.kind === 'leader' && e.data.leader === to && e.data.term === term;
  }

  /** The term of the newest leader record in the log, committed or not (0: none). */
  lastLeaderTerm(): number {
    return this.recordAtOrBelow(Infinity)?.term ?? this.snap?.data.leaderRecord?.term ?? 0;
  }

  /** The term of the newest committed leader record: the fencing token the committed log proves. */
  committedLeaderTerm(): number {
    return this.recordAtOrBelow(this.committed)?.term ?? this.snap?.data.leaderRecord?.term ?? 0;
  }

  /** The newest leader record held at or below `index` (after the snapshot), or null. */
  private recordAtOrBelow(index: number): { index: number; term: number; leader: string } | null {
    return this.newestRecord((r) => r.index <= index);
  }

  /** The newest leader record held (after the snapshot) that `accept` takes, or null. */
  private newestRecord(accept: (r: { index: number; term: number; leader: string }) => boolean): { index: number; term: number; leader: string } | null {
    for (let k = this.recordIndexes.length - 1; k >= 0; k--) {
      const index = this.recordIndexes[k]!;
      const data = this.entry(index)?.data;
      if (data?.kind !== 'leader') continue;
      const record = { index, term: data.term, leader: data.leader };
      if (accept(record)) return record;
    }
    return null;
  }
}

/** The newest leader record a stored log holds (committed or not), the snapshot's if none follows it; null: none. */
export function storedLeaderRecord(snapshot: RaftSnapshot | null, entries: readonly RaftEntry[]): { term: number; leader: NodeId } | null {
  const log = new RaftLog(snapshot, entries, 0);
  const term = log.lastLeaderTerm();
  const record = term > 0 ? log.leaderRecord(term) : null;
  return record ? { term, leader: record.leader } : null;
}
