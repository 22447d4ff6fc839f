import { createRng, type Rng } from '../rng.js';
import type { NodeId } from '../types.js';
import { deriveSeed } from './seeds.js';

export interface NetworkInit {
  ids: readonly NodeId[];
  seed: number;
  baseDelayMaxMs: number;
  jitterMaxMs: number;
  /** Messages one path holds in flight before it drops new ones (a full socket buffer). */
  maxInFlightPerPath: number;
}

export type DropReason = 'blocked' | 'loss' | 'queue-full';

export type SendOutcome = { delaysMs: number[]; dropped: null } | { delaysMs: []; dropped: DropReason };

interface Path {
  rng: Rng;
  baseDelayMs: number;
  jitterMs: number;
  inFlight: number;
}

/**
 * The simulated network: one queue per path (from → to) with its own delay (base + jitter,
 * which also reorders), loss, duplication, partitions and one-way cuts. It decides; the
 * simulation schedules.
 */
export class Network {
  lossProbability = 0;
  duplicateProbability = 0;
  private readonly paths = new Map<string, Path>();
  private readonly indexOf = new Map<NodeId, number>();
  private groupOf: Map<NodeId, number> | null = null;
  private readonly cuts = new Set<string>();

  constructor(private readonly init: NetworkInit) {
    init.ids.forEach((id, i) => this.indexOf.set(id, i));
  }

  get partitioned(): boolean {
    return this.groupOf !== null;
  }

  get cutCount(): number {
    return this.cuts.size;
  }

  /** Loss, a partition or a cut is in force. */
  get disturbed(): boolean {
    return this.lossProbability > 0 || this.groupOf !== null || this.cuts.size > 0;
  }

  /** Messages across groups are dropped; nodes in no group form one more group. */
  partition(groups: readonly (readonly NodeId[])[]): void {
    const groupOf = new Map<NodeId, number>();
    groups.forEach((group, g) => group.forEach((id) => groupOf.set(id, g)));
    this.groupOf = groupOf;
  }

  heal(): void {
    this.groupOf = null;
  }

  cut(from: NodeId, to: NodeId): void {
    this.cuts.add(`${from}>${to}`);
  }

  uncut(from: NodeId, to: NodeId): void {
    this.cuts.delete(`${from}>${to}`);
  }

  clearCuts(): void {
    this.cuts.clear();
  }

  /** On the same side of any partition (a TCP connection between them could exist). */
  sameSide(a: NodeId, b: NodeId): boolean {
    if (this.groupOf === null) return true;
    return (this.groupOf.get(a) ?? -1) === (this.groupOf.get(b) ?? -1);
  }

  blocked(from: NodeId, to: NodeId): boolean {
    return !this.sameSide(from, to) || this.cuts.has(`${from}>${to}`);
  }

  /** One send: zero, one or (duplicated) two deliveries, each with its own delay. */
  send(from: NodeId, to: NodeId): SendOutcome {
    if (this.blocked(from, to)) return { delaysMs: [], dropped: 'blocked' };
    const path = this.path(from, to);
    if (path.inFlight >= this.init.maxInFlightPerPath) return { delaysMs: [], dropped: 'queue-full' };
    if (this.lossProbability > 0 && path.rng.chance(this.lossProbability)) return { delaysMs: [], dropped: 'loss' };
    const delaysMs = [this.delay(path)];
    if (this.duplicateProbability > 0 && path.rng.chance(this.duplicateProbability)) delaysMs.push(this.delay(path));
    path.inFlight += delaysMs.length;
    return { delaysMs, dropped: null };
  }

  /** A copy left the path (delivered or dropped on arrival). */
  arrived(from: NodeId, to: NodeId): void {
    const path = this.path(from, to);
    path.inFlight = Math.max(0, path.inFlight - 1);
  }

  /** A one-off delay on the path without loss or accounting (connection-closed hints). */
  hintDelayMs(from: NodeId, to: NodeId): number {
    return this.delay(this.path(from, to));
  }

  get maxDelayMs(): number {
    return this.init.baseDelayMaxMs + this.init.jitterMaxMs;
  }

  private delay(path: Path): number {
    return path.baseDelayMs + (path.jitterMs > 0 ? path.rng.int(0, path.jitterMs) : 0);
  }

  private path(from: NodeId, to: NodeId): Path {
    const key = `${from}>${to}`;
    let path = this.paths.get(key);
    if (!path) {
      // Each path's stream derives from its ends, not from creation order.
      const rng = createRng(deriveSeed(this.init.seed, this.indexOf.get(from) ?? 0xffff, this.indexOf.get(to) ?? 0xffff));
      path = { rng, baseDelayMs: rng.int(1, Math.max(1, this.init.baseDelayMaxMs)), jitterMs: rng.int(0, this.init.jitterMaxMs), inFlight: 0 };
      this.paths.set(key, path);
    }
    return path;
  }
}
