/**
 * What a Bully node reads from the membership view, as pure functions: the members running
 * Bully (others are never messaged, obeyed or granted; they count only in the cluster size,
 * durable.ts), who can be reached, and which live member currently claims leadership in its gossip.
 */
import type { ElectionMember } from '../election.js';
import type { MemberState, NodeId } from '../types.js';
import { compareRank, highestRanked, outranks, type Ranked } from './rank.js';

export class BullyView {
  /** Bully members by id, self included once membership has reported it. */
  private readonly byId: ReadonlyMap<NodeId, ElectionMember>;

  constructor(
    readonly selfId: NodeId,
    /** The whole view as membership sent it, other protocols included. */
    readonly all: readonly ElectionMember[],
  ) {
    this.byId = new Map(all.filter((m) => m.protocol === 'bully').map((m) => [m.id, m]));
  }

  get members(): ElectionMember[] {
    return [...this.byId.values()];
  }

  /** This node's rank; priority 0 until membership has reported self. */
  get self(): Ranked {
    return { id: this.selfId, priority: this.byId.get(this.selfId)?.priority ?? 0 };
  }

  member(id: NodeId): ElectionMember | undefined {
    return this.byId.get(id);
  }

  stateOf(id: NodeId): MemberState | 'unknown' {
    return this.byId.get(id)?.state ?? 'unknown';
  }

  isAlive(id: NodeId): boolean {
    return this.stateOf(id) === 'alive';
  }

  /** True when `id` is a member that runs another protocol: never messaged or obeyed (counted only in the cluster size). */
  isForeign(id: NodeId): boolean {
    const m = this.all.find((x) => x.id === id);
    return m !== undefined && m.protocol !== 'bully';
  }

  /** Other Bully members worth a message: alive, or suspect (a suspect may just be slow). */
  reachablePeers(): ElectionMember[] {
    return this.members.filter((m) => m.id !== this.selfId && (m.state === 'alive' || m.state === 'suspect'));
  }

  alivePeers(): ElectionMember[] {
    return this.members.filter((m) => m.id !== this.selfId && m.state === 'alive');
  }

  /** Self plus alive peers: who could accept a claim right now. */
  aliveCount(): number {
    return this.alivePeers().length + 1;
  }

  /**
   * Higher-ranked members worth an ELECTION: alive, or suspected from silence (maybe just slow;
   * it gets its chance to answer). One whose connection closed is skipped: the ELECTION could
   * not reach it, and waiting out answerTimeoutMs for it is most of a kill -9 fail-over.
   */
  higherReachable(): ElectionMember[] {
    const self = this.self;
    return this.reachablePeers().filter((m) => outranks(m, self) && !m.connectionLost);
  }

  /**
   * The next-ranked live member, whom a leader hands off to: of those not `silentLately` (the
   * leader stopped hearing from them), else of all.
   */
  successor(silentLately: (id: NodeId) => boolean = () => false): ElectionMember | null {
    const alive = this.alivePeers();
    return highestRanked(alive.filter((m) => !silentLately(m.id))) ?? highestRanked(alive);
  }

  /** Whether no alive member outranks this node. */
  selfIsHighestAlive(): boolean {
    const self = this.self;
    return this.alivePeers().every((m) => !outranks(m, self));
  }

  /** The alive peer that gossips itself leader with the highest (epoch, rank), or null. */
  gossipedLeader(): ElectionMember | null {
    let best: ElectionMember | null = null;
    for (const m of this.alivePeers()) {
      if (m.role !== 'leader') continue;
      if (best === null || m.term > best.term || (m.term === best.term && compareRank(m, best) > 0)) best = m;
    }
    return best;
  }

  /** A key that changes whenever a Bully member appears, goes, or changes state. */
  stabilityKey(): string {
    return this.members.map((m) => `${m.id}:${m.state}:${m.priority}`).join(',');
  }

  nameOf(id: NodeId): string {
    return this.all.find((m) => m.id === id)?.name ?? id;
  }
}
