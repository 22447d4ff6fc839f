/**
 * Persist-before-send's bookkeeping (core.ts): which of a node's outputs wait for which of its
 * writes. Every write gets the next id and the host acknowledges them in that order (a `persisted`
 * input); an output of a machine waits for the last write that machine asked for before it, and
 * leaves once that write is acknowledged. Each machine waits for its own writes only, so a
 * heartbeat never waits behind an election's fsync. Like etcd-io/raft's Ready/Advance: what a
 * step produced after a write leaves only once the write is durable.
 */

/** Whose write: the membership machine's or the election's. An output may also be `both`'s: it follows every write so far. */
export type WriteSource = 'membership' | 'election';

export class PersistOrder<T> {
  /** Outputs waiting for the acknowledgement of the write they follow (`after`). */
  private readonly held: { after: number; output: T }[] = [];
  private nextId = 1;
  /** Highest write id acknowledged. */
  private acked = 0;
  /** The last write each machine asked for. */
  private readonly lastOf = { membership: 0, election: 0 };
  /** The election's own writes not yet acknowledged: write id, and how many it had asked for with it. */
  private readonly electionWrites: { id: number; count: number }[] = [];
  private electionCount = 0;

  /**
   * A new write of `source`, whose id this returns. `own`: one the election asked for, whose
   * durability it is told (acknowledge's `electionDurable`); false for a write the host makes on
   * its behalf (the era record of a protocol switch), which its outputs still wait for.
   */
  write(source: WriteSource, own = source === 'election'): number {
    const id = this.nextId++;
    this.lastOf[source] = id;
    if (source === 'election' && own) this.electionWrites.push({ id, count: ++this.electionCount });
    return id;
  }

  /** Holds `output` of `source` if a write it follows is not yet acknowledged; false: it may leave now. */
  hold(source: WriteSource | 'both', output: T): boolean {
    const after = source === 'both' ? this.nextId - 1 : this.lastOf[source];
    if (after <= this.acked) return false;
    this.held.push({ after, output });
    return true;
  }

  /**
   * The host acknowledged write `id`, the next in order: the outputs that leave now, in the order
   * they were held, and how many of the election's own writes are durable now (0: no more than before).
   */
  acknowledge(id: number): { ready: T[]; electionDurable: number } {
    if (id !== this.acked + 1) throw new Error(`persist ${id} acknowledged out of order (expected ${this.acked + 1})`);
    this.acked = id;
    const ready: T[] = [];
    let waiting = 0;
    for (const h of this.held) {
      if (h.after <= id) ready.push(h.output);
      else this.held[waiting++] = h;
    }
    this.held.length = waiting;
    let electionDurable = 0;
    while (this.electionWrites.length > 0 && this.electionWrites[0]!.id <= id) electionDurable = this.electionWrites.shift()!.count;
    return { ready, electionDurable };
  }

  /**
   * Every write through `id` acknowledged in one go (the host's disk wrote them as one group):
   * what acknowledge() of each in turn would release, in the same order.
   */
  acknowledgeThrough(id: number): { ready: T[]; electionDurable: number } {
    if (id <= this.acked || id >= this.nextId) throw new Error(`persist ${id} acknowledged out of order (expected ${this.acked + 1} through ${this.nextId - 1})`);
    const ready: T[] = [];
    let electionDurable = 0;
    while (this.acked < id) {
      const one = this.acknowledge(this.acked + 1);
      ready.push(...one.ready);
      electionDurable = Math.max(electionDurable, one.electionDurable);
    }
    return { ready, electionDurable };
  }

  /**
   * Another machine took the election's place: the old one's writes still complete in order, but
   * it learns nothing more of them, and its held outputs that `keep` refuses never leave.
   */
  replaceElection(keep: (output: T) => boolean): void {
    this.electionWrites.length = 0;
    this.electionCount = 0;
    let kept = 0;
    for (const h of this.held) if (keep(h.output)) this.held[kept++] = h;
    this.held.length = kept;
  }
}
