/**
 * Raft's outgoing effects, with durability folded in: changes to the hard state and the log
 * collect in one pending DurableBatch, which is emitted as a `persist` effect ahead of the next
 * send or report (and at the end of every step). So a vote reply or an append acknowledgement
 * always follows the write it depends on (the host holds it until that write is durable), and one
 * step's writes go out as one batch (group commit).
 */
import type { ElectionEffect } from '../election.js';
import type { KvAnswer } from '../kv/requests.js';
import { Outbox as EffectOutbox } from '../outbox.js';
import type { DurableBatch, NodeId } from '../types.js';
import type { RaftHardState } from './durable.js';
import type { RaftSnapshot } from './log.js';
import type { RaftEntry, RaftEntryData, RaftMessage, RaftSnapshotData } from './messages.js';

export type RaftEffect = ElectionEffect<RaftMessage, RaftHardState>;

export class Outbox extends EffectOutbox<RaftMessage, RaftHardState> {
  private hardState: RaftHardState | null = null;
  /** A hard state to write only with a batch that goes out anyway (rideHardState). */
  private riding: RaftHardState | null = null;
  private truncateAfter: number | null = null;
  private entries: RaftEntry[] = [];
  private snapshot: RaftSnapshot | null = null;
  /** What is pending may be written late (deferPending). */
  private deferrable = false;
  /** Per persist not yet known durable: the log's last index once it is on disk. */
  private readonly unwritten: { persist: number; logEnd: number }[] = [];
  private logEnd: (() => number) | null = null;
  /** The log is on disk up to here. */
  durableLogEnd = 0;
  /** How many of this life's persists the host said are on disk. */
  durablePersists = 0;

  /** Starts tracking what is on disk: the log as loaded (up to `loadedEnd`) is, and each flush records what it adds. */
  track(logEnd: () => number, loadedEnd: number): void {
    this.logEnd = logEnd;
    this.durableLogEnd = loadedEnd;
  }

  /** The host has this life's first `persists` writes on disk. */
  durable(persists: number): void {
    this.durablePersists = Math.max(this.durablePersists, persists);
    while (this.unwritten.length > 0 && this.unwritten[0]!.persist <= persists) this.durableLogEnd = this.unwritten.shift()!.logEnd;
  }

  /** Answers a key-value request of this node's API. */
  kvAnswer(id: number, answer: KvAnswer): void {
    this.emit({ type: 'kv-answer', id, answer });
  }

  /** A send that need not wait for the writes before it (see ElectionEffect). */
  sendParallel(to: NodeId, message: RaftMessage): void {
    this.emit({ type: 'send', to, message, parallel: true });
  }

  /** The hard state changed: it goes out whole with the next flush. */
  persistHardState(state: RaftHardState): void {
    this.hardState = { ...state };
    this.riding = null;
    this.deferrable = false;
  }

  /**
   * The hard state changed in a way that need not be waited for (the commit index, and the token
   * floor a restart recomputes from the log anyway): written with the next batch that goes out
   * for another reason, never a batch of its own, so no report waits for its fsync.
   */
  rideHardState(state: RaftHardState): void {
    if (this.hardState !== null) this.hardState = { ...state };
    else this.riding = { ...state };
  }

  /** Entries above `index` were dropped (before any appended after this call). */
  persistTruncation(index: number): void {
    this.entries = this.entries.filter((e) => e.index <= index);
    this.truncateAfter = Math.min(this.truncateAfter ?? Infinity, index);
    this.deferrable = false;
  }

  /** A snapshot replaces the stored log up to its index (the host applies it before any truncation or entries of the batch). */
  persistSnapshot(snapshot: RaftSnapshot): void {
    this.snapshot = snapshot;
    this.deferrable = false;
  }

  persistEntry(entry: RaftEntry): void {
    this.entries.push(entry);
    this.deferrable = false;
  }

  /** What is pending now is needed only eventually: its persist is `deferrable` (ElectionEffect), unless more joins it (a riding hard state may). */
  deferPending(): void {
    this.deferrable = true;
  }

  /** Emits what is pending as one persist effect (none when nothing is). */
  flush(): void {
    if (!this.pending()) return;
    const batch: DurableBatch<RaftHardState, RaftEntryData, RaftSnapshotData> = {};
    if (this.snapshot !== null) batch.snapshot = this.snapshot;
    if (this.truncateAfter !== null) batch.truncateAfter = this.truncateAfter;
    if (this.entries.length > 0) batch.entries = this.entries;
    const hardState = this.hardState ?? this.riding;
    if (hardState !== null) batch.hardState = hardState;
    this.hardState = null;
    this.riding = null;
    this.snapshot = null;
    this.truncateAfter = null;
    this.entries = [];
    super.emit(this.deferrable ? { type: 'persist', batch, deferrable: true } : { type: 'persist', batch });
    this.deferrable = false;
    // Every change to the log is handed here right after it is made, so the log as it stands
    // now is what this batch and those before it hold.
    if (this.logEnd) this.unwritten.push({ persist: this.persistEffects, logEnd: this.logEnd() });
  }

  private pending(): boolean {
    return this.hardState !== null || this.snapshot !== null || this.truncateAfter !== null || this.entries.length > 0;
  }

  /** Every other effect waits behind what is pending, so it cannot overtake it. */
  override emit(effect: RaftEffect): void {
    this.flush();
    super.emit(effect);
  }

  override drain(): RaftEffect[] {
    this.flush();
    return super.drain();
  }
}
