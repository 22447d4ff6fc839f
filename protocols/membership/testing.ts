/**
 * Test fixtures for the membership machine, used only by *.test.ts: meta and heartbeat builders,
 * and a cluster of machines on a virtual clock with a pump and fault verbs (etcd-raft's
 * raft_test.go network). Nodes tick every `tickMs`, or only at their deadline() ('deadline').
 * Delivery is immediate unless a node is down; no randomness.
 */
import type { NodeId } from '../types.js';
import { createMembership, type Membership } from './membership.js';
import { protocolMeta, type Heartbeat, type MemberMeta, type MembershipEffect, type MembershipEvent, type MembershipTimings } from './types.js';

export const CLUSTER = 'test';

export function meta(name: string, overrides: Partial<MemberMeta> = {}): MemberMeta {
  return {
    name,
    addrs: [`/ip4/127.0.0.1/tcp/4${name.length}00`],
    ...protocolMeta('bully'),
    priority: 0,
    version: '0.1.0',
    role: 'follower',
    term: 1,
    leader: null,
    fencingToken: 0,
    ...overrides,
  };
}

export function heartbeat(id: NodeId, overrides: Partial<Heartbeat> = {}): Heartbeat {
  return {
    v: 1,
    cluster: CLUSTER,
    id,
    incarnation: 1,
    seq: 1,
    leaving: false,
    meta: meta(id),
    suspects: [],
    dead: [],
    left: [],
    ...overrides,
  };
}

export function machine(selfId: NodeId, timings: MembershipTimings, nowMs = 0, incarnation = 1): Membership {
  return createMembership({ cluster: CLUSTER, selfId, selfMeta: meta(selfId), initialIncarnation: incarnation, timings, nowMs });
}

export function eventsOf(membership: Membership): MembershipEvent[] {
  return membership.drain().flatMap((e) => (e.type === 'event' ? [e.event] : []));
}

export function publishedBy(membership: Membership): Heartbeat[] {
  return membership.drain().flatMap((e) => (e.type === 'publish' ? [e.heartbeat] : []));
}

interface Node {
  membership: Membership;
  /** Running nodes tick, publish and receive; stopped (SIGSTOP) and killed ones do nothing. */
  running: boolean;
  /** Event-loop block this node suffers on each tick until this time (its ticks are skipped). */
  blockedUntilMs: number;
  /** Heartbeats that reached a blocked node: TCP holds them until its loop reads again. */
  inbox: { from: NodeId; heartbeat: Heartbeat }[];
  /** Event-loop lag the host reports on this node's scheduled ticks. */
  lagMs: number;
  events: { atMs: number; event: MembershipEvent }[];
  /** Every effect drained, publishes included, in order. */
  effects: { atMs: number; effect: MembershipEffect }[];
}

/**
 * Asked once per scheduling round of a deadline-driven cluster: a tick to insert at node `id`,
 * a `fraction` of the way from now to the earlier of the next scheduled moment and that node's
 * deadline(), so always strictly before its deadline. Null: none this round.
 */
export type ExtraTick = (nowMs: number) => { id: NodeId; fraction: number } | null;

/** Bound on scheduling rounds at one virtual moment: a deadline that never moves on is a bug. */
const MAX_ROUNDS_AT_ONE_MOMENT = 1000;

export class TestCluster {
  readonly nodes = new Map<NodeId, Node>();
  nowMs = 0;
  /** Pairs that cannot reach each other (`partition`), as "a b" with a < b. */
  private readonly cuts = new Set<string>();
  /** Directed cuts (`cutOneWay`), as "from>to". */
  private readonly oneWayCuts = new Set<string>();

  constructor(
    ids: readonly NodeId[],
    private readonly timings: MembershipTimings,
    private readonly tickMs: number | 'deadline' = 25,
  ) {
    for (const id of ids) this.start(id, 1);
  }

  /** Starts (or restarts with a new life) a node at the current time. */
  start(id: NodeId, incarnation: number): void {
    this.nodes.set(id, {
      membership: machine(id, this.timings, this.nowMs, incarnation),
      running: true,
      blockedUntilMs: 0,
      inbox: [],
      lagMs: 0,
      events: [],
      effects: [],
    });
  }

  get(id: NodeId): Membership {
    const node = this.nodes.get(id);
    if (!node) throw new Error(`no node ${id}`);
    return node.membership;
  }

  events(id: NodeId): { atMs: number; event: MembershipEvent }[] {
    return this.nodes.get(id)?.events ?? [];
  }

  effects(id: NodeId): { atMs: number; effect: MembershipEffect }[] {
    return this.nodes.get(id)?.effects ?? [];
  }

  /** The lag the host reports on this node's ticks from now on (Lifeguard's local health). */
  lag(id: NodeId, ms: number): void {
    this.node(id).lagMs = ms;
  }

  /** kill -9: the process is gone and every peer's connection to it closes at once. */
  kill(id: NodeId): void {
    this.node(id).running = false;
    for (const [otherId, other] of this.sorted()) {
      if (otherId !== id && other.running) other.membership.step({ type: 'connection-closed', nowMs: this.nowMs, peer: id });
    }
    this.pump();
  }

  /** A network partition: no heartbeat crosses between the two groups until heal(). Connections stay open. */
  partition(side: readonly NodeId[], other: readonly NodeId[]): void {
    for (const a of side) for (const b of other) this.cuts.add(a < b ? `${a} ${b}` : `${b} ${a}`);
  }

  /** A one-way cut: what `from` sends does not reach `to`; the other way still works. heal() ends it. */
  cutOneWay(from: NodeId, to: NodeId): void {
    this.oneWayCuts.add(`${from}>${to}`);
  }

  heal(): void {
    this.cuts.clear();
    this.oneWayCuts.clear();
  }

  /** SIGSTOP: silent, connections stay open. */
  stop(id: NodeId): void {
    this.node(id).running = false;
  }

  /** SIGCONT. */
  resume(id: NodeId): void {
    this.node(id).running = true;
  }

  /** The node's event loop is blocked for `ms` from now: no ticks, no deliveries to it. */
  block(id: NodeId, ms: number): void {
    this.node(id).blockedUntilMs = this.nowMs + ms;
  }

  /**
   * Advances virtual time, ticking every running node every tickMs (or at its deadline()) and
   * delivering all gossip. `extra` inserts ticks a deadline-driven host would not make.
   */
  advance(ms: number, extra?: ExtraTick): void {
    const endMs = this.nowMs + ms;
    if (this.tickMs === 'deadline') return this.advanceByDeadlines(endMs, extra);
    while (this.nowMs < endMs) {
      this.nowMs = Math.min(endMs, this.nowMs + this.tickMs);
      for (const [, node] of this.sorted()) {
        if (this.active(node)) node.membership.step({ type: 'tick', nowMs: this.nowMs, localLagMs: node.lagMs });
      }
      this.pump();
    }
  }

  /** The host the daemon moves to: one timer per node, set to its deadline(); a blocked loop runs it late. */
  private advanceByDeadlines(endMs: number, extra?: ExtraTick): void {
    let rounds = 0;
    for (;;) {
      const nextMs = Math.min(...[...this.nodes.values()].map((node) => Math.min(this.nextTickMs(node), this.wakeMs(node))));
      if (extra) this.insertTick(extra, Math.min(nextMs, endMs));
      if (nextMs > endMs) break;
      rounds = nextMs <= this.nowMs ? rounds + 1 : 0;
      if (rounds > MAX_ROUNDS_AT_ONE_MOMENT) throw new Error(`deadlines did not move past ${this.nowMs} ms`);
      this.nowMs = Math.max(this.nowMs, nextMs);
      for (const [, node] of this.sorted()) {
        if (this.nextTickMs(node) > this.nowMs || !this.active(node)) continue;
        node.membership.step({ type: 'tick', nowMs: this.nowMs, localLagMs: node.lagMs });
        this.pump();
      }
      // What waited for a block that ended now is read now, whoever else ticks or not.
      this.pump();
    }
    this.nowMs = endMs;
  }

  /** When a blocked node's loop frees up and reads what waited for it; never while nothing waits. */
  private wakeMs(node: Node): number {
    return node.running && node.inbox.length > 0 && node.blockedUntilMs > this.nowMs ? node.blockedUntilMs : Number.POSITIVE_INFINITY;
  }

  private insertTick(extra: ExtraTick, untilMs: number): void {
    const chosen = extra(this.nowMs);
    const node = chosen ? this.nodes.get(chosen.id) : undefined;
    if (!chosen || !node || !this.active(node)) return;
    const deadlineMs = node.membership.deadline();
    const atMs = this.nowMs + chosen.fraction * (Math.min(untilMs, deadlineMs) - this.nowMs);
    // Strictly before the next scheduled moment too: one exactly at it (a fraction rounded up) would
    // read what waits for a block ending then before that node's own tick.
    if (!(atMs >= this.nowMs && atMs < deadlineMs && atMs < untilMs)) return;
    this.nowMs = atMs;
    node.membership.step({ type: 'tick', nowMs: atMs, localLagMs: 0 });
    this.pump();
  }

  /** When this node's host timer fires: at its deadline, or when its blocked loop frees up. */
  private nextTickMs(node: Node): number {
    if (!node.running) return Number.POSITIVE_INFINITY;
    return Math.max(node.membership.deadline(), node.blockedUntilMs);
  }

  /**
   * Delivers every published heartbeat to every other running node until the network is quiet:
   * at once to an active node, after its tick (timers run before I/O in an event loop) to one
   * whose block just ended, and not at all to a stopped one.
   */
  pump(): void {
    for (let round = 0; round < 100; round++) {
      let delivered = false;
      for (const [, node] of this.sorted()) {
        if (!this.active(node)) continue;
        for (const { from, heartbeat } of node.inbox.splice(0)) node.membership.step({ type: 'heartbeat', nowMs: this.nowMs, from, heartbeat });
      }
      for (const [id, node] of this.sorted()) {
        for (const effect of node.membership.drain()) {
          node.effects.push({ atMs: this.nowMs, effect });
          if (effect.type === 'event') node.events.push({ atMs: this.nowMs, event: effect.event });
          if (effect.type !== 'publish') continue;
          delivered = true;
          for (const [otherId, other] of this.sorted()) {
            if (otherId === id || !other.running || (effect.to !== null && !effect.to.includes(otherId))) continue;
            if (this.cuts.has(id < otherId ? `${id} ${otherId}` : `${otherId} ${id}`) || this.oneWayCuts.has(`${id}>${otherId}`)) continue;
            if (this.active(other)) other.membership.step({ type: 'heartbeat', nowMs: this.nowMs, from: id, heartbeat: effect.heartbeat });
            else other.inbox.push({ from: id, heartbeat: effect.heartbeat });
          }
        }
      }
      if (!delivered) return;
    }
    throw new Error('gossip did not quiesce');
  }

  private active(node: Node): boolean {
    return node.running && this.nowMs >= node.blockedUntilMs;
  }

  private node(id: NodeId): Node {
    const node = this.nodes.get(id);
    if (!node) throw new Error(`no node ${id}`);
    return node;
  }

  private sorted(): [NodeId, Node][] {
    return [...this.nodes.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  }
}
